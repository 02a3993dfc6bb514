"""CPF export batches: the day the officer deposited the file on the Caisse des Dépôts platform

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 09:00:00.000000

- ``cpf_export_batches.deposited_on``: declared by the officer (audited ``declare_deposit``); NULL
  until then. The reminders of a batch without processing report word what is left to do with it.
"""
import sqlalchemy as sa
from migrations.helpers import add_columns, drop_columns


revision = '0007'
down_revision = '0006'


def upgrade() -> None:
    add_columns('cpf_export_batches', sa.Column('deposited_on', sa.Date(), nullable=True))


def downgrade() -> None:
    drop_columns('cpf_export_batches', 'deposited_on')
