"""visits say whether their page's load event came and which per-visit limits they hit

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 11:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.add_column(sa.Column('load_finished', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('limits_hit', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.drop_column('limits_hit')
        batch_op.drop_column('load_finished')
