"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-27 19:11:28.607347
"""

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('host_pairs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('parent', sa.String(length=253), nullable=False),
    sa.Column('child', sa.String(length=253), nullable=False),
    sa.Column('cause', sa.String(length=32), nullable=False),
    sa.Column('first_seen', sa.DateTime(), nullable=False),
    sa.Column('last_seen', sa.DateTime(), nullable=False),
    sa.Column('visit_count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('parent', 'child', 'cause', name='uq_host_pairs_parent_child_cause')
    )
    with op.batch_alter_table('host_pairs', schema=None) as batch_op:
        batch_op.create_index('ix_host_pairs_child', ['child'], unique=False)

    op.create_table('resolutions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('hostname', sa.String(length=253), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=False),
    sa.Column('first_seen', sa.DateTime(), nullable=False),
    sa.Column('last_seen', sa.DateTime(), nullable=False),
    sa.Column('visit_count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('hostname', 'ip', name='uq_resolutions_hostname_ip')
    )
    with op.batch_alter_table('resolutions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_resolutions_ip'), ['ip'], unique=False)

    op.create_table('visits',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('requested_url', sa.Text(), nullable=False),
    sa.Column('final_url', sa.Text(), nullable=False),
    sa.Column('host', sa.String(length=253), nullable=True),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('depth', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=False),
    sa.Column('status', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_visits_host'), ['host'], unique=False)
        batch_op.create_index(batch_op.f('ix_visits_requested_url'), ['requested_url'], unique=False)
        batch_op.create_index(batch_op.f('ix_visits_started_at'), ['started_at'], unique=False)

    op.create_table('dependencies',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('visit_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('host', sa.String(length=253), nullable=True),
    sa.Column('resource_type', sa.String(length=32), nullable=False),
    sa.Column('cause', sa.String(length=32), nullable=True),
    sa.Column('parent_host', sa.String(length=253), nullable=True),
    sa.Column('frame_id', sa.String(length=64), nullable=True),
    sa.Column('frame_url', sa.Text(), nullable=True),
    sa.Column('is_main_frame', sa.Boolean(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('initiator_type', sa.String(length=32), nullable=False),
    sa.Column('initiator_url', sa.Text(), nullable=True),
    sa.Column('redirected_from', sa.Text(), nullable=True),
    sa.Column('status', sa.Integer(), nullable=True),
    sa.Column('remote_ip', sa.String(length=64), nullable=True),
    sa.Column('remote_port', sa.Integer(), nullable=True),
    sa.Column('mime_type', sa.String(length=255), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('certificate_error', sa.Text(), nullable=True),
    sa.Column('body_sha256', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('dependencies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dependencies_host'), ['host'], unique=False)
        batch_op.create_index(batch_op.f('ix_dependencies_visit_id'), ['visit_id'], unique=False)

    op.create_table('frames',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('visit_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('frame_id', sa.String(length=64), nullable=False),
    sa.Column('parent_frame_id', sa.String(length=64), nullable=True),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('host', sa.String(length=253), nullable=True),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('created_by_script', sa.Boolean(), nullable=False),
    sa.Column('creator_script_url', sa.Text(), nullable=True),
    sa.Column('hidden', sa.Boolean(), nullable=True),
    sa.Column('hidden_reasons', sa.Text(), nullable=True),
    sa.Column('detached', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('frames', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_frames_visit_id'), ['visit_id'], unique=False)

    op.create_table('pair_evidence',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('visit_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('host_pair_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('page_url', sa.Text(), nullable=False),
    sa.Column('child_url', sa.Text(), nullable=False),
    sa.Column('frame_id', sa.String(length=64), nullable=True),
    sa.Column('frame_url', sa.Text(), nullable=True),
    sa.Column('initiator_url', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['host_pair_id'], ['host_pairs.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('pair_evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pair_evidence_host_pair_id'), ['host_pair_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pair_evidence_visit_id'), ['visit_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('pair_evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pair_evidence_visit_id'))
        batch_op.drop_index(batch_op.f('ix_pair_evidence_host_pair_id'))

    op.drop_table('pair_evidence')
    with op.batch_alter_table('frames', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_frames_visit_id'))

    op.drop_table('frames')
    with op.batch_alter_table('dependencies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dependencies_visit_id'))
        batch_op.drop_index(batch_op.f('ix_dependencies_host'))

    op.drop_table('dependencies')
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_visits_started_at'))
        batch_op.drop_index(batch_op.f('ix_visits_requested_url'))
        batch_op.drop_index(batch_op.f('ix_visits_host'))

    op.drop_table('visits')
    with op.batch_alter_table('resolutions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_resolutions_ip'))

    op.drop_table('resolutions')
    with op.batch_alter_table('host_pairs', schema=None) as batch_op:
        batch_op.drop_index('ix_host_pairs_child')

    op.drop_table('host_pairs')
