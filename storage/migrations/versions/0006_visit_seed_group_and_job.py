"""visits record the seed group and the crawl job that made them

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 14:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seed_group', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('job', sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f('ix_visits_job'), ['job'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_visits_job'))
        batch_op.drop_column('job')
        batch_op.drop_column('seed_group')
