"""Versions of a référentiel: preview, loading (idempotent), activation on a date (atomic, audited,
officers only), the version a candidate is registered on."""

from __future__ import annotations

from datetime import date, datetime, timedelta, UTC

import pytest
import time_machine
from sqlmodel import select

from certification.audit import timeline
from certification.clock import today
from certification.db import session_scope
from certification.errors import Conflict, Forbidden, ValidationFailed
from certification.models import AuditEvent, Bloc, Certification, CertificationVersion
from certification.candidates.models import Candidate
from certification.referentiel import service
from certification.referentiel.schema import parse
from certification.referentiel.service import read_file, shipped_files
from certification.services.referential import blocs_of, ensure_referential, get_certification
from tests.factories import grant_agrement, register_sp, siret, structure_account


def _versions(code: str = "CQP_SP") -> list[tuple[str, str, date | None, date | None]]:
    with session_scope() as db:
        cert = get_certification(db, code)
        return [(v.label, v.status, v.valid_from, v.valid_until) for v in service.versions_of(db, cert.id)]


def test_initial_versions_created_once_with_their_blocs(people):
    with session_scope() as db:
        ensure_referential(db)  # again: nothing more
    assert _versions() == [("1", "active", None, None)]
    assert _versions("CQP_EPSP") == [("1", "active", None, None)]
    with session_scope() as db:
        cert = get_certification(db, "CQP_SP")
        version = service.version_in_force(db, cert.id)
        assert (version.label, version.source, version.title) == ("1", "installation", "CQP Salarié Polyvalent")
        assert version.content_hash == read_file(shipped_files()[1]).content_hash()
        assert [b.code for b in blocs_of(db, cert.id)] == ["SP-B1", "SP-B2", "SP-B3"]
        assert all(b.version_id == version.id for b in blocs_of(db, cert.id))
        # the draft « Socle » is shipped, never loaded by the engine's start
        assert db.exec(select(CertificationVersion).where(CertificationVersion.label == "2")).first() is None


def test_preview_writes_nothing_and_tells_the_changes(people, v2_text):
    officer = people["officer"]["actor"]
    text = v2_text.replace(
        "  - code: SP-B3\n    title: Appliquer les règles d'hygiène, de sécurité et de "
        "préservation de l'environnement\n",
        "  - code: SP-B4\n    title: Nouveau bloc\n",
    )
    with session_scope() as db:
        found = service.preview(db, officer, parse(text.encode(), "CQP_SP-2.yaml"))
    assert (found.compared_with, found.same_as, found.label_taken, found.new_certification) == ("1", None, False, False)
    assert (found.blocs_added, found.blocs_removed) == (["SP-B4"], ["SP-B3"])
    assert found.blocs_renamed == [
        {
            "code": "SP-B1",
            "from": "Réaliser les activités de production ou de service dans le respect des consignes",
            "to": "Réaliser les activités de production ou de service",
        }
    ]
    assert found.blocs_content_changed == ["SP-B1"]
    assert found.rule_changed == {"from": ["SP-B1", "SP-B2", "SP-B3"], "to": ["SP-B1", "SP-B2"]}
    assert found.registry_changed == {"from": {"kind": None, "code": ""}, "to": {"kind": "RS", "code": "RS9999"}}
    assert found.can_activate
    lines = service.describe(found)
    assert "  bloc ajouté : SP-B4" in lines and "  bloc retiré : SP-B3" in lines
    assert "  fiche : — (sans numéro) → RS RS9999" in lines
    assert _versions() == [("1", "active", None, None)]
    with session_scope() as db:
        assert db.exec(select(AuditEvent).where(AuditEvent.entity_type == "certifications")).first() is None
        with pytest.raises(Forbidden):
            service.preview(db, people["mandataire"]["actor"], parse(text.encode(), "f.yaml"))


