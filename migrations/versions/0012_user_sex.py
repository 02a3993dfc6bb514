"""The sex of an account holder (optional), for the agreed forms of letters and e-mails

Revision ID: 0012_user_sex
Revises: 0007
Create Date: 2026-11-30 22:30:00.000000

``users.sex`` (M | F, NULL when not given): « Madame »/« Monsieur », « présidente du jury »,
« présent »/« présente » in the PV and convocations. Unknown: the neutral forms.
"""
from migrations.helpers import add_columns, drop_columns, sex_column


revision = '0012_user_sex'
down_revision = '0015_credentials'


def upgrade() -> None:
    add_columns('users', sex_column())


def downgrade() -> None:
    drop_columns('users', 'sex')
