"""CPF export (accrochage certificateurs): batches, records, batch items

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-23 10:05:00.000000
"""
from alembic import op
import sqlalchemy as sa
from certification.types import UTCDateTime
from migrations.helpers import (
    AutoString,
    create_indexes,
    created_and_updated,
    drop_indexed_table,
    reference_column,
    stored_file_columns,
    workflow_state,
)


revision = '0005'
down_revision = '0003'


def upgrade() -> None:
    op.create_table('cpf_export_batches',
    sa.Column('id', sa.Integer(), nullable=False),
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
    sa.ForeignKeyConstraint(['certification_id'], ['certifications.id'], ),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    create_indexes('cpf_export_batches', ['certification_id', 'state'], unique=['reference'])

    op.create_table('cpf_records',
    sa.Column('id', sa.Integer(), nullable=False),
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
    sa.ForeignKeyConstraint(['certificate_id'], ['certificates.id'], ),
    sa.ForeignKeyConstraint(['certification_id'], ['certifications.id'], ),
    sa.ForeignKeyConstraint(['last_batch_id'], ['cpf_export_batches.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('certificate_id')
    )
    create_indexes('cpf_records', ['certification_id', 'due_on', 'state'], unique=['technical_id'])

    op.create_table('cpf_batch_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('technical_id', AutoString(length=40), nullable=False),
    sa.Column('resend', sa.Boolean(), nullable=False),
    sa.Column('payload_sha256', AutoString(length=64), nullable=False),
    sa.Column('outcome', AutoString(length=20), nullable=True),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('reported_at', UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['cpf_export_batches.id'], ),
    sa.ForeignKeyConstraint(['record_id'], ['cpf_records.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('batch_id', 'record_id', name='uq_cpf_batch_item')
    )
    create_indexes('cpf_batch_items', ['batch_id', 'record_id'])


def downgrade() -> None:
    drop_indexed_table('cpf_batch_items', ['batch_id', 'record_id'])
    drop_indexed_table('cpf_records', ['certification_id', 'due_on', 'state', 'technical_id'])
    drop_indexed_table('cpf_export_batches', ['certification_id', 'reference', 'state'])
