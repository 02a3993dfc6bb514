"""The agrément API: the officer's decisions, the renewal request, roles and visibility."""

from __future__ import annotations

import hashlib
import json
from datetime import date

import pytest
from sqlmodel import select

from certification.db import session_scope
from certification.models import Role
from certification.agrement.models import Agrement, AgrementRequest, Piece
from certification.services.users import create_user, issue_token
from flows import dispatch
from tests.factories import grant_agrement
from tests.factories import auth

DECISIONS = ("suspend", "reinstate", "withdraw")


@pytest.fixture
def agrement_id(people):
    return grant_agrement(people, start=date(2026, 1, 1), end=date(2028, 12, 31))


@pytest.fixture
def triggered(monkeypatch):
    """The flows the API asked for, instead of running them."""
    calls: list[tuple[str, int]] = []

    async def agrement_changed(agrement_id: int) -> None:
        calls.append(("agrement", agrement_id))

    async def agrement_request_changed(request_id: int) -> None:
        calls.append(("agrement_request", request_id))

    monkeypatch.setattr(dispatch, "agrement_changed", agrement_changed)
    monkeypatch.setattr(dispatch, "agrement_request_changed", agrement_request_changed)
    return calls


@pytest.fixture
def structure_user(people, agrement_id):
    with session_scope() as db:
        agrement = db.get(Agrement, agrement_id)
        user = create_user(
            db,
            email="direction@aci1.example.org",
            full_name="Direction ACI",
            role=Role.structure,
            password="structure-2026",
            structure_id=agrement.structure_id,
        )
        return {"token": issue_token(db, user)}


def post(client, people, who, agrement_id, action, reason="Grilles d'évaluation absentes.", headers=None):
    body = {} if reason is None else {"reason": reason}
    return client.post(
        f"/agrements/{agrement_id}/{action}", json=body, headers={**auth(people[who]), **(headers or {})}
    )


def test_officer_suspends_reinstates_then_withdraws(client, people, agrement_id, triggered):
    r = post(client, people, "officer", agrement_id, "suspend", reason="  Grilles absentes.  ")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["state"], body["state_label"]) == ("suspended", "suspendu")
    assert body["allowed_actions"] == ["reinstate", "withdraw"] and body["registration_allowed"] is False
    assert triggered == [("agrement", agrement_id)]

    r = post(client, people, "officer", agrement_id, "reinstate", reason="Plan d'actions réalisé.")
    assert r.json()["state"] == "active" and r.json()["registration_allowed"] is True
    assert r.json()["allowed_actions"] == ["suspend", "withdraw"]
    r = post(client, people, "officer", agrement_id, "withdraw", reason="Manquements répétés.")
    assert r.json()["state"] == "withdrawn" and r.json()["allowed_actions"] == []

    timeline = client.get(f"/agrements/{agrement_id}/timeline", headers=auth(people["officer"])).json()["items"]
    assert [(e["action"], e["reason"]) for e in timeline[1:]] == [
        ("suspend", "Grilles absentes."),
        ("reinstate", "Plan d'actions réalisé."),
        ("withdraw", "Manquements répétés."),
    ]
    assert timeline[1]["actor_label"] == "Camille Martin"
    r = post(client, people, "officer", agrement_id, "reinstate")
    assert r.status_code == 409 and r.json()["code"] == "invalid_transition"


@pytest.mark.parametrize("action", DECISIONS)
@pytest.mark.parametrize("who", ["mandataire", "other_mandataire", "controleur", "formateur"])
def test_decisions_are_for_the_officer_only(client, people, agrement_id, action, who):
    r = post(client, people, who, agrement_id, action)
    assert r.status_code == 403, r.text
    assert r.json()["code"] == "role_not_allowed"


def test_decisions_need_authentication_and_a_known_agrement(client, people, agrement_id, structure_user):
    for action in DECISIONS:
        assert client.post(f"/agrements/{agrement_id}/{action}", json={"reason": "x"}).status_code == 401
        r = client.post(
            f"/agrements/{agrement_id}/{action}",
            json={"reason": "x"},
            headers={"Authorization": f"Bearer {structure_user['token']}"},
        )
        assert r.status_code == 403
        assert post(client, people, "officer", 9999, action).status_code == 404
    with session_scope() as db:
        assert db.get(Agrement, agrement_id).state == "active"


@pytest.mark.parametrize("action", DECISIONS)
@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}, {"reason": "x", "extra": 1}])
def test_a_reason_is_required(client, people, agrement_id, action, body):
    r = client.post(f"/agrements/{agrement_id}/{action}", json=body, headers=auth(people["officer"]))
    assert r.status_code == 422, r.text


def test_a_repeated_decision_is_replayed_not_reapplied(client, people, agrement_id, triggered):
    key = {"Idempotency-Key": "suspension-aci1"}
    first = post(client, people, "officer", agrement_id, "suspend", headers=key)
    again = post(client, people, "officer", agrement_id, "suspend", headers=key)
    assert first.status_code == again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true" and again.json() == first.json()
    timeline = client.get(f"/agrements/{agrement_id}/timeline", headers=auth(people["officer"])).json()["items"]
    assert [e["action"] for e in timeline] == ["create", "suspend"]
    assert triggered == [("agrement", agrement_id)]


