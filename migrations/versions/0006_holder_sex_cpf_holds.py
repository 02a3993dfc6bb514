"""Merge of 0004 (training) and 0005 (CPF export); the holder's sex; CPF records held back

Revision ID: 0006
Revises: 0004, 0005
Create Date: 2026-11-24 09:00:00.000000

- ``candidates.sex`` and ``certificates.holder_sex`` (M | F, the « sexe » of the SI CPF data
  dictionary; NULL for the candidates registered before it was collected);
- ``cpf_records.held_reason`` / ``held_since``: a record owed to the Caisse des Dépôts but held
  back until the data it lacks is corrected.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import certification.types


revision = '0006'
down_revision = ('0004', '0005')


def upgrade() -> None:
    with op.batch_alter_table('candidates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sex', sqlmodel.sql.sqltypes.AutoString(length=1), nullable=True))

    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('holder_sex', sqlmodel.sql.sqltypes.AutoString(length=1), nullable=True))

    with op.batch_alter_table('cpf_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('held_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('held_since', certification.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('cpf_records', schema=None) as batch_op:
        batch_op.drop_column('held_since')
        batch_op.drop_column('held_reason')

    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_column('holder_sex')

    with op.batch_alter_table('candidates', schema=None) as batch_op:
        batch_op.drop_column('sex')
