"""The VAE pathway: a candidate's pathway of access, and the dossiers de VAE (issue #16)

Revision ID: 0019_vae
Revises: 0018_certification_versions
Create Date: 2026-12-01 11:00:00.000000

- ``candidates.pathway``: « formation » (every existing candidate) or « vae »;
- ``vae_dossiers``: one per VAE candidate (request, recevabilité, accompaniment, livret 2, the
  jury's interview); see certification/vae/models.py.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

import certification.types


revision = '0019_vae'
down_revision = '0018_certification_versions'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('candidates') as batch:
        batch.add_column(sa.Column('pathway', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False,
                                   server_default='formation'))
        batch.create_index('ix_candidates_pathway', ['pathway'], unique=False)
    op.create_table(
        'vae_dossiers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('reference', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column('candidate_id', sa.Integer(), nullable=False),
        sa.Column('structure_id', sa.Integer(), nullable=False),
        sa.Column('requested_blocs', sa.JSON(), nullable=False),
        sa.Column('experience', sa.Text(), nullable=False),
        sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('filed_by_id', sa.Integer(), nullable=False),
        sa.Column('filed_at', certification.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('recevabilite_due_on', sa.Date(), nullable=False),
        sa.Column('decision_reason', sa.Text(), nullable=True),
        sa.Column('decided_at', certification.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('livret2_due_on', sa.Date(), nullable=True),
        sa.Column('accompanist_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column('accompanist_organisation', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column('accompaniment_hours', sa.Integer(), nullable=True),
        sa.Column('livret2_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column('livret2_content_type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column('livret2_size', sa.Integer(), nullable=True),
        sa.Column('livret2_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column('livret2_path', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column('livret2_deposited_at', certification.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('interview_session_id', sa.Integer(), nullable=True),
        sa.Column('interview_at', certification.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('interview_notes', sa.Text(), nullable=True),
        sa.Column('interview_recorded_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', certification.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', certification.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['candidate_id'], ['candidates.id']),
        sa.ForeignKeyConstraint(['structure_id'], ['structures.id']),
        sa.ForeignKeyConstraint(['filed_by_id'], ['users.id']),
        sa.ForeignKeyConstraint(['decided_by_id'], ['users.id']),
        sa.ForeignKeyConstraint(['interview_session_id'], ['jury_sessions.id']),
        sa.ForeignKeyConstraint(['interview_recorded_by_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_vae_dossiers_reference', 'vae_dossiers', ['reference'], unique=True)
    op.create_index('ix_vae_dossiers_candidate_id', 'vae_dossiers', ['candidate_id'], unique=True)
    op.create_index('ix_vae_dossiers_structure_id', 'vae_dossiers', ['structure_id'], unique=False)
    op.create_index('ix_vae_dossiers_state', 'vae_dossiers', ['state'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_vae_dossiers_state', table_name='vae_dossiers')
    op.drop_index('ix_vae_dossiers_structure_id', table_name='vae_dossiers')
    op.drop_index('ix_vae_dossiers_candidate_id', table_name='vae_dossiers')
    op.drop_index('ix_vae_dossiers_reference', table_name='vae_dossiers')
    op.drop_table('vae_dossiers')
    with op.batch_alter_table('candidates') as batch:
        batch.drop_index('ix_candidates_pathway')
        batch.drop_column('pathway')