def test_load_is_a_draft_and_reloading_the_same_content_changes_nothing(people, v2_text):
    officer = people["officer"]["actor"]
    model = parse(v2_text.encode(), "CQP_SP-2.yaml")
    with session_scope() as db:
        version, created = service.load_version(db, officer, model, source="CQP_SP-2.yaml", reason="Rénovation")
        assert created and version.status == "draft"
        assert [b.code for b in service.blocs_of_version(db, version.id)] == ["SP-B1", "SP-B2", "SP-B3"]
        cert_id = version.certification_id
        # the blocs in force stay those of version 1
        assert blocs_of(db, cert_id)[0].title.endswith("dans le respect des consignes")
    with session_scope() as db:
        again, created = service.load_version(db, officer, model, source="copie.yaml")
        assert not created and again.label == "2"
        assert service.preview(db, officer, model).same_as == "2"
    with session_scope() as db:
        events = [(e.action, e.to_state, e.actor_role, e.reason) for e in timeline(db, "certifications", cert_id)]
    assert events == [("load_version", "2", "officer", "Rénovation")]
    other = parse(v2_text.replace("RS9999", "RS9998").encode(), "CQP_SP-2b.yaml")
    with session_scope() as db, pytest.raises(Conflict, match="existe déjà avec un autre contenu"):
        service.load_version(db, officer, other, source="CQP_SP-2b.yaml")
    with session_scope() as db, pytest.raises(Forbidden):
        service.load_version(db, people["formateur"]["actor"], model, source="x.yaml")


def test_activation_on_a_date_ends_the_previous_version_and_is_audited(people, v2_text):
    officer = people["officer"]["actor"]
    start = today() + timedelta(days=10)
    with session_scope() as db:
        service.load_version(db, officer, parse(v2_text.encode(), "CQP_SP-2.yaml"), source="CQP_SP-2.yaml")
    with session_scope() as db:
        with pytest.raises(ValidationFailed, match="ne peut pas être passée"):
            service.activate_version(db, officer, "CQP_SP", "2", on=today() - timedelta(days=1))
        with pytest.raises(ValidationFailed, match="Date d'entrée en vigueur obligatoire"):
            service.activate_version(db, officer, "CQP_SP", "2")
        with pytest.raises(Forbidden):
            service.activate_version(db, people["mandataire"]["actor"], "CQP_SP", "2", on=start)
    with session_scope() as db:
        version = service.activate_version(db, officer, "CQP_SP", "2", on=start, reason="Arrêté du 1er mars")
        assert service.state_of(db, version) == "programmée"
        assert service.activate_version(db, officer, "CQP_SP", "2", on=start) is version  # same date: nothing
    assert _versions() == [("1", "active", None, start - timedelta(days=1)), ("2", "active", start, None)]
    with session_scope() as db:
        cert = get_certification(db, "CQP_SP")
        assert service.version_in_force(db, cert.id).label == "1"
        assert service.version_in_force(db, cert.id, start).label == "2"
        event = timeline(db, "certifications", cert.id)[-1]
        assert (event.action, event.from_state, event.to_state, event.actor_role, event.actor_id, event.reason) == (
            "activate_version",
            "1",
            "2",
            "officer",
            officer.user_id,
            "Arrêté du 1er mars",
        )
        assert event.data["valid_from"] == start.isoformat()
        assert event.data["previous_until"] == (start - timedelta(days=1)).isoformat()
        with pytest.raises(Conflict, match="déjà active"):
            service.activate_version(db, officer, "CQP_SP", "2", on=start + timedelta(days=1))


def test_activation_is_atomic(people, v2_text, monkeypatch):
    officer = people["officer"]["actor"]
    with session_scope() as db:
        service.load_version(db, officer, parse(v2_text.encode(), "CQP_SP-2.yaml"), source="CQP_SP-2.yaml")

    def broken(*args, **kwargs):
        raise RuntimeError("panne au milieu de l'activation")

    monkeypatch.setattr(service, "record_event", broken)  # after the rows were changed and flushed
    with pytest.raises(RuntimeError), session_scope() as db:
        service.activate_version(db, officer, "CQP_SP", "2", on=today())
    assert _versions() == [("1", "active", None, None), ("2", "draft", None, None)]
    with session_scope() as db:
        assert db.exec(select(AuditEvent).where(AuditEvent.action == "activate_version")).first() is None


