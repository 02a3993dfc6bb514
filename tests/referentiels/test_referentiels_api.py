"""The référentiel versions through the API: officers only, preview without writing, load, activate."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from certification.clock import today
from certification.referentiel.service import SHIPPED_DIR
from tests.factories import auth, register_sp


@pytest.fixture
def client():
    with TestClient(create_app()) as c:
        yield c


def upload(text: str, name: str = "CQP_SP-2.yaml") -> dict:
    return {"file": (name, text.encode(), "application/yaml")}


def test_versions_through_the_api(client, people, v2_text):
    officer = auth(people["officer"])
    listed = client.get("/certifications/CQP_SP/versions", headers=officer)
    assert listed.status_code == 200, listed.text
    [v1] = listed.json()["items"]
    assert (v1["label"], v1["status"], v1["state_label"], v1["valid_from"], v1["to_complete"]) == (
        "1",
        "active",
        "en vigueur",
        None,
        [],
    )
    assert [b["code"] for b in v1["blocs"]] == ["SP-B1", "SP-B2", "SP-B3"]

    r = client.post("/certifications/versions/preview", headers=officer, files=upload(v2_text))
    assert r.status_code == 200, r.text
    assert (r.json()["compared_with"], r.json()["blocs_content_changed"], r.json()["can_activate"]) == (
        "1",
        ["SP-B1"],
        True,
    )
    assert len(client.get("/certifications/CQP_SP/versions", headers=officer).json()["items"]) == 1

    r = client.post(
        "/certifications/versions",
        headers={**officer, "Idempotency-Key": "charge-v2"},
        files=upload(v2_text),
        data={"reason": "Rénovation"},
    )
    assert r.status_code == 201, r.text
    assert (r.json()["created"], r.json()["version"]["status"], r.json()["version"]["registry_code"]) == (
        True,
        "draft",
        "RS9999",
    )
    replay = client.post(
        "/certifications/versions",
        headers={**officer, "Idempotency-Key": "charge-v2"},
        files=upload(v2_text),
        data={"reason": "Rénovation"},
    )
    assert replay.headers.get("Idempotent-Replayed") == "true"
    again = client.post("/certifications/versions", headers=officer, files=upload(v2_text))
    assert (again.status_code, again.json()["created"]) == (200, False)

    start = today() + timedelta(days=5)
    r = client.post(
        "/certifications/CQP_SP/versions/2/activate",
        headers=officer,
        json={"on": start.isoformat(), "reason": "Arrêté"},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["state_label"], r.json()["valid_from"]) == (
        "active",
        "programmée",
        start.isoformat(),
    )
    items = client.get("/certifications/CQP_SP/versions", headers=officer).json()["items"]
    assert items[0]["valid_until"] == (start - timedelta(days=1)).isoformat()
    events = client.get("/certifications/CQP_SP/timeline", headers=officer).json()["items"]
    assert [(e["action"], e["to_state"], e["reason"]) for e in events] == [
        ("load_version", "2", "Rénovation"),
        ("activate_version", "2", "Arrêté"),
    ]


def test_errors_are_french_problems(client, people, v2_text):
    officer = auth(people["officer"])
    r = client.post(
        "/certifications/versions/preview",
        headers=officer,
        files=upload(v2_text.replace("  - code: SP-B2\n", "  - codex: SP-B2\n")),
    )
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "referentiel_invalid"
    assert "CQP_SP-2.yaml, ligne 12 : blocs[2].code : champ obligatoire" in r.json()["detail"]
    assert "CQP_SP-2.yaml, ligne 12 : blocs[2].codex : champ inconnu" in r.json()["detail"]

    r = client.post("/certifications/CQP_SP/versions/9/activate", headers=officer, json={"on": today().isoformat()})
    assert (r.status_code, r.json()["code"]) == (404, "unknown_version")
    assert "Version « 9 » du référentiel inconnue." == r.json()["detail"]
    assert client.get("/certifications/CQP_XX/versions", headers=officer).status_code == 422

    socle = (SHIPPED_DIR / "CQP_SP-2-socle.yaml").read_text(encoding="utf-8")
    assert (
        client.post("/certifications/versions", headers=officer, files=upload(socle, "socle.yaml")).status_code == 201
    )
    r = client.post("/certifications/CQP_SP/versions/2/activate", headers=officer, json={"on": today().isoformat()})
    assert (r.status_code, r.json()["code"]) == (409, "version_incomplete")
    assert "à compléter par le certificateur" in r.json()["detail"]


@pytest.mark.parametrize("who", ["mandataire", "controleur", "formateur"])
def test_officers_only(client, people, who, v2_text):
    headers = auth(people[who])
    assert client.get("/certifications/CQP_SP/versions", headers=headers).status_code == 403
    assert client.post("/certifications/versions/preview", headers=headers, files=upload(v2_text)).status_code == 403
    assert client.post("/certifications/versions", headers=headers, files=upload(v2_text)).status_code == 403
    assert (
        client.post(
            "/certifications/CQP_SP/versions/1/activate", headers=headers, json={"on": today().isoformat()}
        ).status_code
        == 403
    )
    assert client.get("/certifications/CQP_SP/versions").status_code == 401


def test_a_candidate_shows_the_version_of_its_registration(client, people):
    from datetime import date

    from certification.db import session_scope
    from tests.factories import grant_agrement, siret, structure_account

    grant_agrement(people, 1)
    structure = structure_account(people, siret(1))
    with session_scope() as db:
        candidate_id = register_sp(db, structure["actor"], "Roux", "Léa", date(1991, 2, 3)).id
    r = client.get(f"/candidates/{candidate_id}", headers=auth(structure))
    assert r.status_code == 200, r.text
    assert r.json()["certification_version"] == "1"
