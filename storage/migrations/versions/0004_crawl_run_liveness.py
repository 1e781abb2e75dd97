"""crawl runs and the watcher say where they run; runs say when they were last alive

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 22:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('crawl_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('host', sa.String(length=255), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('alive_at', sa.DateTime(), nullable=True))
    op.execute('UPDATE crawl_runs SET alive_at = COALESCE(finished_at, started_at)')
    with op.batch_alter_table('crawl_runs', schema=None) as batch_op:
        batch_op.alter_column('alive_at', existing_type=sa.DateTime(), nullable=False)
        batch_op.alter_column('host', existing_type=sa.String(length=255), server_default=None)
    with op.batch_alter_table('watch_heartbeat', schema=None) as batch_op:
        batch_op.add_column(sa.Column('host', sa.String(length=255), nullable=False, server_default=''))
    with op.batch_alter_table('watch_heartbeat', schema=None) as batch_op:
        batch_op.alter_column('host', existing_type=sa.String(length=255), server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('watch_heartbeat', schema=None) as batch_op:
        batch_op.drop_column('host')
    with op.batch_alter_table('crawl_runs', schema=None) as batch_op:
        batch_op.drop_column('alive_at')
        batch_op.drop_column('host')
