"""Candidate endpoints: registration (valid agrément required), roles and isolation between
structures, evaluations with PDF evidence, training steps, idempotency, malformed input."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from certification.clock import today
from certification.db import session_scope
from certification.models import AuditEvent, Role
from certification.candidates.models import Candidate
from tests.factories import PARTIAL, add_user, auth, deliberated_session, grant_agrement, issue_results
from tests.factories import ready_candidates, siret, structure_account, structure_id_of, submit_request

IDENTITY = {
    "last_name": "N'Guessan",
    "first_names": "Aïssatou Marie",
    "birth_date": "1991-03-08",
    "birth_place": "Saint-Étienne (42)",
    "sex": "F",
    "email": "aissatou@example.org",
    "contract_type": "CDDI",
    "contract_start": "2025-09-01",
    "contract_end": "2026-08-31",
    "certification_code": "CQP_SP",
}


@pytest.fixture
def setup(people):
    """Structure 1 agréée (agrément id), structure 2 agréée; an account for each."""
    people["agrement_1"] = grant_agrement(people, 1)
    people["agrement_2"] = grant_agrement(people, 2)
    for key, n in (("structure", 1), ("other_structure", 2)):
        structure_account(people, siret(n), key)["structure_id"] = structure_id_of(n)
    return people


def register(client, who: dict, **overrides):
    return client.post("/candidates", headers=auth(who), json={**IDENTITY, **overrides})


def test_registration_and_visibility(client, setup):
    people = setup
    r = register(client, people["structure"])
    assert r.status_code == 201, r.text
    c = r.json()
    assert c["state"] == "registered" and c["reference"].startswith("CAND-")
    assert c["blocs"] == ["SP-B1", "SP-B2", "SP-B3"] and c["missing_blocs"] == c["blocs"]
    assert c["held_blocs"] == [] and c["evaluations"] == [] and c["juries"] == []
    assert c["sex"] == "F"
    assert c["structure_id"] == people["structure"]["structure_id"]
    assert c["timeline_url"] == f"/candidates/{c['id']}/timeline"
    assert c["allowed_actions"] == ["evaluations", "start-training", "postpone", "withdraw"]

    # the other structure never sees it
    assert client.get("/candidates", headers=auth(people["other_structure"])).json()["items"] == []
    assert client.get(f"/candidates/{c['id']}", headers=auth(people["other_structure"])).status_code == 404
    assert client.get(f"/candidates/{c['id']}/timeline", headers=auth(people["other_structure"])).status_code == 404
    r = client.post(f"/candidates/{c['id']}/start-training", headers=auth(people["other_structure"]))
    assert r.status_code == 404
    # mandataire, contrôleur, formateur: no access
    for who in ("mandataire", "controleur", "formateur"):
        assert client.get("/candidates", headers=auth(people[who])).status_code == 403
        assert client.get(f"/candidates/{c['id']}", headers=auth(people[who])).status_code == 404
        assert register(client, people[who]).status_code == 403
        r = client.post(f"/candidates/{c['id']}/start-training", headers=auth(people[who]))
        assert r.status_code == 403
    # a jury member sees only the candidates of his sessions
    member = add_user("jury.libre@cqp.test", "Juré sans session", Role.jury_member)
    assert client.get("/candidates", headers=auth(member)).json()["items"] == []
    assert client.get(f"/candidates/{c['id']}", headers=auth(member)).status_code == 404
    assert client.get("/candidates").status_code == 401

    mine = client.get("/candidates", headers=auth(people["structure"])).json()["items"]
    assert [m["id"] for m in mine] == [c["id"]]
    assert client.get("/candidates", headers=auth(people["officer"])).json()["items"][0]["structure_name"]
    timeline = client.get(f"/candidates/{c['id']}/timeline", headers=auth(people["structure"])).json()["items"]
    assert [e["action"] for e in timeline] == ["register"]

    # officer registers for a structure (structure_id required)
    r = register(client, people["officer"])
    assert r.status_code == 422 and r.json()["code"] == "structure_required"
    r = register(client, people["officer"], structure_id=people["other_structure"]["structure_id"], last_name="Martin")
    assert r.status_code == 201 and r.json()["structure_id"] == people["other_structure"]["structure_id"]
    # a structure cannot register for another one
    r = register(client, people["structure"], structure_id=people["other_structure"]["structure_id"])
    assert r.status_code == 403


def test_registration_refused_without_valid_agrement(client, people):
    submit_request(people["mandataire"]["actor"], 3)  # submitted, never granted
    pending = structure_account(people, siret(3), "pending")
    r = register(client, pending)
    assert r.status_code == 409 and r.json()["code"] == "no_valid_agrement"

    agrement_id = grant_agrement(people, 1)
    structure = structure_account(people, siret(1))
    assert register(client, structure).status_code == 201
    r = client.post(
        f"/agrements/{agrement_id}/suspend",
        headers=auth(people["officer"]),
        json={"reason": "Contrôle : encadrement non formé"},
    )
    assert r.status_code == 200
    r = register(client, structure, last_name="Martin")
    assert r.status_code == 409 and r.json()["code"] == "no_valid_agrement"
    assert "agrément en vigueur" in r.json()["detail"]
    with session_scope() as db:
        assert len(db.exec(select(Candidate)).all()) == 1


def test_malformed_and_invalid_input(client, setup):
    people = setup
    headers = {**auth(people["structure"]), "Content-Type": "application/json"}
    r = client.post("/candidates", headers=headers, content=b'{"last_name": "Martin",')
    assert r.status_code == 400 and r.json()["code"] == "malformed_json"
    r = register(client, people["structure"], contract_type="intérim")
    assert r.status_code == 422 and r.json()["code"] == "invalid_input"
    r = register(client, people["structure"], unexpected="x")
    assert r.status_code == 422
    r = register(client, people["structure"], birth_date="2090-01-01")
    assert r.status_code == 422 and r.json()["code"] == "bad_birth_date"
    r = register(client, people["structure"], contract_end="2025-01-01")
    assert r.status_code == 422 and r.json()["code"] == "bad_contract_dates"
    r = register(client, people["structure"], certification_code="CQP_EPSP")
    assert r.status_code == 409 and r.json()["code"] == "no_valid_agrement"
    # the sex, as the Caisse des Dépôts codes it: M or F, nothing else
    for bad in ("X", "f", "Femme", "", 1, ["F"]):
        r = register(client, people["structure"], sex=bad)
        assert r.status_code == 422, (bad, r.text)
        error = r.json()
        assert r.headers["content-type"] == "application/problem+json"
        assert error["code"] == "invalid_input" and [f["pointer"] for f in error["errors"]] == ["/sex"]
        assert "Sexe invalide : « M » (masculin) ou « F » (féminin)" in error["detail"]
    with session_scope() as db:
        assert db.exec(select(Candidate)).all() == []
    r = register(client, people["structure"], sex=None)  # not given: registered, held back at the CPF export
    assert r.status_code == 201 and r.json()["sex"] is None


def test_idempotent_registration(client, setup):
    people = setup
    headers = {**auth(people["structure"]), "Idempotency-Key": "inscription-2026-001"}
    first = client.post("/candidates", headers=headers, json=IDENTITY)
    again = client.post("/candidates", headers=headers, json=IDENTITY)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json()["id"] == first.json()["id"]
    r = client.post("/candidates", headers=headers, json={**IDENTITY, "last_name": "Autre"})
    assert r.status_code == 422 and r.json()["code"] == "idempotency_key_reused"
    with session_scope() as db:
        assert len(db.exec(select(Candidate)).all()) == 1


def test_training_evaluations_and_evidence(client, setup, pdf_bytes):
    people = setup
    structure = auth(people["structure"])
    c = register(client, people["structure"], blocs=["SP-B1", "SP-B2"]).json()
    cid = c["id"]
    assert c["blocs"] == ["SP-B1", "SP-B2"]

    def evaluate(bloc: str, result: str = "acquis", files=None, who=structure):
        meta = {
            "bloc_code": bloc,
            "evaluated_on": today().isoformat(),
            "result": result,
            "evaluator_name": "Paul Encadrant",
            "comment": "Mise en situation sur chantier",
        }
        return client.post(
            f"/candidates/{cid}/evaluations", headers=who, data={"metadata": json.dumps(meta)}, files=files or []
        )

    r = client.post(f"/candidates/{cid}/ready", headers=structure)
    assert r.status_code == 409  # still « inscrit »
    assert client.post(f"/candidates/{cid}/start-training", headers=structure).json()["state"] == "in_training"
    r = client.post(f"/candidates/{cid}/ready", headers=structure)
    assert r.status_code == 409 and "Évaluations manquantes" in r.json()["detail"]

    r = evaluate("SP-B1", files=[("evidence", ("grille d'évaluation.pdf", pdf_bytes, "application/pdf"))])
    assert r.status_code == 201, r.text
    evaluation = r.json()["evaluations"][0]
    assert (
        evaluation["result_label"] == "acquis" and evaluation["files"][0]["original_name"] == "grille d'évaluation.pdf"
    )
    download = client.get(evaluation["files"][0]["url"], headers=structure)
    assert download.status_code == 200 and download.content == pdf_bytes
    assert client.get(evaluation["files"][0]["url"], headers=auth(people["other_structure"])).status_code == 404

    assert evaluate("SP-B3").status_code == 422  # not a bloc of this candidate
    r = evaluate("SP-B2", files=[("evidence", ("faux.pdf", b"MZ\x90\x00 not a pdf", "application/pdf"))])
    assert r.status_code in (415, 422)
    r = evaluate("SP-B2", files=[("rapport", ("x.pdf", pdf_bytes, "application/pdf"))])
    assert r.status_code == 422 and r.json()["code"] == "unknown_piece_kind"
    r = client.post(f"/candidates/{cid}/evaluations", headers=structure, data={"metadata": "{not json"})
    assert r.status_code in (400, 422)
    assert evaluate("SP-B2", who=auth(people["other_structure"])).status_code == 404
    assert evaluate("SP-B2", who=auth(people["mandataire"])).status_code == 403
    assert evaluate("SP-B2").status_code == 201

    r = client.post(f"/candidates/{cid}/postpone", headers=structure, json={"reason": ""})
    assert r.status_code == 422
    r = client.post(f"/candidates/{cid}/ready", headers=structure)
    assert r.status_code == 200 and r.json()["state"] == "ready_for_jury"
    assert r.json()["allowed_actions"] == ["postpone", "withdraw"]
    r = client.post(f"/candidates/{cid}/postpone", headers=structure, json={"reason": "Arrêt maladie"})
    assert r.status_code == 200 and r.json()["state"] == "postponed"
    assert client.post(f"/candidates/{cid}/resume", headers=structure).json()["state"] == "in_training"
    r = client.post(f"/candidates/{cid}/withdraw", headers=structure, json={"reason": "Fin de contrat anticipée"})
    assert r.status_code == 200 and r.json()["state"] == "withdrawn" and r.json()["allowed_actions"] == []
    with session_scope() as db:
        actions = [
            e.action
            for e in db.exec(
                select(AuditEvent).where(AuditEvent.entity_id == cid, AuditEvent.entity_type == "candidates")
            )
        ]
    assert actions == [
        "register",
        "start_training",
        "evaluation",
        "evaluation",
        "mark_ready",
        "postpone",
        "resume",
        "withdraw",
    ]


def test_candidate_shows_jury_and_held_blocs(client, setup):
    people = setup
    (cid,) = ready_candidates(people["structure"], 1)
    session_id = deliberated_session(people, [cid], {cid: PARTIAL})
    issue_results(session_id)
    c = client.get(f"/candidates/{cid}", headers=auth(people["structure"])).json()
    assert c["state"] == "in_training"
    assert [h["bloc_code"] for h in c["held_blocs"]] == ["SP-B1", "SP-B3"]
    held = c["held_blocs"][0]
    assert int(held["valid_until"][:4]) - int(held["acquired_on"][:4]) == 5 and held["session_id"] == session_id
    assert c["missing_blocs"] == ["SP-B2"]
    assert c["juries"][0]["outcome"] == "partial" and c["juries"][0]["outcome_label"] == "validation partielle"
    # a member of that jury now sees the candidate (read only)
    seen = client.get(f"/candidates/{cid}", headers=auth(people["salarie1"]))
    assert seen.status_code == 200 and seen.json()["allowed_actions"] == []
    r = client.post(f"/candidates/{cid}/withdraw", headers=auth(people["salarie1"]), json={"reason": "x"})
    assert r.status_code == 403