def test_read_shows_actions_per_role_and_hides_other_mandataires(client, people, agrement_id, structure_user):
    officer = client.get(f"/agrements/{agrement_id}", headers=auth(people["officer"])).json()
    assert officer["allowed_actions"] == ["suspend", "withdraw"]
    assert officer["structure_name"].startswith("Chantier d'insertion n°1")
    assert officer["certification_title"] == "CQP Salarié Polyvalent" and officer["registration_allowed"] is True
    mine = client.get(f"/agrements/{agrement_id}", headers=auth(people["mandataire"])).json()
    assert mine["allowed_actions"] == ["renewal"]
    structure = client.get(f"/agrements/{agrement_id}", headers={"Authorization": f"Bearer {structure_user['token']}"})
    assert structure.status_code == 200 and structure.json()["allowed_actions"] == []
    for path in (f"/agrements/{agrement_id}", f"/agrements/{agrement_id}/timeline"):
        assert client.get(path, headers=auth(people["other_mandataire"])).status_code == 404
    assert client.get("/agrements", headers=auth(people["other_mandataire"])).json()["items"] == []


# --- renewal -------------------------------------------------------------------------------


def test_mandataire_requests_the_renewal_with_new_pieces(client, people, agrement_id, pdf_bytes, triggered, settings):
    r = client.post(
        f"/agrements/{agrement_id}/renewal",
        headers=auth(people["mandataire"]),
        data={"metadata": json.dumps({"motivation": "Poursuivre la qualification des salariés."})},
        files=[("programme", ("programme 2029.pdf", pdf_bytes, "application/pdf"))],
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["kind"], body["state"], body["motivation"]) == (
        "renewal",
        "submitted",
        "Poursuivre la qualification des salariés.",
    )
    assert [p["kind"] for p in body["pieces"]] == ["dossier", "attestation_epsp", "programme"]
    assert all(p["round"] == 1 for p in body["pieces"])
    assert body["pieces"][-1]["sha256"] == hashlib.sha256(pdf_bytes).hexdigest()
    assert triggered == [("agrement_request", body["id"])]
    with session_scope() as db:
        piece = db.exec(select(Piece).where(Piece.kind == "programme")).one()
        assert db.get(AgrementRequest, body["id"]).previous_agrement_id == agrement_id
    assert (settings.data_dir / piece.relative_path).read_bytes() == pdf_bytes

    detail = client.get(f"/agrements/{agrement_id}", headers=auth(people["mandataire"])).json()
    assert detail["renewal_request_id"] == body["id"] and detail["allowed_actions"] == []
    again = client.post(f"/agrements/{agrement_id}/renewal", headers=auth(people["mandataire"]))
    assert again.status_code == 409 and again.json()["code"] == "renewal_already_open"


def test_renewal_without_body_reuses_the_previous_pieces(client, people, agrement_id):
    r = client.post(f"/agrements/{agrement_id}/renewal", headers=auth(people["mandataire"]))
    assert r.status_code == 201, r.text
    assert [p["kind"] for p in r.json()["pieces"]] == ["dossier", "attestation_epsp"]


def test_renewal_roles_and_visibility(client, people, agrement_id, pdf_bytes, structure_user):
    files = [("programme", ("programme.pdf", pdf_bytes, "application/pdf"))]
    for who in ("officer", "controleur", "formateur"):
        r = client.post(f"/agrements/{agrement_id}/renewal", headers=auth(people[who]), files=files)
        assert r.status_code == 403, who
    r = client.post(
        f"/agrements/{agrement_id}/renewal", headers={"Authorization": f"Bearer {structure_user['token']}"}, files=files
    )
    assert r.status_code == 403
    r = client.post(f"/agrements/{agrement_id}/renewal", headers=auth(people["other_mandataire"]), files=files)
    assert r.status_code == 404 and r.json()["code"] == "agrement_not_found"
    assert client.post("/agrements/9999/renewal", headers=auth(people["mandataire"])).status_code == 404
    with session_scope() as db:
        assert db.exec(select(AgrementRequest).where(AgrementRequest.kind == "renewal")).all() == []


def test_renewal_bad_input(client, people, agrement_id):
    headers = auth(people["mandataire"])
    r = client.post(f"/agrements/{agrement_id}/renewal", headers=headers, data={"metadata": '{"motivation": 3'})
    assert r.status_code == 400 and r.json()["code"] == "malformed_json"
    r = client.post(f"/agrements/{agrement_id}/renewal", headers=headers, data={"metadata": '{"scope": []}'})
    assert r.status_code == 422
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 100
    r = client.post(
        f"/agrements/{agrement_id}/renewal",
        headers=headers,
        files=[("dossier", ("dossier.pdf", png, "application/pdf"))],
    )
    assert r.status_code == 415
    r = client.post(f"/agrements/{agrement_id}/renewal", headers=headers, json={"motivation": "x"})
    assert r.status_code == 415


def test_renewal_of_a_suspended_agrement_is_refused(client, people, agrement_id):
    post(client, people, "officer", agrement_id, "suspend")
    r = client.post(f"/agrements/{agrement_id}/renewal", headers=auth(people["mandataire"]))
    assert r.status_code == 409 and r.json()["code"] == "not_renewable"
