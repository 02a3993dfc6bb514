"""Appeals (services, real database): an appeal filed within two months of the notified results and
upheld changes the candidate's results, the PV and his documents; after two months it is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlmodel import select

from certification.appeals import service as appeals
from certification.candidates.models import Candidate
from certification.db import session_scope
from certification.errors import Conflict
from certification.jury import service as svc
from certification.jury.models import Certificate, JurySession
from tests.factories import PARTIAL, deliberated_session, issue_each, ready_candidates


def test_appeal_within_two_months_upheld_changes_results(world):
    people = world
    (cid,) = ready_candidates(people["structure"], 1)
    sid = deliberated_session(people, [cid], {cid: PARTIAL})
    issue_each(sid)
    structure, officer = people["structure"]["actor"], people["officer"]["actor"]
    with session_scope() as db:
        with pytest.raises(Conflict, match="pas encore été notifiés"):
            appeals.file_appeal(db, structure, candidate_id=cid, jury_session_id=sid, grounds="Erreur")
        svc.notify_results(db, sid)
    with session_scope() as db:
        appeal = appeals.file_appeal(
            db,
            structure,
            candidate_id=cid,
            jury_session_id=sid,
            grounds="Le bloc SP-B2 a été évalué sur une activité non prévue.",
        )
        appeals.declare_admissible(db, officer, appeal.id)
        appeals.uphold(
            db,
            officer,
            appeal.id,
            results={"SP-B1": "validated", "SP-B2": "validated", "SP-B3": "validated"},
            reason="Erreur d'évaluation reconnue",
        )
    with session_scope() as db:
        jury = db.get(JurySession, sid)
        assert (jury.state, jury.pv_version) == ("pv_signed", 2)
    issued = issue_each(sid)
    with session_scope() as db:
        kinds = {c.kind: c.state for c in db.exec(select(Certificate))}
        assert kinds == {"attestation": "superseded", "certificate": "valid"}
        assert db.get(Candidate, cid).state == "certified"
    assert [c.kind for c in issued] == ["certificate"]


def test_appeal_after_two_months_is_refused(world):
    people = world
    (cid,) = ready_candidates(people["structure"], 1)
    sid = deliberated_session(people, [cid])
    issue_each(sid)
    with session_scope() as db:
        svc.notify_results(db, sid)
    with time_machine.travel(datetime.now(UTC) + timedelta(days=63)), session_scope() as db:
        with pytest.raises(Conflict, match="délai de recours a expiré") as exc:
            appeals.file_appeal(db, people["structure"]["actor"], candidate_id=cid, jury_session_id=sid, grounds="x")
    assert exc.value.code == "appeal_too_late"
