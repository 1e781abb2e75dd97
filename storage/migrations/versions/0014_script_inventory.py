"""payment-page script inventory: scripts, their versions, authorisations; security headers; who acknowledged

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 12:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
SEEN = ('first_seen', 'last_seen', 'visit_count', 'imported_from')


def _seen_columns() -> list[sa.Column]:
    return [sa.Column('first_seen', sa.DateTime(), nullable=False), sa.Column('last_seen', sa.DateTime(), nullable=False),
            sa.Column('visit_count', sa.Integer(), nullable=False),
            sa.Column('imported_from', sa.String(length=255), nullable=True)]


def upgrade() -> None:
    op.create_table(
        'inventory_scripts',
        sa.Column('id', ID, nullable=False),
        sa.Column('page_url', sa.Text(), nullable=False),
        sa.Column('script_key', sa.Text(), nullable=False),
        sa.Column('url', sa.Text(), nullable=True),
        sa.Column('host', sa.String(length=253), nullable=True),
        sa.Column('first_party', sa.Boolean(), nullable=False),
        sa.Column('loaded_by', sa.Text(), nullable=False),
        sa.Column('integrity', sa.Text(), nullable=True),
        sa.Column('integrity_matched', sa.Boolean(), nullable=True),
        sa.Column('frame_url', sa.Text(), nullable=True),
        sa.Column('in_scope', sa.Boolean(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=True),
        *_seen_columns(),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('page_url', 'script_key', name='uq_inventory_scripts_page_key'),
    )
    op.create_table(
        'script_versions',
        sa.Column('id', ID, nullable=False),
        sa.Column('inventory_script_id', ID, nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('size', sa.Integer(), nullable=True),
        sa.Column('fuzzy_hash', sa.String(length=128), nullable=True),
        sa.Column('body', sa.LargeBinary(), nullable=True),
        *_seen_columns(),
        sa.ForeignKeyConstraint(['inventory_script_id'], ['inventory_scripts.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('inventory_script_id', 'sha256', name='uq_script_versions_script_sha256'),
    )
    op.create_table(
        'visit_scripts',
        sa.Column('id', ID, nullable=False),
        sa.Column('visit_id', ID, nullable=False),
        sa.Column('inventory_script_id', ID, nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['inventory_script_id'], ['inventory_scripts.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_visit_scripts_visit_id', 'visit_scripts', ['visit_id'])
    op.create_index('ix_visit_scripts_inventory_script_id', 'visit_scripts', ['inventory_script_id'])
    op.create_table(
        'script_authorizations',
        sa.Column('id', ID, nullable=False),
        sa.Column('pattern', sa.Text(), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('pinned_sha256', sa.String(length=64), nullable=True),
        sa.Column('justification', sa.Text(), nullable=False),
        sa.Column('authorized_by', sa.String(length=255), nullable=False),
        sa.Column('authorized_at', sa.DateTime(), nullable=False),
        sa.Column('revoked_by', sa.String(length=255), nullable=True),
        sa.Column('revoked_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('visits') as batch:
        batch.add_column(sa.Column('security_headers', sa.Text(), nullable=True))
    with op.batch_alter_table('alerts') as batch:
        batch.add_column(sa.Column('acknowledged_by', sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('alerts') as batch:
        batch.drop_column('acknowledged_by')
    with op.batch_alter_table('visits') as batch:
        batch.drop_column('security_headers')
    op.drop_table('script_authorizations')
    op.drop_table('visit_scripts')
    op.drop_table('script_versions')
    op.drop_table('inventory_scripts')
