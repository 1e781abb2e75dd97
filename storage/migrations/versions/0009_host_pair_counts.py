"""host_pair_counts: each host's pairs as parent and as child, for exact totals without counting

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 18:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

REVERSED_HOST = sa.String(length=254).with_variant(sa.String(length=254, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        'host_pair_counts',
        sa.Column('direction', sa.String(length=8), nullable=False),
        sa.Column('host_reversed', REVERSED_HOST, nullable=False),
        sa.Column('pairs', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('direction', 'host_reversed'),
    )
    op.execute("INSERT INTO host_pair_counts (direction, host_reversed, pairs) "
               "SELECT 'parents', child_reversed, count(*) FROM host_pairs GROUP BY child_reversed")
    op.execute("INSERT INTO host_pair_counts (direction, host_reversed, pairs) "
               "SELECT 'children', parent_reversed, count(*) FROM host_pairs GROUP BY parent_reversed")


def downgrade() -> None:
    op.drop_table('host_pair_counts')
