"""EPSP training and appui endpoints: roles (a formateur sees his own sessions, a structure its own
encadrants and appuis, mandataires and contrôleurs nothing), attestation download, multipart compte
rendu, idempotency, and the agrément prerequisite through the API."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from sqlmodel import select

from certification.clock import today
from certification.db import session_scope
from certification.models import AuditEvent, Role, StructureLink
from flows.training import advance_training_session
from tests.factories import (
    add_structure,
    add_user,
    assign_by_the_officer_only,
    auth,
    siret,
    structure_account,
    structure_id_of,
)
from tests.flows.conftest import pdf_text


@pytest.fixture
def world(people):
    people["formateur2"] = add_user("yann.kerleau@cqp.test", "Yann Kerléau", Role.formateur)
    s1 = add_structure(1, name="Les Jardins de l'Étang")
    s2 = add_structure(2, name="Régie <b>du</b> Quartier")
    structure_account(people, siret(1), "structure1")
    structure_account(people, siret(2), "structure2")
    return people, s1, s2


def _noon(d) -> datetime:
    return datetime.combine(d, time(12), tzinfo=UTC)


def test_training_roles_attendance_outcome_and_attestation(client, world):
    people, s1, s2 = world
    d1, d2 = today() + timedelta(days=7), today() + timedelta(days=8)
    sid, e1, e2 = plan_and_enroll(client, people, s1, s2, [d1, d2])
    check_what_a_structure_reads(client, people, sid, e1)
    first = attend_and_complete(client, people, sid, (d1, e1), (d2, e2))
    check_the_attestation(client, people, sid, s1, (e1, e2), d2, first)


def plan_and_enroll(client, people, s1: int, s2: int, days) -> tuple[int, int, int]:
    """The formateur plans the session (others may not) and enrols one encadrant of each structure."""
    d1, d2 = days
    body = {"days": [d1.isoformat(), d2.isoformat()], "place": "Rennes, salle Bréhat", "hours": "9 h – 17 h"}
    for who in ("mandataire", "controleur", "structure1"):
        assert client.post("/training-sessions", headers=auth(people[who]), json=body).status_code == 403
    assert client.get("/training-sessions", headers=auth(people["mandataire"])).status_code == 403
    assert client.get("/training-sessions", headers=auth(people["controleur"])).status_code == 403
    r = client.post("/training-sessions", headers=auth(people["formateur"]), json=body)
    assert r.status_code == 201, r.text
    t = r.json()
    assert t["state"] == "planned" and t["formateur_name"] == "Océane Perrin"
    assert t["allowed_actions"] == ["reschedule", "start", "cancel", "enroll", "attendance"]
    sid = t["id"]
    r = client.post("/training-sessions", headers=auth(people["officer"]), json=body)
    assert r.status_code == 422 and r.json()["code"] == "formateur_required"

    assert client.get("/training-sessions", headers=auth(people["formateur2"])).json()["items"] == []
    assert client.get(f"/training-sessions/{sid}", headers=auth(people["formateur2"])).status_code == 404
    encadrant = {"structure_id": s1, "last_name": "L'Hôpital", "first_names": "Zoé", "email": "zoe@aci1.example.org"}
    r = client.post(f"/training-sessions/{sid}/enrollments", headers=auth(people["formateur2"]), json=encadrant)
    assert r.status_code == 404
    r = client.post(f"/training-sessions/{sid}/enrollments", headers=auth(people["structure1"]), json=encadrant)
    assert r.status_code == 403
    r = client.post(f"/training-sessions/{sid}/enrollments", headers=auth(people["formateur"]), json=encadrant)
    assert r.status_code == 201, r.text
    e1 = r.json()["enrollments"][0]["id"]
    r = client.post(
        f"/training-sessions/{sid}/enrollments",
        headers=auth(people["officer"]),
        json={**encadrant, "structure_id": s2, "email": "marc@regie.example.org", "last_name": "D'Alembert"},
    )
    assert r.status_code == 201 and r.json()["enrolled"] == 2
    e2 = r.json()["enrollments"][1]["id"]
    r = client.post(f"/training-sessions/{sid}/enrollments", headers=auth(people["formateur"]), json=encadrant)
    assert r.status_code == 409 and r.json()["code"] == "already_enrolled"
    return sid, e1, e2


def check_what_a_structure_reads(client, people, sid: int, e1: int) -> None:
    # A structure reads the session with its own encadrants only, and cannot act.
    mine = client.get(f"/training-sessions/{sid}", headers=auth(people["structure1"])).json()
    assert [e["id"] for e in mine["enrollments"]] == [e1] and mine["allowed_actions"] == []
    assert mine["enrollments"][0]["allowed_actions"] == []
    assert [t["id"] for t in client.get("/training-sessions", headers=auth(people["structure2"])).json()["items"]] == [
        sid
    ]
    encadrants = client.get("/training-sessions/encadrants", headers=auth(people["structure2"])).json()["items"]
    assert [(e["last_name"], e["epsp_trained"]) for e in encadrants] == [("D'Alembert", False)]
    assert client.get("/training-sessions/encadrants", headers=auth(people["mandataire"])).status_code == 403
    assert len(client.get("/training-sessions/encadrants", headers=auth(people["officer"])).json()["items"]) == 2
    assert client.get(f"/training-sessions/{sid}/timeline", headers=auth(people["structure1"])).status_code == 403


def attend_and_complete(client, people, sid: int, day_1, day_2) -> dict:
    """Both present the first day, e2 absent the second: e1 completes (attestation number), e2 does not."""
    (d1, e1), (d2, e2) = day_1, day_2
    with time_machine.travel(_noon(d1), tick=False):
        r = client.post(
            f"/training-sessions/{sid}/attendance",
            headers=auth(people["formateur"]),
            json={"day": d1.isoformat(), "present": {str(e1): True, str(e2): True}},
        )
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "in_progress"
    with time_machine.travel(_noon(d2), tick=False):
        r = client.post(
            f"/training-sessions/{sid}/attendance",
            headers=auth(people["formateur"]),
            json={"day": d2.isoformat(), "present": {str(e1): True, str(e2): False}},
        )
        assert r.status_code == 200
        r = client.post(
            f"/training-sessions/{sid}/enrollments/{e2}/outcome",
            headers=auth(people["formateur"]),
            json={"completed": True},
        )
        assert r.status_code == 409 and "présence à chaque journée" in r.json()["detail"]
        r = client.post(
            f"/training-sessions/{sid}/enrollments/{e2}/outcome",
            headers=auth(people["formateur"]),
            json={"completed": False, "reason": "Absent le second jour"},
        )
        assert r.status_code == 200
        r = client.post(
            f"/training-sessions/{sid}/enrollments/{e1}/outcome",
            headers=auth(people["formateur"]),
            json={"completed": True},
        )
        assert r.status_code == 200
        first = next(e for e in r.json()["enrollments"] if e["id"] == e1)
        assert first["state"] == "completed" and first["attestation_number"].startswith("AF-EPSP-")
        assert first["attendance"] == [
            {"day": d1.isoformat(), "present": True},
            {"day": d2.isoformat(), "present": True},
        ]
        r = client.post(f"/training-sessions/{sid}/close", headers=auth(people["formateur"]), json={})
        assert r.status_code == 200 and r.json()["state"] == "closed"
    return first


def check_the_attestation(client, people, sid: int, s1: int, enrollments, d2, first: dict) -> None:
    """The flow generates e1's attestation, read by his structure and the officer only."""
    e1, e2 = enrollments
    assert advance_training_session(sid).documents == ["attestation_formation_epsp-v1"]
    read = client.get(f"/training-sessions/{sid}", headers=auth(people["structure1"])).json()
    url = read["enrollments"][0]["attestation"]["url"]
    assert url.startswith(f"/training-sessions/{sid}/enrollments/{e1}/documents/")
    r = client.get(url, headers=auth(people["structure1"]))
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    text = pdf_text(r.content)
    assert "Zoé L'Hôpital" in text and "Les Jardins de l'Étang" in text and first["attestation_number"] in text
    assert client.get(url, headers=auth(people["structure2"])).status_code == 404
    assert client.get(url, headers=auth(people["formateur2"])).status_code == 404
    assert client.get(url, headers=auth(people["officer"])).status_code == 200
    other = url.replace(f"/enrollments/{e1}/", f"/enrollments/{e2}/")  # the document is not e2's
    assert client.get(other, headers=auth(people["officer"])).status_code == 404
    encadrants = client.get("/training-sessions/encadrants", headers=auth(people["structure1"])).json()["items"]
    assert [(e["first_names"], e["epsp_trained"], e["epsp_trained_on"]) for e in encadrants] == [
        ("Zoé", True, d2.isoformat())
    ]
    actions = [
        e["action"]
        for e in client.get(
            f"/training-sessions/{sid}/enrollments/{e1}/timeline", headers=auth(people["structure1"])
        ).json()["items"]
    ]
    # (the completion was recorded at a travelled time, later than the flow's events)
    # the registration owed the convocation, the completion the attestation and its e-mail
    assert sorted(actions) == sorted(["register", "complete", "document_generated", "mail_queued", "mail_queued"])
    with session_scope() as db:
        link = db.exec(select(StructureLink).where(StructureLink.user_id == people["formateur"]["id"])).one()
        assert (link.structure_id, link.kind) == (s1, "formateur")


