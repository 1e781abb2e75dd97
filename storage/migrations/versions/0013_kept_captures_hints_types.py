"""kept captures (to re-derive records), resource hints and parked scripts' declared types

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 12:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'captures',
        sa.Column('visit_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('format', sa.String(length=32), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.Column('complete', sa.Boolean(), nullable=False),
        sa.Column('contributions', sa.Text(), nullable=False),
        sa.Column('derived_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('visit_id'),
    )
    with op.batch_alter_table('dependencies') as batch:
        batch.add_column(sa.Column('declared_type', sa.Text(), nullable=True))
    with op.batch_alter_table('pair_evidence') as batch:
        batch.add_column(sa.Column('hint', sa.String(length=16), nullable=True))
        batch.add_column(sa.Column('declared_type', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('pair_evidence') as batch:
        batch.drop_column('declared_type')
        batch.drop_column('hint')
    with op.batch_alter_table('dependencies') as batch:
        batch.drop_column('declared_type')
    op.drop_table('captures')
