"""`cqp check` and the officer's integrity page: a sound installation passes; an altered audit row,
a missing or altered file and a gap in the register of certificate numbers are each named."""

from __future__ import annotations

import html

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import select
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app as cli
from certification.db import session_scope
from certification.models import AuditEvent
from certification.jury.models import Certificate
from documents.models import GeneratedDocument
from flows.jury import advance_jury
from tests.factories import deliberated_session, grant_agrement, make_users, ready_candidates, \
    siret, structure_account
from tests.operations.files import give_pieces_their_files
from tests.web.conftest import PASSWORD, csrf_of


@pytest.fixture
def issued():
    """A granted agrément, a signed jury of three candidates and its certificates and documents."""
    people = make_users()
    grant_agrement(people, 1)
    structure = structure_account(people, siret(1))
    candidates = ready_candidates(structure, 3)
    session_id = deliberated_session(people, candidates)
    advance_jury(session_id)
    give_pieces_their_files()
    return people


def _check() -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["check"])
    return result.exit_code, result.output


def test_a_sound_installation_passes(issued):
    code, output = _check()
    assert code == 0, output
    assert "chaîne intacte" in output and "Aucune anomalie." in output
    with session_scope() as db:
        assert len(db.exec(select(Certificate)).all()) == 3


def test_an_altered_audit_row_is_named(issued, engine):
    with session_scope() as db:
        target = db.exec(select(AuditEvent).where(AuditEvent.entity_type == "certificates")
                        .order_by(AuditEvent.id)).first()
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET actor_label = 'Quelqu''un d''autre' WHERE id = :id"),
                     {"id": target.id})
    code, output = _check()
    assert code == 1
    assert f"ligne d'audit n° {target.id} (certificates n° {target.entity_id})" in output
    assert "chaîne rompue" in output


def test_a_missing_or_altered_file_is_named(issued, settings):
    with session_scope() as db:
        first, second = db.exec(select(GeneratedDocument).order_by(GeneratedDocument.id).limit(2)).all()
    (settings.data_dir / first.relative_path).unlink()
    (settings.data_dir / second.relative_path).write_bytes(b"%PDF-1.7 autre contenu")
    code, output = _check()
    assert code == 1
    assert f"Fichier absent : document n° {first.id}" in output
    assert f"Empreinte SHA-256 différente : document n° {second.id}" in output


def test_a_gap_in_the_register_is_named(issued, engine):
    with session_scope() as db:
        number = db.exec(select(Certificate.number).order_by(Certificate.number)).first()
    short, year, n = number.rsplit("-", 2)
    with engine.begin() as conn:  # the first number vanishes: renumbered past the counter
        conn.execute(text("UPDATE certificates SET number = :new WHERE number = :old"),
                     {"new": f"{short}-{year}-{int(n) + 100:06d}", "old": number})
    code, output = _check()
    assert code == 1
    assert "numéros manquants : 1" in output and "dépasse le compteur" in output


def test_the_officer_page_shows_the_first_broken_link(issued, engine):
    with session_scope() as db:
        target = db.exec(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    app = create_app()
    with TestClient(app, follow_redirects=False) as client:
        page = client.get("/app/login")
        client.post("/app/login", data={"email": issued["officer"]["email"], "password": PASSWORD,
                                        "csrf_token": csrf_of(page.text), "next": "/app/"})
        r = client.get("/app/integrite")
        assert r.status_code == 200 and "Chaîne intacte" in r.text
        with engine.begin() as conn:
            conn.execute(text("UPDATE audit_events SET reason = 'altéré' WHERE id = :id"), {"id": target.id})
        r = client.get("/app/integrite")
        shown = html.unescape(r.text)
        assert "Chaîne rompue" in shown and f"ligne d'audit n° {target.id}" in shown
    with TestClient(app, follow_redirects=False) as client:
        page = client.get("/app/login")
        client.post("/app/login", data={"email": issued["mandataire"]["email"], "password": PASSWORD,
                                        "csrf_token": csrf_of(page.text), "next": "/app/"})
        assert client.get("/app/integrite").status_code == 403
