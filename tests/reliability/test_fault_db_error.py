"""A database error in the middle of a transition leaves no half-applied state.

The failure is injected at the database layer (a ``before_cursor_execute`` hook raising the
driver's OperationalError on a chosen statement), after the transition's first write went
through: everything the transaction wrote before is rolled back with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlmodel import select

from api.app import create_app
from certification.audit import timeline
from certification.db import get_engine, session_scope
from certification.models import (
    AuditEvent,
    IdempotencyRecord,
)
from certification.jury.models import BlocAcquisition, Certificate, Deliberation, JuryCandidate, JurySession
from certification.appeals import service as appeals
from certification.jury import service as jury_svc
from certification.appeals.models import Appeal
from flows.jury import advance_jury
from tests.factories import auth, deliberated_session, ready_candidates

PARTIAL = {"SP-B1": "validated", "SP-B2": "not_validated", "SP-B3": "validated"}
ALL_VALIDATED = {"SP-B1": "validated", "SP-B2": "validated", "SP-B3": "validated"}


@contextmanager
def database_fails_on(statement_prefix: str, *, after: str) -> Iterator[list[str]]:
    """Raise OperationalError on the first statement starting with ``statement_prefix`` executed
    after a statement starting with ``after`` (the transition's first write). Yields the log of
    the statements seen, for the assertions."""
    engine = get_engine()
    seen: list[str] = []
    state = {"armed": False, "fired": False}

    def hook(conn, cursor, statement, parameters, context, executemany):  # noqa: ARG001
        head = " ".join(statement.split())[:80].upper()
        seen.append(head)
        if state["fired"]:
            return
        if head.startswith(after.upper()):
            state["armed"] = True
        elif state["armed"] and head.startswith(statement_prefix.upper()):
            state["fired"] = True
            raise OperationalError(statement, parameters, Exception("disk I/O error (injected)"))

    event.listen(engine, "before_cursor_execute", hook)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", hook)
    assert state["fired"], f"the injected failure never fired; statements: {seen}"


def snapshot(session_id: int) -> dict:
    with session_scope() as db:
        jury = db.get(JurySession, session_id)
        return {
            "jury": (jury.state, jury.version, jury.pv_version, jury.pv_signed_at, jury.pv_signed_by_id),
            "appeals": [(a.id, a.state, a.version, a.decision_reason) for a in db.exec(select(Appeal))],
            "deliberations": sorted(
                (d.candidate_id, d.bloc_code, d.result, d.comment) for d in db.exec(select(Deliberation))
            ),
            "outcomes": sorted((r.candidate_id, r.outcome) for r in db.exec(select(JuryCandidate))),
            "events": [
                (e.entity_type, e.entity_id, e.action) for e in db.exec(select(AuditEvent).order_by(AuditEvent.id))
            ],
            "acquisitions": sorted(
                (a.candidate_id, a.bloc_code, a.cancelled) for a in db.exec(select(BlocAcquisition))
            ),
            "certificates": sorted((c.number, c.state) for c in db.exec(select(Certificate))),
            "idempotency": len(list(db.exec(select(IdempotencyRecord)))),
        }


def test_sign_pv_fails_after_the_state_update(world):
    ids = ready_candidates(world["structure"], 2)
    sid = deliberated_session(world, ids, sign=False)
    before = snapshot(sid)
    assert before["jury"][0] == "deliberated"

    with (
        database_fails_on("INSERT INTO audit_events", after="UPDATE jury_sessions") as seen,
        pytest.raises(OperationalError),
        session_scope() as db,
    ):
        jury_svc.sign_pv(db, world["presidente"]["actor"], sid)
    assert any(q.startswith("UPDATE JURY_SESSIONS") for q in seen)
    assert snapshot(sid) == before

    # The same action succeeds afterwards, exactly once.
    with session_scope() as db:
        jury_svc.sign_pv(db, world["presidente"]["actor"], sid)
    after = snapshot(sid)
    assert after["jury"][0] == "pv_signed" and after["jury"][1] == before["jury"][1] + 1
    n = len(before["events"])
    assert after["events"][: n + 1] == before["events"] + [("jury_sessions", sid, "sign_pv")]
    # the results applied to the register in the same transaction: each candidate certified once
    assert sorted(action for _, _, action in after["events"][n + 1 :]) == [
        "certify",
        "certify",
        "credentials_issued",
        "credentials_issued",
        "issue",
        "issue",
    ]


def test_sign_pv_through_the_api_fails_cleanly(world):
    ids = ready_candidates(world["structure"], 1)
    sid = deliberated_session(world, ids, sign=False)
    before = snapshot(sid)
    headers = {**auth(world["presidente"]), "Idempotency-Key": "signature-1"}
    with TestClient(create_app(), raise_server_exceptions=False) as client:
        with database_fails_on("INSERT INTO audit_events", after="UPDATE jury_sessions"):
            r = client.post(f"/jury-sessions/{sid}/sign-pv", headers=headers)
        # An OperationalError is the database failing, not the request: 503 + Retry-After (issue 17).
        assert r.status_code == 503 and r.json()["code"] == "database_unavailable"
        assert int(r.headers["Retry-After"]) >= 1
        assert "disk I/O" not in r.text  # no internals leaked
        assert snapshot(sid) == before  # nor the idempotency record of a failed action
        r = client.post(f"/jury-sessions/{sid}/sign-pv", headers=headers)
        assert r.status_code == 200 and r.json()["state"] == "pv_signed"


def test_appeal_uphold_fails_after_the_first_writes(world):
    (cid,) = ready_candidates(world["structure"], 1)
    sid = deliberated_session(world, [cid], {cid: PARTIAL})
    advance_jury(sid)  # results applied, attestation issued, results notified
    officer = world["officer"]["actor"]
    with session_scope() as db:
        appeal = appeals.file_appeal(
            db,
            world["structure"]["actor"],
            candidate_id=cid,
            jury_session_id=sid,
            grounds="Le bloc SP-B2 a été évalué sur un autre référentiel.",
        )
        appeals.declare_admissible(db, officer, appeal.id)
    before = snapshot(sid)
    assert before["jury"][0] == "results_notified" and before["jury"][2] == 1

    # uphold writes the appeal (UPDATE appeals + its audit row), then the jury (UPDATE jury_sessions,
    # new PV version + audit row), then the deliberations: the database fails on the latter.
    with (
        database_fails_on("UPDATE deliberations", after="UPDATE appeals") as seen,
        pytest.raises(OperationalError),
        session_scope() as db,
    ):
        appeals.uphold(db, officer, appeal.id, reason="Erreur matérielle reconnue", results=ALL_VALIDATED)
    assert any(q.startswith("UPDATE JURY_SESSIONS") for q in seen)
    assert any(q.startswith("INSERT INTO AUDIT_EVENTS") for q in seen)
    assert snapshot(sid) == before
    with session_scope() as db:
        assert [e.action for e in timeline(db, "appeals", appeal.id)] == ["file", "declare_admissible"]

    # Nothing owed by the flow either: no new PV, no new certificate.
    outcome = advance_jury(sid)
    assert outcome.documents == [] and outcome.certificates == []
    assert outcome.mails == ["received"]  # owed by the filing of the appeal, nothing by the failed uphold

    # Retried after the incident: applied once, in full.
    with session_scope() as db:
        appeals.uphold(db, officer, appeal.id, reason="Erreur matérielle reconnue", results=ALL_VALIDATED)
    after = snapshot(sid)
    assert after["jury"][2] == 2 and after["appeals"][0][1] == "upheld"
    assert {d[2] for d in after["deliberations"]} == {"validated"}