def test_the_socle_draft_loads_but_cannot_be_activated(people):
    officer = people["officer"]["actor"]
    socle = read_file(next(p for p in shipped_files() if "socle" in p.name))
    with session_scope() as db:
        version, created = service.load_version(db, officer, socle, source="CQP_SP-2-socle.yaml")
        assert created and (version.title, version.registry_kind, version.registry_code) == (
            "Socle de compétences transversales pour l'employabilité",
            "RS",
            "",
        )
    with session_scope() as db, pytest.raises(Conflict, match="contenu à compléter par le certificateur") as caught:
        service.activate_version(db, officer, "CQP_SP", "2", on=today())
    assert caught.value.code == "version_incomplete"
    assert _versions() == [("1", "active", None, None), ("2", "draft", None, None)]


def test_a_candidate_records_the_version_in_force_at_registration(people, v2_text):

    grant_agrement(people, 1)
    structure = structure_account(people, siret(1))
    officer = people["officer"]["actor"]

    def register(n: int) -> Candidate:
        with session_scope() as db:
            c = register_sp(db, structure["actor"], f"Nguyen {n}", "Zoé", date(1990, 1, n))
            version = db.get(CertificationVersion, c.certification_version_id)
            return c.id, version.label, c.blocs

    start = today() + timedelta(days=3)
    with session_scope() as db:
        service.load_version(
            db, officer, parse(v2_text.encode(), "CQP_SP-2.yaml"), source="CQP_SP-2.yaml", activate_on=start
        )
    before_id, label, blocs = register(1)
    assert (label, blocs) == ("1", ["SP-B1", "SP-B2", "SP-B3"])
    with time_machine.travel(datetime.combine(start, datetime.min.time(), UTC) + timedelta(hours=9), tick=False):
        after_id, label, _ = register(2)
        assert label == "2"
        with session_scope() as db:
            assert blocs_of(db, get_certification(db, "CQP_SP").id)[0].title == (
                "Réaliser les activités de production ou de service"
            )
            assert (
                db.get(Candidate, before_id).certification_version_id
                != db.get(Candidate, after_id).certification_version_id
            )
            assert db.get(CertificationVersion, db.get(Candidate, before_id).certification_version_id).label == "1"
            event = timeline(db, "candidates", after_id)[0]
            assert event.data["version"] == "2"


def test_no_version_in_force_refuses_registration(people):

    grant_agrement(people, 1)
    structure = structure_account(people, siret(1))
    with session_scope() as db:
        cert = db.exec(select(Certification).where(Certification.code == "CQP_SP")).one()
        for v in service.versions_of(db, cert.id):
            v.valid_until = today() - timedelta(days=1)
            db.add(v)
    with (
        session_scope() as db,
        pytest.raises(Conflict, match="Aucune version du référentiel du CQP Salarié Polyvalent"),
    ):
        register_sp(db, structure["actor"], "Roux", "Léa", date(1991, 2, 3))
    with session_scope() as db:  # the blocs stay those of the latest version started
        assert [b.code for b in blocs_of(db, cert.id)] == ["SP-B1", "SP-B2", "SP-B3"]
        assert db.exec(select(Bloc)).first() is not None


def test_two_officers_activating_at_once_make_one_activation(people, v2_text, monkeypatch):
    """The certification's row is locked: the second activation waits, then finds the version active
    on that date and changes nothing (PostgreSQL; SQLite writes one transaction at a time anyway)."""
    import threading
    import time

    from certification.db import get_engine, is_postgres

    if not is_postgres(get_engine()):
        pytest.skip("row locks: PostgreSQL")
    officer = people["officer"]["actor"]
    with session_scope() as db:
        service.load_version(db, officer, parse(v2_text.encode(), "CQP_SP-2.yaml"), source="CQP_SP-2.yaml")
    record = service.record_event

    def slow(*args, **kwargs):
        time.sleep(0.5)  # the first activation holds the lock meanwhile
        return record(*args, **kwargs)

    monkeypatch.setattr(service, "record_event", slow)
    errors: list[BaseException] = []

    def activate() -> None:
        try:
            with session_scope() as db:
                service.activate_version(db, officer, "CQP_SP", "2", on=today())
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=activate) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    with session_scope() as db:
        assert len(db.exec(select(AuditEvent).where(AuditEvent.action == "activate_version")).all()) == 1
    assert _versions() == [("1", "active", None, today() - timedelta(days=1)), ("2", "active", today(), None)]