def test_agrement_admissible_with_an_epsp_trained_encadrant_instead_of_the_piece(client, people, submit, pdf_bytes):
    r = submit(3, files=[("dossier", ("dossier.pdf", pdf_bytes, "application/pdf"))])
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    r = client.post(f"/agrement-requests/{rid}/admissible", headers=auth(people["officer"]), json={})
    assert r.status_code == 409 and "attestation de formation EPSP" in r.json()["detail"]
    from tests.factories import completed_training

    completed_training(people, structure_id_of(3))
    r = client.post(f"/agrement-requests/{rid}/admissible", headers=auth(people["officer"]), json={})
    assert r.status_code == 200 and r.json()["state"] == "under_review"


def test_appuis_roles_report_upload_and_idempotency(client, world, pdf_bytes):
    people, s1, s2 = world
    body = {"subject": "Évaluation des blocs", "need": "Aider nos encadrants à évaluer en situation de production."}
    assert client.post("/appuis", headers=auth(people["mandataire"]), json=body).status_code == 403
    assert client.post("/appuis", headers=auth(people["formateur"]), json=body).status_code == 403
    key = {"Idempotency-Key": "appui-2026-001"}
    r = client.post("/appuis", headers={**auth(people["structure1"]), **key}, json=body)
    assert r.status_code == 201, r.text
    a = r.json()
    assert a["state"] == "requested" and a["structure_id"] == s1 and a["allowed_actions"] == ["cancel"]
    again = client.post("/appuis", headers={**auth(people["structure1"]), **key}, json=body)
    assert again.json()["id"] == a["id"] and again.headers.get("Idempotent-Replayed") == "true"
    r = client.post("/appuis", headers=auth(people["officer"]), json=body)
    assert r.status_code == 422 and r.json()["code"] == "structure_required"
    aid = a["id"]

    assert client.get("/appuis", headers=auth(people["controleur"])).status_code == 403
    assert client.get("/appuis", headers=auth(people["structure2"])).json()["items"] == []
    assert client.get(f"/appuis/{aid}", headers=auth(people["structure2"])).status_code == 404
    assert client.get(f"/appuis/{aid}", headers=auth(people["formateur"])).status_code == 404
    assigned = assign_by_the_officer_only(
        client, people, f"/appuis/{aid}", "structure1", formateur_id=people["formateur"]["id"]
    )
    assert assigned["formateur_name"] == "Océane Perrin"
    assert client.get(f"/appuis/{aid}", headers=auth(people["structure1"])).json()["allowed_actions"] == []
    assert [x["id"] for x in client.get("/appuis", headers=auth(people["formateur"])).json()["items"]] == [aid]
    assert client.get(f"/appuis/{aid}", headers=auth(people["formateur2"])).status_code == 404

    visit_at = datetime.now(UTC) + timedelta(days=5)
    visit = {"visit_at": visit_at.isoformat(), "place": "Atelier de l'Étang"}
    assert client.post(f"/appuis/{aid}/visit", headers=auth(people["formateur2"]), json=visit).status_code == 404
    r = client.post(f"/appuis/{aid}/visit", headers=auth(people["formateur"]), json=visit)
    assert r.status_code == 200 and r.json()["state"] == "scheduled"
    parts = {
        "data": {"metadata": json.dumps({"text": "Grille d'évaluation remise."})},
        "files": [("compte_rendu", ("compte rendu.pdf", pdf_bytes, "application/pdf"))],
    }
    r = client.post(f"/appuis/{aid}/report", headers=auth(people["formateur"]), **parts)
    assert r.status_code == 409 and "après la visite" in r.json()["detail"]
    with time_machine.travel(visit_at + timedelta(hours=4)):
        r = client.post(f"/appuis/{aid}/report", headers=auth(people["officer"]), **parts)
        assert r.status_code == 403
        bad = {"data": parts["data"], "files": [("compte_rendu", ("cr.pdf", b"not a pdf", "application/pdf"))]}
        assert client.post(f"/appuis/{aid}/report", headers=auth(people["formateur"]), **bad).status_code in (415, 422)
        r = client.post(f"/appuis/{aid}/report", headers=auth(people["formateur"]), **parts)
    assert r.status_code == 200, r.text
    out = r.json()
    assert (
        out["state"] == "reported" and out["reported_at"] and out["report_file"]["original_name"] == "compte rendu.pdf"
    )
    r = client.get(f"/appuis/{aid}/file", headers=auth(people["structure1"]))
    assert r.status_code == 200 and r.content == pdf_bytes
    assert client.get(f"/appuis/{aid}/file", headers=auth(people["structure2"])).status_code == 404
    timeline = client.get(f"/appuis/{aid}/timeline", headers=auth(people["officer"])).json()["items"]
    actions = [e["action"] for e in timeline]
    assert sorted(actions) == sorted(["request", "assign", "schedule_visit", "report"])
    with session_scope() as db:
        events = db.exec(select(AuditEvent).where(AuditEvent.entity_type == "appuis")).all()
        assert {e.actor_role for e in events} == {"structure", "officer", "formateur"}


def test_structure_cancels_its_request(client, world):
    people, s1, _ = world
    r = client.post(
        "/appuis",
        headers=auth(people["officer"]),
        json={"subject": "Tutorat", "need": "Former un tuteur", "structure_id": s1},
    )
    aid = r.json()["id"]
    r = client.post(f"/appuis/{aid}/cancel", headers=auth(people["structure2"]), json={"reason": "x"})
    assert r.status_code == 404
    r = client.post(f"/appuis/{aid}/cancel", headers=auth(people["structure1"]), json={"reason": "Besoin couvert"})
    assert r.status_code == 200 and r.json()["state"] == "cancelled" and r.json()["cancel_reason"] == "Besoin couvert"
