"""Owed effects: each audited step of a dossier records the effects it owes, fulfilled by its flow

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 23:00:00.000000

- ``owed_effects``: one row per step owing letters or e-mails (``certification.effects``), marked
  done by the flow in the transaction that produced them.
- Existing databases: nothing is back-filled; the flows still check their keyed documents and
  e-mails, and the sweep covers dossiers whose effects predate this table.
"""
from alembic import op
import sqlalchemy as sa

from certification.types import UTCDateTime
from migrations.helpers import create_table_with_id

revision = '0008'
down_revision = '0007'


def upgrade() -> None:
    create_table_with_id(
        'owed_effects',
        sa.Column('process', sa.String(length=40), nullable=False),
        sa.Column('dossier_id', sa.Integer(), nullable=False),
        sa.Column('entity_type', sa.String(length=40), nullable=False),
        sa.Column('entity_id', sa.Integer(), nullable=False),
        sa.Column('step', sa.String(length=40), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('audit_event_id', sa.Integer(), sa.ForeignKey('audit_events.id'), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('done_at', UTCDateTime(), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('produced', sa.JSON(), nullable=False),
    )
    op.create_index('ix_owed_effects_pending', 'owed_effects', ['process', 'dossier_id', 'done_at'])


def downgrade() -> None:
    op.drop_index('ix_owed_effects_pending', table_name='owed_effects')
    op.drop_table('owed_effects')
