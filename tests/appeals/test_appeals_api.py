"""Appeals (recours) through the API: who may file one (the candidate's structure, within two months
of the notified results, once per open appeal, idempotent), who sees it, the officer's decisions
(recevable, fondé with new results and a PV modificatif, irrecevable) and their history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from tests.factories import (
    ALL_VALIDATED,
    PARTIAL,
    auth,
    deliberated_session,
    issue_results,
    two_structures_with_a_candidate,
)


@pytest.fixture
def world(people):
    return two_structures_with_a_candidate(people)


def test_appeals(client, world):
    people = world
    sid = deliberated_session(
        people, [people["cand_a"], people["cand_b"]], {people["cand_a"]: ALL_VALIDATED, people["cand_b"]: PARTIAL}
    )
    issue_results(sid)
    officer, structure_b = auth(people["officer"]), auth(people["other_structure"])
    body = {"candidate_id": people["cand_b"], "session_id": sid, "grounds": "Le bloc 2 a été évalué hors référentiel."}
    for who in ("mandataire", "controleur", "formateur"):
        assert client.post("/appeals", headers=auth(people[who]), json=body).status_code == 403
        assert client.get("/appeals", headers=auth(people[who])).status_code == 403
    r = client.post("/appeals", headers=auth(people["structure"]), json=body)
    assert r.status_code == 404  # not its candidate
    r = client.post("/appeals", headers={**structure_b, "Idempotency-Key": "recours-1"}, json=body)
    assert r.status_code == 201, r.text
    appeal = r.json()
    assert appeal["state"] == "filed" and appeal["deadline"] and appeal["candidate_name"] == "João Da Silva"
    again = client.post("/appeals", headers={**structure_b, "Idempotency-Key": "recours-1"}, json=body)
    assert again.json()["id"] == appeal["id"] and again.headers.get("Idempotent-Replayed") == "true"
    r = client.post("/appeals", headers=structure_b, json=body)
    assert r.status_code == 409 and r.json()["code"] == "appeal_already_open"
    assert client.get("/appeals", headers=auth(people["structure"])).json()["items"] == []
    assert client.get(f"/appeals/{appeal['id']}", headers=auth(people["structure"])).status_code == 404
    assert [a["id"] for a in client.get("/appeals", headers=structure_b).json()["items"]] == [appeal["id"]]
    assert client.get(f"/appeals/{appeal['id']}", headers=structure_b).json()["allowed_actions"] == []
    assert client.get(f"/appeals/{appeal['id']}", headers=officer).json()["allowed_actions"] == [
        "admissible",
        "inadmissible",
    ]

    assert client.post(f"/appeals/{appeal['id']}/admissible", headers=structure_b).status_code == 403
    r = client.post(f"/appeals/{appeal['id']}/admissible", headers=officer)
    assert r.status_code == 200 and r.json()["state"] == "admissible"
    r = client.post(
        f"/appeals/{appeal['id']}/uphold",
        headers=officer,
        json={"results": {"SP-B1": "validated"}, "reason": "Erreur d'évaluation"},
    )
    assert r.status_code == 422
    r = client.post(
        f"/appeals/{appeal['id']}/uphold",
        headers=officer,
        json={"results": ALL_VALIDATED, "reason": "Le bloc 2 était acquis selon le référentiel."},
    )
    assert r.status_code == 200 and r.json()["state"] == "upheld"
    jury = client.get(f"/jury-sessions/{sid}", headers=officer).json()
    assert jury["state"] == "pv_signed" and jury["pv_version"] == 2
    assert {c["candidate_id"]: c["outcome"] for c in jury["candidates"]}[people["cand_b"]] == "certified"
    timeline = client.get(f"/appeals/{appeal['id']}/timeline", headers=structure_b).json()["items"]
    assert [e["action"] for e in timeline] == ["file", "declare_admissible", "uphold"]

    # the other candidate: too late after two months
    late = {"candidate_id": people["cand_a"], "session_id": sid, "grounds": "Contestation"}
    with time_machine.travel(datetime.now(UTC) + timedelta(days=70)):
        r = client.post("/appeals", headers=auth(people["structure"]), json=late)
    assert r.status_code == 409 and r.json()["code"] == "appeal_too_late"
    r = client.post("/appeals", headers=auth(people["structure"]), json=late)
    assert r.status_code == 201
    r = client.post(f"/appeals/{r.json()['id']}/inadmissible", headers=officer, json={"reason": "Hors sujet"})
    assert r.status_code == 200 and r.json()["state"] == "inadmissible" and r.json()["decision_reason"] == "Hors sujet"


def test_appeal_before_results_notified(client, world):
    people = world
    sid = deliberated_session(people, [people["cand_b"]], {people["cand_b"]: PARTIAL})
    issue_results(sid, notify=False)
    r = client.post(
        "/appeals",
        headers=auth(people["other_structure"]),
        json={"candidate_id": people["cand_b"], "session_id": sid, "grounds": "x"},
    )
    assert r.status_code == 409 and r.json()["code"] == "results_not_notified"
