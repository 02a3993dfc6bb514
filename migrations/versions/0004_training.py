"""EPSP training sessions, encadrants and appuis pédagogiques

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 09:31:43.352426
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
    start_and_end_dates,
    visit_columns,
    workflow_state,
)


revision = '0004'
down_revision = '0003'


def upgrade() -> None:
    _create_appuis()
    _create_encadrants()
    _create_training_sessions()
    _create_training_enrollments()


def _create_appuis() -> None:
    """The appuis pédagogiques a structure requests."""
    create_table_with_id('appuis',
    reference_column(),
    sa.Column('structure_id', sa.Integer(), nullable=False),
    sa.Column('subject', AutoString(length=200), nullable=False),
    sa.Column('need', sa.Text(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    *workflow_state(),
    sa.Column('formateur_id', sa.Integer(), nullable=True),
    *visit_columns(),
    sa.Column('report_text', sa.Text(), nullable=True),
    sa.Column('report_file', sa.JSON(), nullable=True),
    sa.Column('reported_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancel_reason', sa.Text(), nullable=True),
    *created_and_updated(),
    *foreign_keys(formateur_id='users', requested_by_id='users', structure_id='structures'),
    )
    create_indexes('appuis', ['formateur_id', 'reported_at', 'state', 'structure_id'], unique=['reference'])


def _create_encadrants() -> None:
    """The encadrants of a structure."""
    create_table_with_id('encadrants',
    sa.Column('structure_id', sa.Integer(), nullable=False),
    *person_name(),
    sa.Column('email', AutoString(length=254), nullable=False),
    sa.Column('epsp_trained_on', sa.Date(), nullable=True),
    sa.Column('epsp_enrollment_id', sa.Integer(), nullable=True),
    *actor_and_time('created'),
    *foreign_keys(created_by_id='users', structure_id='structures'),
    sa.UniqueConstraint('structure_id', 'email', name='uq_encadrant_email')
    )
    create_indexes('encadrants', ['structure_id'])


def _create_training_sessions() -> None:
    """The EPSP training sessions."""
    create_table_with_id('training_sessions',
    reference_column(),
    sa.Column('formateur_id', sa.Integer(), nullable=False),
    sa.Column('title', AutoString(length=200), nullable=False),
    sa.Column('days', sa.JSON(), nullable=False),
    *start_and_end_dates(),
    sa.Column('hours', AutoString(length=100), nullable=False),
    sa.Column('hours_per_day', sa.Integer(), nullable=False),
    sa.Column('place', AutoString(length=300), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    *workflow_state(),
    sa.Column('schedule_sequence', sa.Integer(), nullable=False),
    sa.Column('cancel_reason', sa.Text(), nullable=True),
    sa.Column('closed_at', UTCDateTime(timezone=True), nullable=True),
    *recorded_and_updated('created'),
    *foreign_keys(created_by_id='users', formateur_id='users'),
    )
    create_indexes('training_sessions', ['formateur_id', 'start_date', 'state'], unique=['reference'])


def _create_training_enrollments() -> None:
    """The enrollments of encadrants in training sessions."""
    create_table_with_id('training_enrollments',
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('encadrant_id', sa.Integer(), nullable=False),
    sa.Column('structure_id', sa.Integer(), nullable=False),
    *workflow_state(),
    sa.Column('attendance', sa.JSON(), nullable=False),
    sa.Column('outcome_reason', sa.Text(), nullable=True),
    sa.Column('completed_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('attestation_number', AutoString(length=40), nullable=True),
    *recorded_and_updated('registered'),
    *foreign_keys(
        encadrant_id='encadrants', registered_by_id='users', session_id='training_sessions', structure_id='structures',
    ),
    sa.UniqueConstraint('attestation_number'),
    sa.UniqueConstraint('session_id', 'encadrant_id', name='uq_training_enrollment')
    )
    create_indexes('training_enrollments', ['encadrant_id', 'session_id', 'state', 'structure_id'])


def downgrade() -> None:
    drop_indexed_table('training_enrollments', ['encadrant_id', 'session_id', 'state', 'structure_id'])
    drop_indexed_table('training_sessions', ['formateur_id', 'reference', 'start_date', 'state'])
    drop_indexed_table('encadrants', ['structure_id'])
    drop_indexed_table('appuis', ['formateur_id', 'reference', 'reported_at', 'state', 'structure_id'])
