"""Versioned référentiels: certification versions, blocs of a version, the version of a candidate (issue #16)

Revision ID: 0018_certification_versions
Revises: 0012_user_sex
Create Date: 2026-12-01 07:00:00.000000

- ``certification_versions``: one row per version of a certification's référentiel (label, title,
  registry kind and code, validity dates, status draft/active, validated content and its hash,
  who loaded and activated it).
- ``blocs.version_id``: the version a bloc belongs to; bloc codes unique per version
  (``uq_bloc_version_code``) instead of per certification.
- ``candidates.certification_version_id``: the version in force at registration.

Each existing certification gets its first version here (label « 1 », active since always, its
content built from its blocs, ``source`` « migration »); its blocs and its candidates are linked
to it. The engine's start (``ensure_referential``) then takes the shipped file of that version as
its content when the blocs are the same.
"""
import hashlib
import json

from alembic import op
import sqlalchemy as sa

from certification.types import UTCDateTime
from migrations.helpers import AutoString, create_table_with_id, foreign_keys


revision = '0018_certification_versions'
down_revision = '0012_user_sex'


def _content(code: str, title: str, registry_code: str, blocs: list[tuple[str, str]]) -> dict:
    """The shape of a validated file (certification/referentiel/schema.py) at this revision."""
    kind = "RNCP" if registry_code.startswith("RNCP") else "RS" if registry_code.startswith("RS") else None
    return {
        "certification": {"code": code, "title": title}, "version": "1", "title": None,
        "registry": {"kind": kind, "code": registry_code if kind else ""},
        "valid_from": None, "valid_until": None, "initial": True, "to_complete": [],
        "blocs": [{"code": c, "title": t, "competences": [], "assessment_methods": [], "criteria": []}
                  for c, t in blocs],
        "certificate_rule": {"all_blocs": True, "required_blocs": []},
    }


def upgrade() -> None:
    create_table_with_id(
        'certification_versions',
        sa.Column('certification_id', sa.Integer(), nullable=False),
        sa.Column('label', AutoString(length=20), nullable=False),
        sa.Column('title', AutoString(length=200), nullable=False),
        sa.Column('registry_kind', AutoString(length=4), nullable=True),
        sa.Column('registry_code', AutoString(length=40), nullable=False),
        sa.Column('valid_from', sa.Date(), nullable=True),
        sa.Column('valid_until', sa.Date(), nullable=True),
        sa.Column('status', AutoString(length=20), nullable=False),
        sa.Column('content', sa.JSON(), nullable=False),
        sa.Column('content_hash', AutoString(length=64), nullable=False),
        sa.Column('source', AutoString(length=200), nullable=False),
        sa.Column('loaded_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('loaded_by_id', sa.Integer(), nullable=True),
        sa.Column('activated_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('activated_by_id', sa.Integer(), nullable=True),
        *foreign_keys(certification_id='certifications', loaded_by_id='users', activated_by_id='users'),
        sa.UniqueConstraint('certification_id', 'label', name='uq_certification_version_label'),
    )
    op.create_index(op.f('ix_certification_versions_certification_id'), 'certification_versions',
                    ['certification_id'], unique=False)
    op.create_index(op.f('ix_certification_versions_status'), 'certification_versions', ['status'], unique=False)
    with op.batch_alter_table('blocs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_blocs_version_id', 'certification_versions', ['version_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_blocs_version_id'), ['version_id'], unique=False)
        batch_op.drop_constraint('uq_bloc_code', type_='unique')
        batch_op.create_unique_constraint('uq_bloc_version_code', ['version_id', 'code'])
    with op.batch_alter_table('candidates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('certification_version_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_candidates_certification_version_id', 'certification_versions',
                                    ['certification_version_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_candidates_certification_version_id'), ['certification_version_id'],
                              unique=False)
    _backfill()


def _backfill() -> None:
    from certification.clock import now

    bind = op.get_bind()
    versions = sa.table(
        'certification_versions', sa.column('id', sa.Integer), sa.column('certification_id', sa.Integer),
        sa.column('label', sa.String), sa.column('title', sa.String), sa.column('registry_kind', sa.String),
        sa.column('registry_code', sa.String), sa.column('status', sa.String), sa.column('content', sa.JSON),
        sa.column('content_hash', sa.String), sa.column('source', sa.String),
        sa.column('loaded_at', UTCDateTime(timezone=True)),
        sa.column('activated_at', UTCDateTime(timezone=True)),
    )
    at = now()
    for cert_id, code, title, registry_code in bind.execute(
            sa.text("SELECT id, code, title, registry_code FROM certifications ORDER BY id")).all():
        blocs = [tuple(row) for row in bind.execute(
            sa.text("SELECT code, title FROM blocs WHERE certification_id = :c ORDER BY position, id"),
            {"c": cert_id})]
        content = _content(code, title, registry_code or "", blocs)
        digest = hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
        bind.execute(versions.insert().values(
            certification_id=cert_id, label="1", title=title, registry_kind=content["registry"]["kind"],
            registry_code=content["registry"]["code"], status="active", content=content, content_hash=digest,
            source="migration", loaded_at=at, activated_at=at))
        version_id = bind.execute(sa.text(
            "SELECT id FROM certification_versions WHERE certification_id = :c AND label = '1'"),
            {"c": cert_id}).scalar_one()
        bind.execute(sa.text("UPDATE blocs SET version_id = :v WHERE certification_id = :c"),
                     {"v": version_id, "c": cert_id})
        bind.execute(sa.text("UPDATE candidates SET certification_version_id = :v WHERE certification_id = :c"),
                     {"v": version_id, "c": cert_id})


def downgrade() -> None:
    # Back to one set of blocs per certification: the blocs of its first version.
    op.execute("UPDATE candidates SET certification_version_id = NULL")
    op.execute("DELETE FROM blocs WHERE version_id IS NOT NULL AND version_id NOT IN "
               "(SELECT MIN(id) FROM certification_versions GROUP BY certification_id)")
    with op.batch_alter_table('candidates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_candidates_certification_version_id'))
        batch_op.drop_constraint('fk_candidates_certification_version_id', type_='foreignkey')
        batch_op.drop_column('certification_version_id')
    with op.batch_alter_table('blocs', schema=None) as batch_op:
        batch_op.drop_constraint('uq_bloc_version_code', type_='unique')
        batch_op.create_unique_constraint('uq_bloc_code', ['certification_id', 'code'])
        batch_op.drop_index(batch_op.f('ix_blocs_version_id'))
        batch_op.drop_constraint('fk_blocs_version_id', type_='foreignkey')
        batch_op.drop_column('version_id')
    op.drop_index(op.f('ix_certification_versions_status'), table_name='certification_versions')
    op.drop_index(op.f('ix_certification_versions_certification_id'), table_name='certification_versions')
    op.drop_table('certification_versions')
