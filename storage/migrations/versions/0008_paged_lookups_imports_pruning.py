"""look-up indexes in page order, with the time window's columns; import sources; pruned visits

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 17:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

AGGREGATES = ('host_pairs', 'resolutions', 'trackers', 'cookies', 'components')
INDEXES = {  # name: (table, columns before, columns now)
    'ix_host_pairs_parent_reversed': ('host_pairs', ['parent_reversed'],
                                      ['parent_reversed', 'child', 'cause', 'last_seen', 'first_seen']),
    'ix_host_pairs_child_reversed': ('host_pairs', ['child_reversed'],
                                     ['child_reversed', 'parent', 'cause', 'last_seen', 'first_seen']),
    'ix_resolutions_hostname_reversed': ('resolutions', ['hostname_reversed'],
                                         ['hostname_reversed', 'ip', 'last_seen', 'first_seen']),
    'ix_resolutions_ip': ('resolutions', ['ip'], ['ip', 'hostname', 'last_seen', 'first_seen']),
    'ix_trackers_hostname_reversed': ('trackers', ['hostname_reversed'],
                                      ['hostname_reversed', 'attribute_type', 'attribute_value']),
    'ix_trackers_value': ('trackers', ['attribute_value'],
                          [sa.text('lower(attribute_value)'), 'hostname', 'attribute_type', 'first_seen', 'last_seen',
                           'attribute_value']),
    'ix_cookies_name': ('cookies', ['cookie_name'], ['cookie_name', 'hostname', 'cookie_domain']),
    'ix_cookies_hostname_reversed': ('cookies', ['hostname_reversed'], ['hostname_reversed', 'cookie_domain', 'cookie_name']),
    'ix_cookies_cookie_domain_reversed': ('cookies', ['cookie_domain_reversed'],
                                          ['cookie_domain_reversed', 'hostname', 'cookie_name']),
    'ix_components_hostname_reversed': ('components', ['hostname_reversed'],
                                        ['hostname_reversed', 'category', 'label', 'version']),
}
DROPPED = {'ix_host_pairs_child': ('host_pairs', ['child']), 'ix_cookies_domain': ('cookies', ['cookie_domain']),
           'ix_components_hostname': ('components', ['hostname'])}


def upgrade() -> None:
    for name, (table, _, now) in INDEXES.items():
        op.drop_index(name, table_name=table)
        op.create_index(name, table, now)
    for name, (table, _) in DROPPED.items():
        op.drop_index(name, table_name=table)
    for table in AGGREGATES:
        op.add_column(table, sa.Column('imported_from', sa.String(length=255), nullable=True))
    op.add_column('visits', sa.Column('pruned_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    op.drop_column('visits', 'pruned_at')
    for table in AGGREGATES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('imported_from')
    for name, (table, columns) in DROPPED.items():
        op.create_index(name, table, columns)
    for name, (table, before, _) in INDEXES.items():
        op.drop_index(name, table_name=table)
        op.create_index(name, table, before)
