"""CPF export (accrochage certificateurs): batches, records, batch items

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-23 10:05:00.000000
"""
import sqlalchemy as sa
from certification.types import UTCDateTime
from migrations.helpers import (
    AutoString,
    create_indexes,
    create_table_with_id,
    created_and_updated,
    drop_indexed_table,
    foreign_keys,
    reference_column,
    stored_file_columns,
    workflow_state,
)


revision = '0005'
down_revision = '0003'


def upgrade() -> None:
    create_table_with_id('cpf_export_batches',
    reference_column(length=50),
    sa.Column('certification_id', sa.Integer(), nullable=False),
    sa.Column('registry_type', AutoString(length=10), nullable=False),
    sa.Column('registry_code', AutoString(length=40), nullable=False),
    sa.Column('state', AutoString(length=20), nullable=False),
    sa.Column('record_count', sa.Integer(), nullable=False),
    sa.Column('resent_count', sa.Integer(), nullable=False),
    *stored_file_columns(),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('report_imported_at', UTCDateTime(timezone=True), nullable=True),
    *stored_file_columns('report_', nullable=True),
    sa.Column('accepted_count', sa.Integer(), nullable=False),
    sa.Column('rejected_count', sa.Integer(), nullable=False),
    sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
    *foreign_keys(certification_id='certifications', created_by_id='users'),
    )
    create_indexes('cpf_export_batches', ['certification_id', 'state'], unique=['reference'])

    create_table_with_id('cpf_records',
    sa.Column('certificate_id', sa.Integer(), nullable=False),
    sa.Column('certification_id', sa.Integer(), nullable=False),
    sa.Column('technical_id', AutoString(length=40), nullable=False),
    *workflow_state(),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('last_batch_id', sa.Integer(), nullable=True),
    sa.Column('sent_count', sa.Integer(), nullable=False),
    sa.Column('first_sent_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_sent_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('payload_sha256', AutoString(length=64), nullable=True),
    sa.Column('accepted_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('rejected_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.Column('resend_requested', sa.Boolean(), nullable=False),
    *created_and_updated(),
    *foreign_keys(certificate_id='certificates', certification_id='certifications', last_batch_id='cpf_export_batches'),
    sa.UniqueConstraint('certificate_id')
    )
    create_indexes('cpf_records', ['certification_id', 'due_on', 'state'], unique=['technical_id'])

    create_table_with_id('cpf_batch_items',
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('technical_id', AutoString(length=40), nullable=False),
    sa.Column('resend', sa.Boolean(), nullable=False),
    sa.Column('payload_sha256', AutoString(length=64), nullable=False),
    sa.Column('outcome', AutoString(length=20), nullable=True),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('reported_at', UTCDateTime(timezone=True), nullable=True),
    *foreign_keys(batch_id='cpf_export_batches', record_id='cpf_records'),
    sa.UniqueConstraint('batch_id', 'record_id', name='uq_cpf_batch_item')
    )
    create_indexes('cpf_batch_items', ['batch_id', 'record_id'])


def downgrade() -> None:
    drop_indexed_table('cpf_batch_items', ['batch_id', 'record_id'])
    drop_indexed_table('cpf_records', ['certification_id', 'due_on', 'state', 'technical_id'])
    drop_indexed_table('cpf_export_batches', ['certification_id', 'reference', 'state'])
