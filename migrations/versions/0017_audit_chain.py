"""Tamper-evident audit trail: each audit row is chained to the previous row of its entity

Revision ID: 0017_audit_chain
Revises: 0007
Create Date: 2026-11-30 22:45:00.000000

- ``audit_events.prev_hash`` / ``row_hash``: SHA-256 of the entity's previous row and of this row
  over its canonical content (certification/audit_chain.py). Rows written before this revision are
  sealed here, in id order, so that the chain covers the whole existing record.
- index ``ix_audit_events_entity_chain`` (entity_type, entity_id, id): the predecessor of a new row.
"""
from alembic import op
import sqlalchemy as sa


revision = '0017_audit_chain'
down_revision = '0008'


def upgrade() -> None:
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('row_hash', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_audit_events_entity_chain', ['entity_type', 'entity_id', 'id'])
    from certification.audit_chain import seal_existing

    seal_existing(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_entity_chain')
        batch_op.drop_column('row_hash')
        batch_op.drop_column('prev_hash')
