"""Contrôle endpoints: roles, conflict of interest (409 + trace), report upload, decision, evidence."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlmodel import select

from certification.controle.models import Controle
from certification.db import session_scope
from certification.models import AuditEvent, Role, Structure
from tests.factories import add_user, assign_by_the_officer_only, auth, grant_agrement

FINDINGS = [{"criterion": "Encadrement formé", "status": "conforme", "comment": "RAS"}]


@pytest.fixture
def agrement_id(people):
    people["controleur2"] = add_user("bruno.lemaitre@cqp.test", "Bruno Lemaître", Role.controleur)
    return grant_agrement(people)


def plan(client, people, agrement_id) -> dict:
    r = client.post("/controles", headers=auth(people["officer"]),
                    json={"agrement_id": agrement_id, "reason": "Signalement"})
    assert r.status_code == 201, r.text
    return r.json()


def test_roles_on_controles(client, people, agrement_id):
    r = client.post("/controles", headers=auth(people["controleur"]),
                    json={"agrement_id": agrement_id, "reason": "x"})
    assert r.status_code == 403
    c = plan(client, people, agrement_id)
    assert c["state"] == "planned" and c["allowed_actions"] == ["assign", "cancel"]
    assert client.get("/controles", headers=auth(people["mandataire"])).status_code == 403
    assert client.get("/controles", headers=auth(people["controleur"])).json()["items"] == []
    assert client.get(f"/controles/{c['id']}", headers=auth(people["controleur"])).status_code == 404
    assigned = assign_by_the_officer_only(client, people, f"/controles/{c['id']}", "controleur",
                                          controleur_id=people["controleur"]["id"])
    assert assigned["controleur_name"] == "Gaëlle Le Goff"
    mine = client.get("/controles", headers=auth(people["controleur"])).json()["items"]
    assert [m["id"] for m in mine] == [c["id"]]
    assert client.get(f"/controles/{c['id']}", headers=auth(people["controleur2"])).status_code == 404
    visit = {"visit_at": (datetime.now(UTC) + timedelta(days=7)).isoformat(), "place": "Atelier"}
    r = client.post(f"/controles/{c['id']}/visit", headers=auth(people["controleur2"]), json=visit)
    assert r.status_code == 404


def test_conflict_of_interest_gives_409_and_is_traced(client, people, agrement_id):
    c = plan(client, people, agrement_id)
    with session_scope() as db:
        structure_id = db.exec(select(Structure.id)).one()
    r = client.post(f"/structures/{structure_id}/links", headers=auth(people["officer"]),
                    json={"user_id": people["controleur"]["id"], "kind": "formateur",
                          "reason": "A formé les encadrants à l'EPSP en 2025"})
    assert r.status_code == 201
    r = client.post(f"/controles/{c['id']}/assign", headers=auth(people["officer"]),
                    json={"controleur_id": people["controleur"]["id"]})
    assert r.status_code == 409 and r.json()["code"] == "conflict_of_interest"
    assert "formé le personnel" in r.json()["detail"]
    with session_scope() as db:
        refusal = db.exec(select(AuditEvent).where(AuditEvent.action == "assign_refused")).one()
        assert refusal.entity_id == c["id"] and refusal.actor_role == "officer"
        assert db.get(Controle, c["id"]).state == "planned"
    links = client.get(f"/structures/{structure_id}/links", headers=auth(people["officer"])).json()["items"]
    assert {link["kind"] for link in links} == {"mandataire", "formateur"}
    assert client.get(f"/structures/{structure_id}/links", headers=auth(people["controleur"])).status_code == 403


def test_report_decision_and_evidence(client, people, agrement_id, pdf_bytes):
    c = plan(client, people, agrement_id)
    cid = c["id"]
    client.post(f"/controles/{cid}/assign", headers=auth(people["officer"]),
                json={"controleur_id": people["controleur"]["id"]})
    visit_at = datetime.now(UTC) + timedelta(days=3)
    r = client.post(f"/controles/{cid}/visit", headers=auth(people["controleur"]),
                    json={"visit_at": visit_at.isoformat(), "place": "Chantier de l'Étang"})
    assert r.status_code == 200 and r.json()["state"] == "visit_scheduled"
    r = client.post(f"/controles/{cid}/visit", headers=auth(people["controleur"]),
                    json={"visit_at": "2027-01-12T09:30:00", "place": "x"})
    assert r.status_code == 422 and r.json()["code"] == "naive_datetime"

    report = {"data": {"metadata": json.dumps({"findings": FINDINGS, "summary": "Structure conforme."})},
              "files": [("rapport", ("rapport signé.pdf", pdf_bytes, "application/pdf"))]}
    r = client.post(f"/controles/{cid}/report", headers=auth(people["controleur"]), **report)
    assert r.status_code == 409 and "après la visite" in r.json()["detail"]
    with time_machine.travel(visit_at + timedelta(hours=4)):
        r = client.post(f"/controles/{cid}/report", headers=auth(people["controleur"]), **report)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "report_submitted" and r.json()["files"][0]["original_name"] == "rapport signé.pdf"

    deadline = (datetime.now(UTC) + timedelta(days=60)).date().isoformat()
    r = client.post(f"/controles/{cid}/decision", headers=auth(people["officer"]),
                    json={"decision": "action_plan", "reason": "Livrets incomplets",
                          "action_plan_items": "Compléter les livrets", "action_plan_deadline": deadline})
    assert r.status_code == 200 and r.json()["state"] == "action_plan"

    with session_scope() as db:
        siret = db.exec(select(Structure.siret)).one()
    client.post("/users", headers=auth(people["officer"]), json={
        "email": "direction@aci.example.org", "full_name": "Direction", "role": "structure",
        "password": "structure-2026", "structure_siret": siret})
    token = client.post("/auth/token", json={"email": "direction@aci.example.org", "password": "structure-2026"})
    structure = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert client.get(f"/controles/{cid}", headers=structure).json()["allowed_actions"] == ["evidence"]
    r = client.post(f"/controles/{cid}/evidence", headers=structure,
                    data={"metadata": json.dumps({"comment": "Livrets complétés"})},
                    files=[("evidence", ("livrets.pdf", pdf_bytes, "application/pdf"))])
    assert r.status_code == 200, r.text
    r = client.post(f"/controles/{cid}/close-action-plan", headers=structure, json={})
    assert r.status_code == 403
    r = client.post(f"/controles/{cid}/close-action-plan", headers=auth(people["officer"]), json={"comment": "OK"})
    assert r.status_code == 200 and r.json()["state"] == "closed"
    timeline = client.get(f"/controles/{cid}/timeline", headers=auth(people["officer"])).json()["items"]
    actions = [e["action"] for e in timeline]
    # (the report was filed at a travelled time, later than the real-time steps after it)
    assert sorted(actions) == sorted(["plan", "assign", "schedule_visit", "submit_report", "require_action_plan",
                                      "add_evidence", "close_action_plan"])


def test_sampling_endpoint(client, people, agrement_id):
    r = client.post("/controles/sample", headers=auth(people["officer"]), json={"count": 3, "seed": 7})
    assert r.status_code == 201 and [c["kind"] for c in r.json()] == ["sampled"]
    assert client.post("/controles/sample", headers=auth(people["officer"]), json={"count": 0}).status_code == 422
