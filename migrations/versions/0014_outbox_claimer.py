"""Outbox: who claimed a message being sent (prompt recovery after a crash)

Revision ID: 0014_outbox_claimer
Revises: 0007
Create Date: 2026-11-30 22:30:00.000000

- ``outbox_messages.claimed_by``: ``<host>|<pid>|<start token>`` of the sending process, NULL when
  the message is not being sent. A message left 'sending' by a process gone from its host is
  reclaimed at once instead of after the claim lease.
"""
import sqlalchemy as sa
from migrations.helpers import AutoString, add_columns, drop_columns


revision = '0014_outbox_claimer'
down_revision = '0017_audit_chain'


def upgrade() -> None:
    add_columns('outbox_messages', sa.Column('claimed_by', AutoString(length=300), nullable=True))


def downgrade() -> None:
    drop_columns('outbox_messages', 'claimed_by')
