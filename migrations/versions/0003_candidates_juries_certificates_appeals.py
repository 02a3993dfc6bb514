"""candidates juries certificates appeals

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 09:15:51.078621
"""
import sqlalchemy as sa
from certification.types import UTCDateTime
from migrations.helpers import (
    AutoString,
    actor_and_time,
    create_indexes,
    create_table_with_id,
    created_and_updated,
    drop_indexed_table,
    foreign_keys,
    person_name,
    recorded_and_updated,
    reference_column,
    workflow_state,
)


revision = '0003'
down_revision = '0002'


def upgrade() -> None:
    _create_candidates()
    _create_jury_sessions()
    _create_appeals()
    _create_jury_results()
    _create_jury_rosters()


def _create_candidates() -> None:
    """The candidates registered by the structures."""
    create_table_with_id('candidates',
    reference_column(),
    sa.Column('structure_id', sa.Integer(), nullable=False),
    sa.Column('certification_id', sa.Integer(), nullable=False),
    sa.Column('agrement_id', sa.Integer(), nullable=False),
    *person_name(),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('birth_place', AutoString(length=150), nullable=False),
    sa.Column('email', AutoString(length=254), nullable=False),
    sa.Column('contract_type', AutoString(length=40), nullable=False),
    sa.Column('contract_start', sa.Date(), nullable=False),
    sa.Column('contract_end', sa.Date(), nullable=True),
    sa.Column('blocs', sa.JSON(), nullable=False),
    *workflow_state(),
    *recorded_and_updated('registered'),
    *foreign_keys(
        agrement_id='agrements', certification_id='certifications', registered_by_id='users',
        structure_id='structures',
    ),
    )
    create_indexes('candidates', ['certification_id', 'state', 'structure_id'], unique=['reference'])


def _create_jury_sessions() -> None:
    """The jury sessions."""
    create_table_with_id('jury_sessions',
    reference_column(),
    sa.Column('certification_id', sa.Integer(), nullable=False),
    sa.Column('scheduled_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('place', AutoString(length=300), nullable=True),
    sa.Column('video_link', AutoString(length=500), nullable=True),
    sa.Column('quorum', sa.Integer(), nullable=False),
    *workflow_state(),
    sa.Column('pv_version', sa.Integer(), nullable=False),
    sa.Column('pv_signed_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('pv_signed_by_id', sa.Integer(), nullable=True),
    sa.Column('results_notified_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('flag_reason', sa.Text(), nullable=True),
    *recorded_and_updated('created'),
    *foreign_keys(certification_id='certifications', created_by_id='users', pv_signed_by_id='users'),
    )
    create_indexes('jury_sessions', ['state'], unique=['reference'])


def _create_appeals() -> None:
    """The appeals against a jury's decision."""
    create_table_with_id('appeals',
    reference_column(),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('grounds', sa.Text(), nullable=False),
    *workflow_state(),
    sa.Column('decision_reason', sa.Text(), nullable=True),
    *recorded_and_updated('filed'),
    *foreign_keys(candidate_id='candidates', filed_by_id='users', session_id='jury_sessions'),
    )
    create_indexes('appeals', ['candidate_id', 'session_id', 'state'], unique=['reference'])


def _create_jury_results() -> None:
    """What a jury session decides (the blocs acquired, the certificates, the deliberations) and the
    evaluations it reviews."""
    create_table_with_id('bloc_acquisitions',
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('bloc_code', AutoString(length=20), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('acquired_on', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('cancelled', sa.Boolean(), nullable=False),
    *foreign_keys(candidate_id='candidates', session_id='jury_sessions'),
    sa.UniqueConstraint('candidate_id', 'bloc_code', 'session_id', name='uq_bloc_acquisition')
    )
    create_indexes('bloc_acquisitions', ['candidate_id'])

    create_table_with_id('certificates',
    sa.Column('number', AutoString(length=40), nullable=False),
    sa.Column('kind', AutoString(length=20), nullable=False),
    sa.Column('certification_id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('blocs', sa.JSON(), nullable=False),
    *person_name('holder_'),
    sa.Column('holder_birth_date', sa.Date(), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    *workflow_state(),
    sa.Column('revoked_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_reason', sa.Text(), nullable=True),
    *created_and_updated(),
    *foreign_keys(candidate_id='candidates', certification_id='certifications', session_id='jury_sessions'),
    sa.UniqueConstraint('candidate_id', 'session_id', 'kind', name='uq_certificate_issue')
    )
    create_indexes('certificates', ['candidate_id', 'session_id', 'state'], unique=['number'])

    create_table_with_id('deliberations',
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('bloc_code', AutoString(length=20), nullable=False),
    sa.Column('result', AutoString(length=20), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    *actor_and_time('recorded'),
    *foreign_keys(candidate_id='candidates', recorded_by_id='users', session_id='jury_sessions'),
    sa.UniqueConstraint('session_id', 'candidate_id', 'bloc_code', name='uq_deliberation')
    )
    create_indexes('deliberations', ['candidate_id', 'session_id'])

    create_table_with_id('evaluations',
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('bloc_code', AutoString(length=20), nullable=False),
    sa.Column('evaluated_on', sa.Date(), nullable=False),
    sa.Column('result', AutoString(length=20), nullable=False),
    sa.Column('evaluator_name', AutoString(length=200), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('files', sa.JSON(), nullable=False),
    *actor_and_time('created'),
    *foreign_keys(candidate_id='candidates', created_by_id='users'),
    )
    create_indexes('evaluations', ['candidate_id'])


def _create_jury_rosters() -> None:
    """The candidates and the members convened to a jury session."""
    create_table_with_id('jury_candidates',
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('blocs', sa.JSON(), nullable=False),
    sa.Column('outcome', AutoString(length=20), nullable=True),
    *foreign_keys(candidate_id='candidates', session_id='jury_sessions'),
    sa.UniqueConstraint('session_id', 'candidate_id', name='uq_jury_candidate')
    )
    create_indexes('jury_candidates', ['candidate_id', 'session_id'])

    create_table_with_id('jury_members',
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('college', AutoString(length=20), nullable=False),
    sa.Column('is_president', sa.Boolean(), nullable=False),
    sa.Column('present', sa.Boolean(), nullable=True),
    *foreign_keys(session_id='jury_sessions', user_id='users'),
    sa.UniqueConstraint('session_id', 'user_id', name='uq_jury_member')
    )
    create_indexes('jury_members', ['session_id', 'user_id'])


def downgrade() -> None:
    drop_indexed_table('jury_members', ['session_id', 'user_id'])
    drop_indexed_table('jury_candidates', ['candidate_id', 'session_id'])
    drop_indexed_table('evaluations', ['candidate_id'])
    drop_indexed_table('deliberations', ['candidate_id', 'session_id'])
    drop_indexed_table('certificates', ['candidate_id', 'number', 'session_id', 'state'])
    drop_indexed_table('bloc_acquisitions', ['candidate_id'])
    drop_indexed_table('appeals', ['candidate_id', 'reference', 'session_id', 'state'])
    drop_indexed_table('jury_sessions', ['reference', 'state'])
    drop_indexed_table('candidates', ['certification_id', 'reference', 'state', 'structure_id'])
