"""Chronology is a domain rule: each step tried in the wrong order is refused through the API
with a clear French message (evaluations, the jury's date, certificates dated from the PV,
a contrôle visit before its assignment). The recours window is tested in test_juries_api."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import time_machine
from sqlmodel import select

from certification.clock import as_utc, today
from certification.db import session_scope
from certification.jury.models import Certificate, JurySession
from certification.candidates import service as cand
from tests.factories import auth, certified_holders, grant_agrement, register_sp, siret, structure_account


def _candidate_in_training(people) -> tuple[dict, int]:
    account = structure_account(people, siret(1))
    with session_scope() as db:
        since = today() - timedelta(days=40)
        c = register_sp(db, account["actor"], "N'Diaye", "Éloïse", datetime(1995, 3, 2).date(), contract_start=since)
        cand.start_training(db, account["actor"], c.id)
        return account, c.id


def _evaluate(client, account, cid, on) -> object:
    meta = {"bloc_code": "SP-B1", "evaluated_on": on.isoformat(), "result": "acquis", "evaluator_name": "Tuteur"}
    return client.post(f"/candidates/{cid}/evaluations", headers=auth(account), data={"metadata": json.dumps(meta)})


def test_an_evaluation_before_the_registration_is_refused(client, people):
    grant_agrement(people, 1)
    account, cid = _candidate_in_training(people)

    r = _evaluate(client, account, cid, today() - timedelta(days=3))
    assert r.status_code == 422 and r.json()["code"] == "evaluation_before_registration"
    assert "ne peut pas être antérieure à l'inscription du candidat" in r.json()["detail"]
    assert _evaluate(client, account, cid, today()).status_code == 201


def test_an_evaluation_after_the_agrement_ended_is_refused(client, people):
    with time_machine.travel(datetime.now(UTC) - timedelta(days=30), tick=True):
        grant_agrement(people, 1, end=today() + timedelta(days=10))
        account, cid = _candidate_in_training(people)

    r = _evaluate(client, account, cid, today())
    assert r.status_code == 422 and r.json()["code"] == "evaluation_outside_agrement"
    assert "dans la période de validité de l'agrément" in r.json()["detail"]
    assert _evaluate(client, account, cid, today() - timedelta(days=25)).status_code == 201


def test_certificates_are_dated_from_the_signed_pv_never_before_the_jury(client, people):
    sid, _ = certified_holders(people, 1)  # the jury sat yesterday, its PV is signed today
    with session_scope() as db:
        jury = db.get(JurySession, sid)
        certificate = db.exec(select(Certificate).where(Certificate.session_id == sid)).one()
        signed_on, jury_on = as_utc(jury.pv_signed_at).date(), as_utc(jury.scheduled_at).date()
    assert certificate.issued_on == signed_on and jury_on <= certificate.issued_on
    r = client.get(f"/certificates/{certificate.id}", headers=auth(people["officer"]))
    assert r.status_code == 200 and r.json()["issued_on"] == signed_on.isoformat()


def test_a_controle_visit_before_its_assignment_is_refused(client, people):
    agrement_id = grant_agrement(people)
    r = client.post(
        "/controles", headers=auth(people["officer"]), json={"agrement_id": agrement_id, "reason": "Signalement"}
    )
    assert r.status_code == 201
    visit = {"visit_at": (datetime.now(UTC) + timedelta(days=7)).isoformat(), "place": "Atelier"}
    r = client.post(f"/controles/{r.json()['id']}/visit", headers=auth(people["officer"]), json=visit)
    assert r.status_code == 409 and r.json()["detail"]
