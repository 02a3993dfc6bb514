"""Flow monitoring: one row per run of a dossier's flow or of the sweep

Revision ID: 0014_flow_run_records
Revises: 0014_outbox_claimer
Create Date: 2026-11-30 22:40:00.000000

- ``flow_run_records``: process, dossier id, Prefect run id, runner (host|pid|start token),
  start and end, final state, error, failures in a row and incident (first failed run of the
  streak), result (the sweep's summary). Read by the operations page, the alerts, the metrics.
"""
from alembic import op
import sqlalchemy as sa

from certification.types import UTCDateTime
from migrations.helpers import AutoString, create_table_with_id


revision = '0014_flow_run_records'
down_revision = '0014_outbox_claimer'


def upgrade() -> None:
    create_table_with_id(
        'flow_run_records',
        sa.Column('process', AutoString(length=40), nullable=False),
        sa.Column('entity_id', sa.Integer(), nullable=True),
        sa.Column('prefect_run_id', AutoString(length=40), nullable=True),
        sa.Column('runner', AutoString(length=300), nullable=True),
        sa.Column('started_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('finished_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('state', AutoString(length=20), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('failures_in_a_row', sa.Integer(), nullable=False),
        sa.Column('incident_id', sa.Integer(), nullable=True),
        sa.Column('result', sa.JSON(), nullable=True),
    )
    op.create_index('ix_flow_run_records_entity', 'flow_run_records', ['process', 'entity_id', 'id'])
    op.create_index('ix_flow_run_records_state', 'flow_run_records', ['state'])


def downgrade() -> None:
    op.drop_index('ix_flow_run_records_state', table_name='flow_run_records')
    op.drop_index('ix_flow_run_records_entity', table_name='flow_run_records')
    op.drop_table('flow_run_records')
