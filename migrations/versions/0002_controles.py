"""controles

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 08:54:39.265024
"""
import sqlalchemy as sa
from certification.types import UTCDateTime
from migrations.helpers import (
    AutoString,
    create_indexes,
    create_table_with_id,
    created_and_updated,
    decision_columns,
    drop_indexed_table,
    foreign_keys,
    reference_column,
    uploaded_file_columns,
    visit_columns,
    workflow_state,
)


revision = '0002'
down_revision = '0001'


def upgrade() -> None:
    create_table_with_id('controles',
    reference_column(),
    sa.Column('agrement_id', sa.Integer(), nullable=False),
    sa.Column('structure_id', sa.Integer(), nullable=False),
    sa.Column('kind', AutoString(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    *workflow_state(),
    sa.Column('controleur_id', sa.Integer(), nullable=True),
    *visit_columns(),
    sa.Column('findings', sa.JSON(), nullable=False),
    sa.Column('report_summary', sa.Text(), nullable=True),
    sa.Column('report_submitted_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('decision', AutoString(length=20), nullable=True),
    *decision_columns(),
    sa.Column('action_plan_items', sa.Text(), nullable=True),
    sa.Column('action_plan_deadline', sa.Date(), nullable=True),
    sa.Column('closed_at', UTCDateTime(timezone=True), nullable=True),
    *created_and_updated(),
    *foreign_keys(agrement_id='agrements', controleur_id='users', decided_by_id='users', structure_id='structures'),
    )
    create_indexes('controles', ['agrement_id', 'controleur_id', 'state', 'structure_id'], unique=['reference'])

    create_table_with_id('controle_files',
    sa.Column('controle_id', sa.Integer(), nullable=False),
    *uploaded_file_columns(kind_length=20),
    *foreign_keys(controle_id='controles', uploaded_by_id='users'),
    )
    create_indexes('controle_files', ['controle_id'])


def downgrade() -> None:
    drop_indexed_table('controle_files', ['controle_id'])
    drop_indexed_table('controles', ['agrement_id', 'controleur_id', 'reference', 'state', 'structure_id'])
