"""screenshots: each browser visit's viewport after its user simulation

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 09:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'screenshots',
        sa.Column('visit_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('media_type', sa.String(length=32), nullable=False),
        sa.Column('image', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('visit_id'),
    )


def downgrade() -> None:
    op.drop_table('screenshots')
