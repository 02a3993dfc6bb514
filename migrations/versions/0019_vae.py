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

from certification.types import UTCDateTime
from migrations.helpers import (
    AutoString,
    actor_and_time,
    create_indexes,
    create_table_with_id,
    created_and_updated,
    decision_columns,
    deposited_file_columns,
    drop_indexed_table,
    foreign_keys,
    reference_column,
    workflow_state,
)


revision = '0019_vae'
down_revision = '0018_certification_versions'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('candidates') as batch:
        batch.add_column(sa.Column('pathway', AutoString(length=20), nullable=False,
                                   server_default='formation'))
        batch.create_index('ix_candidates_pathway', ['pathway'], unique=False)
    create_table_with_id(
        'vae_dossiers',
        reference_column(),
        sa.Column('candidate_id', sa.Integer(), nullable=False),
        sa.Column('structure_id', sa.Integer(), nullable=False),
        sa.Column('requested_blocs', sa.JSON(), nullable=False),
        sa.Column('experience', sa.Text(), nullable=False),
        *workflow_state(),
        *actor_and_time('filed'),
        sa.Column('recevabilite_due_on', sa.Date(), nullable=False),
        *decision_columns(),
        sa.Column('livret2_due_on', sa.Date(), nullable=True),
        sa.Column('accompanist_name', AutoString(length=200), nullable=True),
        sa.Column('accompanist_organisation', AutoString(length=200), nullable=True),
        sa.Column('accompaniment_hours', sa.Integer(), nullable=True),
        *deposited_file_columns(name='name', path='path', prefix='livret2_', nullable=True),
        sa.Column('livret2_deposited_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('interview_session_id', sa.Integer(), nullable=True),
        sa.Column('interview_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('interview_notes', sa.Text(), nullable=True),
        sa.Column('interview_recorded_by_id', sa.Integer(), nullable=True),
        *created_and_updated(),
        *foreign_keys(
            candidate_id='candidates', structure_id='structures', filed_by_id='users', decided_by_id='users',
            interview_session_id='jury_sessions', interview_recorded_by_id='users',
        ),
    )
    create_indexes('vae_dossiers', ['state', 'structure_id'], unique=['candidate_id', 'reference'])


def downgrade() -> None:
    drop_indexed_table('vae_dossiers', ['candidate_id', 'reference', 'state', 'structure_id'])
    with op.batch_alter_table('candidates') as batch:
        batch.drop_index('ix_candidates_pathway')
        batch.drop_column('pathway')
