"""CPF export batches: the day the officer deposited the file on the Caisse des Dépôts platform

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 09:00:00.000000

- ``cpf_export_batches.deposited_on``: declared by the officer (audited ``declare_deposit``); NULL
  until then. The reminders of a batch without processing report word what is left to do with it.
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'


def upgrade() -> None:
    with op.batch_alter_table('cpf_export_batches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deposited_on', sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('cpf_export_batches', schema=None) as batch_op:
        batch_op.drop_column('deposited_on')
