"""Merge of 0004 (training) and 0005 (CPF export); the holder's sex; CPF records held back

Revision ID: 0006
Revises: 0004, 0005
Create Date: 2026-11-24 09:00:00.000000

- ``candidates.sex`` and ``certificates.holder_sex`` (M | F, the « sexe » of the SI CPF data
  dictionary; NULL for the candidates registered before it was collected);
- ``cpf_records.held_reason`` / ``held_since``: a record owed to the Caisse des Dépôts but held
  back until the data it lacks is corrected.
"""
import sqlalchemy as sa
from certification.types import UTCDateTime
from migrations.helpers import add_columns, drop_columns, sex_column


revision = '0006'
down_revision = ('0004', '0005')


def upgrade() -> None:
    add_columns('candidates', sex_column())

    add_columns('certificates', sex_column('holder_sex'))

    add_columns(
        'cpf_records',
        sa.Column('held_reason', sa.Text(), nullable=True),
        sa.Column('held_since', UTCDateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    drop_columns('cpf_records', 'held_since', 'held_reason')

    drop_columns('certificates', 'holder_sex')

    drop_columns('candidates', 'sex')
