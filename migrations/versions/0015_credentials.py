"""Open Badges 3.0 credentials of certificates and blocs (issue #15)

Revision ID: 0015_credentials
Revises: 0007
Create Date: 2026-11-30 22:30:00.000000

- ``credentials``: one signed VC-JWT per certificate version and achievement (the certification or
  one of its blocs), its bit in the revocation status list, revocation date and reason.
"""
from alembic import op
import sqlalchemy as sa

from certification.types import UTCDateTime
from migrations.helpers import AutoString, create_table_with_id, foreign_keys


revision = '0015_credentials'
down_revision = '0013_webhooks'


def upgrade() -> None:
    create_table_with_id(
        'credentials',
        sa.Column('certificate_id', sa.Integer(), nullable=False),
        sa.Column('certificate_version', sa.Integer(), nullable=False),
        sa.Column('bloc_code', AutoString(length=20), nullable=True),
        sa.Column('achievement_key', AutoString(length=40), nullable=False),
        sa.Column('credential_uuid', AutoString(length=36), nullable=False),
        sa.Column('status_index', sa.Integer(), nullable=False),
        sa.Column('kid', AutoString(length=64), nullable=False),
        sa.Column('jwt', sa.Text(), nullable=False),
        sa.Column('issued_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('revoked_reason', AutoString(length=20), nullable=True),
        *foreign_keys(certificate_id='certificates'),
        sa.UniqueConstraint('certificate_id', 'certificate_version', 'achievement_key', name='uq_credential_issue'),
        sa.UniqueConstraint('credential_uuid'),
        sa.UniqueConstraint('status_index'),
    )
    op.create_index(op.f('ix_credentials_certificate_id'), 'credentials', ['certificate_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_credentials_certificate_id'), table_name='credentials')
    op.drop_table('credentials')
