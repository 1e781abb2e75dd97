"""trackers cookies components

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 19:24:57.729856
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('components',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('hostname', sa.String(length=253), nullable=False),
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=128), nullable=False),
    sa.Column('version', sa.String(length=64), nullable=False),
    sa.Column('first_seen', sa.DateTime(), nullable=False),
    sa.Column('last_seen', sa.DateTime(), nullable=False),
    sa.Column('visit_count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('hostname', 'category', 'label', 'version', name='uq_components_host_category_label_version')
    )
    with op.batch_alter_table('components', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_components_hostname'), ['hostname'], unique=False)

    op.create_table('cookies',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('hostname', sa.String(length=253), nullable=False),
    sa.Column('cookie_name', sa.String(length=255), nullable=False),
    sa.Column('cookie_domain', sa.String(length=253), nullable=False),
    sa.Column('third_party', sa.Boolean(), nullable=False),
    sa.Column('first_seen', sa.DateTime(), nullable=False),
    sa.Column('last_seen', sa.DateTime(), nullable=False),
    sa.Column('visit_count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('hostname', 'cookie_name', 'cookie_domain', name='uq_cookies_host_name_domain')
    )
    with op.batch_alter_table('cookies', schema=None) as batch_op:
        batch_op.create_index('ix_cookies_domain', ['cookie_domain'], unique=False)
        batch_op.create_index('ix_cookies_name', ['cookie_name'], unique=False)

    op.create_table('trackers',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('hostname', sa.String(length=253), nullable=False),
    sa.Column('attribute_type', sa.String(length=64), nullable=False),
    sa.Column('attribute_value', sa.String(length=255), nullable=False),
    sa.Column('first_seen', sa.DateTime(), nullable=False),
    sa.Column('last_seen', sa.DateTime(), nullable=False),
    sa.Column('visit_count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('hostname', 'attribute_type', 'attribute_value', name='uq_trackers_host_type_value')
    )
    with op.batch_alter_table('trackers', schema=None) as batch_op:
        batch_op.create_index('ix_trackers_value', ['attribute_value'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('trackers', schema=None) as batch_op:
        batch_op.drop_index('ix_trackers_value')

    op.drop_table('trackers')
    with op.batch_alter_table('cookies', schema=None) as batch_op:
        batch_op.drop_index('ix_cookies_name')
        batch_op.drop_index('ix_cookies_domain')

    op.drop_table('cookies')
    with op.batch_alter_table('components', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_components_hostname'))

    op.drop_table('components')
