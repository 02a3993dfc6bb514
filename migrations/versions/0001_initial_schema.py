"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23 08:44:41.505608
"""
from alembic import op
import sqlalchemy as sa
from certification.types import UTCDateTime
from migrations.helpers import (
    AutoString,
    create_indexes,
    create_table_with_id,
    created_and_updated,
    decision_columns,
    drop_indexed_table,
    entity_columns,
    foreign_keys,
    reference_column,
    start_and_end_dates,
    uploaded_file_columns,
    workflow_state,
)


revision = '0001'
down_revision = None


def upgrade() -> None:
    _create_shared_tables()
    _create_structures_agrements_and_blocs()
    _create_users_and_agrement_requests()
    _create_account_tables()
    _create_pieces()


def _create_shared_tables() -> None:
    """The tables no dossier owns: the certifications, the yearly numbering counters, the generated
    documents and the outbox of e-mails."""
    create_table_with_id('certifications',
    sa.Column('code', AutoString(length=20), nullable=False),
    sa.Column('title', AutoString(length=200), nullable=False),
    sa.Column('registry_code', AutoString(length=40), nullable=False),
    sa.UniqueConstraint('code')
    )

    op.create_table('counters',
    sa.Column('name', AutoString(length=40), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name', 'year')
    )

    create_table_with_id('generated_documents',
    *entity_columns(),
    sa.Column('kind', AutoString(length=60), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('filename', AutoString(length=255), nullable=False),
    sa.Column('relative_path', AutoString(length=500), nullable=False),
    sa.Column('sha256', AutoString(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('content_type', AutoString(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint('entity_type', 'entity_id', 'kind', 'version', name='uq_generated_document')
    )

    create_table_with_id('outbox_messages',
    sa.Column('dedupe_key', AutoString(length=200), nullable=False),
    sa.Column('to_addrs', sa.JSON(), nullable=False),
    sa.Column('cc_addrs', sa.JSON(), nullable=False),
    sa.Column('subject', AutoString(length=500), nullable=False),
    sa.Column('body_text', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=False),
    sa.Column('attachments', sa.JSON(), nullable=False),
    sa.Column('status', AutoString(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('message_id', AutoString(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    *entity_columns(nullable=True),
    sa.Column('template', AutoString(length=100), nullable=True),
    sa.UniqueConstraint('dedupe_key')
    )
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_messages_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_outbox_messages_entity', ['entity_type', 'entity_id'], unique=False)


def _create_structures_agrements_and_blocs() -> None:
    """The structures, their agréments, and the blocs of the certifications."""
    create_table_with_id('structures',
    sa.Column('siret', AutoString(length=14), nullable=False),
    sa.Column('name', AutoString(length=200), nullable=False),
    sa.Column('region', AutoString(length=100), nullable=False),
    sa.Column('address', AutoString(length=400), nullable=False),
    sa.Column('email', AutoString(length=254), nullable=False),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    )
    create_indexes('structures', [], unique=['siret'])

    create_table_with_id('agrements',
    sa.Column('number', AutoString(length=40), nullable=False),
    sa.Column('structure_id', sa.Integer(), nullable=False),
    sa.Column('certification_id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=True),
    *workflow_state(),
    *start_and_end_dates(),
    sa.Column('scope', sa.JSON(), nullable=False),
    sa.Column('granted_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
    *foreign_keys(certification_id='certifications', structure_id='structures'),
    sa.UniqueConstraint('request_id')
    )
    create_indexes('agrements', ['state', 'structure_id'], unique=['number'])

    create_table_with_id('blocs',
    sa.Column('certification_id', sa.Integer(), nullable=False),
    sa.Column('code', AutoString(length=20), nullable=False),
    sa.Column('title', AutoString(length=300), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    *foreign_keys(certification_id='certifications'),
    sa.UniqueConstraint('certification_id', 'code', name='uq_bloc_code')
    )
    create_indexes('blocs', ['certification_id'])


def _create_users_and_agrement_requests() -> None:
    """The accounts, and the agrément requests their mandataires file."""
    create_table_with_id('users',
    sa.Column('email', AutoString(length=254), nullable=False),
    sa.Column('full_name', AutoString(length=200), nullable=False),
    sa.Column('role', AutoString(length=20), nullable=False),
    sa.Column('structure_id', sa.Integer(), nullable=True),
    sa.Column('password_hash', AutoString(length=300), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    *foreign_keys(structure_id='structures'),
    )
    create_indexes('users', ['role'], unique=['email'])

    create_table_with_id('agrement_requests',
    reference_column(),
    sa.Column('structure_id', sa.Integer(), nullable=False),
    sa.Column('certification_id', sa.Integer(), nullable=False),
    sa.Column('mandataire_id', sa.Integer(), nullable=False),
    sa.Column('kind', AutoString(length=20), nullable=False),
    sa.Column('previous_agrement_id', sa.Integer(), nullable=True),
    *workflow_state(),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('scope', sa.JSON(), nullable=False),
    sa.Column('motivation', sa.Text(), nullable=False),
    sa.Column('submitted_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_submitted_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('complement_request', sa.Text(), nullable=True),
    sa.Column('complements_requested_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('complements_deadline', sa.Date(), nullable=True),
    sa.Column('avis_deadline', sa.Date(), nullable=True),
    sa.Column('avis', AutoString(length=20), nullable=True),
    sa.Column('avis_comment', sa.Text(), nullable=True),
    sa.Column('avis_at', UTCDateTime(timezone=True), nullable=True),
    *decision_columns(),
    *created_and_updated(),
    *foreign_keys(
        certification_id='certifications', decided_by_id='users', mandataire_id='users',
        previous_agrement_id='agrements', structure_id='structures',
    ),
    )
    create_indexes('agrement_requests', ['mandataire_id', 'state', 'structure_id'], unique=['reference'])


def _create_account_tables() -> None:
    """The API tokens, the audit trail, the idempotency records of the API and the links of accounts
    to structures."""
    create_table_with_id('api_tokens',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', AutoString(length=64), nullable=False),
    sa.Column('label', AutoString(length=100), nullable=False),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', UTCDateTime(timezone=True), nullable=True),
    *foreign_keys(user_id='users'),
    )
    create_indexes('api_tokens', ['user_id'], unique=['token_hash'])

    create_table_with_id('audit_events',
    *entity_columns(),
    sa.Column('action', AutoString(length=40), nullable=False),
    sa.Column('from_state', AutoString(length=20), nullable=True),
    sa.Column('to_state', AutoString(length=20), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_role', AutoString(length=20), nullable=False),
    sa.Column('actor_label', AutoString(length=200), nullable=False),
    sa.Column('at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    *foreign_keys(actor_id='users'),
    )
    create_indexes('audit_events', ['at', 'entity_id', 'entity_type'])

    create_table_with_id('idempotency_records',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('key', AutoString(length=200), nullable=False),
    sa.Column('method', AutoString(length=10), nullable=False),
    sa.Column('path', AutoString(length=300), nullable=False),
    sa.Column('request_hash', AutoString(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('response_body', sa.JSON(), nullable=True),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    *foreign_keys(user_id='users'),
    sa.UniqueConstraint('user_id', 'key', name='uq_idempotency_key')
    )

    create_table_with_id('structure_links',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('structure_id', sa.Integer(), nullable=False),
    sa.Column('kind', AutoString(length=20), nullable=False),
    sa.Column('since', UTCDateTime(timezone=True), nullable=False),
    *foreign_keys(structure_id='structures', user_id='users'),
    sa.UniqueConstraint('user_id', 'structure_id', 'kind', name='uq_structure_link')
    )
    create_indexes('structure_links', ['structure_id', 'user_id'])


def _create_pieces() -> None:
    """The pieces uploaded with an agrément request."""
    create_table_with_id('pieces',
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    *uploaded_file_columns(kind_length=40),
    *foreign_keys(request_id='agrement_requests', uploaded_by_id='users'),
    )
    create_indexes('pieces', ['request_id'])


def downgrade() -> None:
    drop_indexed_table('pieces', ['request_id'])
    drop_indexed_table('structure_links', ['structure_id', 'user_id'])
    op.drop_table('idempotency_records')
    drop_indexed_table('audit_events', ['at', 'entity_id', 'entity_type'])
    drop_indexed_table('api_tokens', ['token_hash', 'user_id'])
    drop_indexed_table('agrement_requests', ['mandataire_id', 'reference', 'state', 'structure_id'])
    drop_indexed_table('users', ['email', 'role'])
    drop_indexed_table('blocs', ['certification_id'])
    drop_indexed_table('agrements', ['number', 'state', 'structure_id'])
    drop_indexed_table('structures', ['siret'])
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_messages_entity')
        batch_op.drop_index('ix_outbox_messages_due')

    op.drop_table('outbox_messages')
    op.drop_table('generated_documents')
    op.drop_table('counters')
    op.drop_table('certifications')
