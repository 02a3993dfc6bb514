"""Migration 0018 on a database that already has certifications, blocs and candidates: each
certification gets its first version, its blocs and candidates are linked to it, and the engine's
start then takes the shipped file of that version as its content."""

from __future__ import annotations

import tempfile
from datetime import date, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import command

from certification.migrate import alembic_config


def _fill(conn, table: str, values: dict) -> int:
    """Insert a row giving every NOT NULL column a value of its type (``values`` first)."""
    columns = sa.inspect(conn).get_columns(table)
    row = dict(values)
    for column in columns:
        if column["name"] in row or column["nullable"] or column["name"] == "id":
            continue
        kind = str(column["type"]).upper()
        row[column["name"]] = (
            1
            if "INT" in kind
            else False
            if "BOOL" in kind
            else "[]"
            if "JSON" in kind
            else date(2026, 1, 5)
            if kind == "DATE"
            else datetime(2026, 1, 5, 9)
            if "DATETIME" in kind or "TIMESTAMP" in kind
            else "x"
        )
    names = ", ".join(row)
    conn.execute(sa.text(f"INSERT INTO {table} ({names}) VALUES ({', '.join(':' + n for n in row)})"), row)
    return conn.execute(sa.text(f"SELECT MAX(id) FROM {table}")).scalar_one()


def test_existing_certifications_get_their_first_version():
    from certification.db import get_engine, session_scope
    from certification.models import CertificationVersion
    from certification.services.referential import ensure_referential

    url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='cqp-0018-')) / 'old.db'}"
    config = alembic_config(url)
    command.upgrade(config, "0012_user_sex")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        sp = _fill(
            conn, "certifications", {"code": "CQP_SP", "title": "CQP Salarié Polyvalent", "registry_code": "RS5286"}
        )
        for position, (code, title) in enumerate(
            [
                ("SP-B1", "Réaliser les activités de production ou de service dans le respect des consignes"),
                ("SP-B2", "Communiquer et travailler en équipe en situation de production"),
                ("SP-B3", "Appliquer les règles d'hygiène, de sécurité et de préservation de l'environnement"),
            ],
            1,
        ):
            _fill(conn, "blocs", {"certification_id": sp, "code": code, "title": title, "position": position})
        user = _fill(conn, "users", {"email": "camille.martin@cqp.test", "role": "officer"})
        structure = _fill(conn, "structures", {"siret": "12345678900011"})
        agrement = _fill(conn, "agrements", {"number": "AGR-1", "structure_id": structure, "certification_id": sp})
        candidate = _fill(
            conn,
            "candidates",
            {
                "certification_id": sp,
                "reference": "CAND-2026-00001",
                "structure_id": structure,
                "agrement_id": agrement,
                "registered_by_id": user,
            },
        )
    command.upgrade(config, "head")
    with engine.connect() as conn:
        version = conn.execute(
            sa.text(
                "SELECT id, label, status, valid_from, registry_kind, registry_code, source FROM certification_versions"
            )
        ).one()
        assert tuple(version)[1:] == ("1", "active", None, "RS", "RS5286", "migration")
        assert conn.execute(sa.text("SELECT DISTINCT version_id FROM blocs")).scalars().all() == [version.id]
        assert (
            conn.execute(
                sa.text("SELECT certification_version_id FROM candidates WHERE id = :c"), {"c": candidate}
            ).scalar_one()
            == version.id
        )
    engine.dispose()

    # The engine's start: the CQP EPSP gets its first version; the CQP SP keeps the migration's content
    # (its record code was set in the database), until the code matches the shipped file's.
    with session_scope(get_engine(url)) as s:
        ensure_referential(s)
    with session_scope(get_engine(url)) as s:
        rows = s.exec(sa.select(CertificationVersion).order_by(CertificationVersion.id)).scalars().all()
        assert [(v.label, v.source, v.registry_code) for v in rows] == [
            ("1", "migration", "RS5286"),
            ("1", "installation", ""),
        ]
        rows[0].content = {**rows[0].content, "registry": {"kind": None, "code": ""}}
        s.add(rows[0])
    with session_scope(get_engine(url)) as s:
        ensure_referential(s)
        sp_version = (
            s.exec(sa.select(CertificationVersion).where(CertificationVersion.certification_id == sp)).scalars().one()
        )
        assert sp_version.source == "installation"
    get_engine(url).dispose()
