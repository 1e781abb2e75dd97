"""ip_resolution_summaries: each IP's hostnames counted and first/last seen, for the look-up of a
shared IP without reading all its resolutions; the index of resolutions by IP holds every column
a page returns

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 05:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'ip_resolution_summaries',
        sa.Column('ip', sa.String(length=64), nullable=False),
        sa.Column('hostnames', sa.BigInteger(), nullable=False),
        sa.Column('first_seen', sa.DateTime(), nullable=False),
        sa.Column('last_seen', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('ip'),
    )
    op.execute("INSERT INTO ip_resolution_summaries (ip, hostnames, first_seen, last_seen) "
               "SELECT ip, count(*), min(first_seen), max(last_seen) FROM resolutions GROUP BY ip")
    op.drop_index('ix_resolutions_ip', table_name='resolutions')
    op.create_index('ix_resolutions_ip', 'resolutions',
                    ['ip', 'hostname', 'last_seen', 'first_seen', 'visit_count', 'imported_from'])


def downgrade() -> None:
    op.drop_index('ix_resolutions_ip', table_name='resolutions')
    op.create_index('ix_resolutions_ip', 'resolutions', ['ip', 'hostname', 'last_seen', 'first_seen'])
    op.drop_table('ip_resolution_summaries')
