"""Candidates, jury sessions, issuance and verification (services, real database); the appeals' in
tests/appeals."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlmodel import select

from certification.agrement.models import Agrement
from certification.audit import timeline
from certification.effects import OwedEffect
from certification.models import AuditEvent
from certification.clock import today
from certification.db import session_scope
from certification.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from certification.candidates.models import Candidate
from certification.services import conflicts
from certification.jury import issuance
from certification.agrement import lifecycle
from certification.models import Role, Structure
from certification.jury.models import BlocAcquisition, Certificate, JurySession
from certification.jury import queries as jury_queries
from certification.candidates import service as cand
from certification.jury import service as svc
from certification.candidates import queries as candidate_queries
from flows.agrement_lifecycle import advance_agrement
from tests.factories import issue_each, add_user, plan_past_session, deliberated_session, grant_agrement
from tests.factories import jury_members, make_users, ready_candidates, register_sp, siret, structure_account


# a candidate to register (her contract a CDDI)
LEA = {
    "last_name": "Durand",
    "first_names": "Léa",
    "birth_date": date(1995, 3, 2),
    "contract_type": "CDDI",
    "contract_start": date(2026, 1, 1),
}


@pytest.fixture
def world():
    people = make_users()
    agrement_id = grant_agrement(people, 1)
    structure_account(people, siret(1))
    return people, agrement_id


def test_registration_needs_a_valid_agrement(world):
    people, agrement_id = world
    other = grant_agrement(people, 2)
    with session_scope() as db:
        lifecycle.suspend(db, people["officer"]["actor"], other, "Contrôle défavorable")
    structure_account(people, siret(2), "structure2")
    with session_scope() as db, pytest.raises(Conflict, match="agrément en vigueur") as exc:
        cand.register_candidate(db, people["structure2"]["actor"], certification_code="CQP_SP", **LEA)
    assert exc.value.code == "no_valid_agrement"
    with session_scope() as db, pytest.raises(Conflict):  # no agrément at all for the EPSP
        cand.register_candidate(db, people["structure"]["actor"], certification_code="CQP_EPSP", **LEA)
    with session_scope() as db, pytest.raises(Forbidden):
        cand.register_candidate(db, people["mandataire"]["actor"], certification_code="CQP_SP", **LEA)


def test_ready_needs_evaluations_of_every_bloc(world):
    people, _ = world
    actor = people["structure"]["actor"]
    with session_scope() as db:
        c = register_sp(db, actor, "Le Gall", "Maël", date(1998, 7, 14), contract_start=date(2026, 2, 1))
        cand.start_training(db, actor, c.id)
        cand.add_evaluation(
            db, actor, c.id, bloc_code="SP-B1", evaluated_on=today(), result="acquis", evaluator_name="Tuteur"
        )
        with pytest.raises(InvalidTransition, match="SP-B2, SP-B3"):
            cand.mark_ready(db, actor, c.id)
        assert cand.ready_to_present(db, c) == []  # the inbox proposes no presentation yet
        with pytest.raises(ValidationFailed):
            cand.add_evaluation(
                db, actor, c.id, bloc_code="EPSP-B1", evaluated_on=today(), result="acquis", evaluator_name="Tuteur"
            )
        for bloc in ("SP-B2", "SP-B3"):
            cand.add_evaluation(
                db, actor, c.id, bloc_code=bloc, evaluated_on=today(), result="acquis", evaluator_name="Tuteur"
            )
        assert cand.ready_to_present(db, c) == ["SP-B1", "SP-B2", "SP-B3"]  # the guard's reading, the same
        assert cand.mark_ready(db, actor, c.id).state == "ready_for_jury"


def test_structures_see_only_their_candidates(world):
    people, _ = world
    (cid,) = ready_candidates(people["structure"], 1)
    grant_agrement(people, 2)
    other = structure_account(people, siret(2), "structure2")
    with session_scope() as db:
        assert candidate_queries.list_candidates(db, other["actor"]) == []
        with pytest.raises(NotFound):
            candidate_queries.get_candidate(db, other["actor"], cid)
        with pytest.raises(Forbidden):
            candidate_queries.list_candidates(db, people["mandataire"]["actor"])


def test_composition_is_checked(world):
    people, _ = world
    ids = ready_candidates(people["structure"], 1)
    officer = people["officer"]["actor"]
    members = jury_members(people)
    with session_scope() as db:
        jury = plan_past_session(db, officer, video_link="https://visio.example.org/j")
        with pytest.raises(InvalidTransition, match="Au moins 3 membres"):
            svc.convene(db, officer, jury.id)
        for m in members[1:3]:  # no president, one employer and one employee
            svc.add_member(db, officer, jury.id, user_id=m["user"]["id"], college=m["college"])
        svc.add_member(db, officer, jury.id, user_id=members[3]["user"]["id"], college="salarie")
        svc.add_candidates(db, officer, jury.id, ids)
        svc.convene(db, officer, jury.id)
        problems = svc.composition_problems(db, jury)
        assert "un président présent est requis" in problems
        svc.record_attendance(db, officer, jury.id, {members[3]["user"]["id"]: False})
        with pytest.raises(InvalidTransition, match="président"):
            svc.check_composition(db, officer, jury.id)


def test_a_linked_member_cannot_sit(world):
    people, _ = world
    ids = ready_candidates(people["structure"], 1)
    officer = people["officer"]["actor"]
    member = add_user("ancien.formateur@jury.example.org", "Paul Ancien", Role.jury_member)
    with session_scope() as db:
        structure_id = db.exec(select(Structure.id).where(Structure.siret == siret(1))).one()
        conflicts.declare_link(
            db,
            officer,
            user_id=member["id"],
            structure_id=structure_id,
            kind="formateur",
            reason="A formé les encadrants",
        )
        jury = svc.plan_session(
            db, officer, certification_code="CQP_SP", scheduled_at=datetime.now(UTC) + timedelta(days=3), place="Lyon"
        )
        svc.add_candidates(db, officer, jury.id, ids)
        with pytest.raises(conflicts.ConflictOfInterest, match="Paul Ancien"):
            svc.add_member(db, officer, jury.id, user_id=member["id"], college="employeur")


def test_full_validation_issues_one_certificate(world):
    people, _ = world
    ids = ready_candidates(people["structure"], 2)
    session_id = deliberated_session(people, ids)
    issued = issue_each(session_id)
    again = issue_each(session_id)  # a restarted flow issues nothing new
    assert [c.number for c in issued] == [c.number for c in again]
    assert [c.kind for c in issued] == ["certificate", "certificate"]
    assert issued[0].number.startswith("SP-") and issued[0].number.endswith("000001")
    with session_scope() as db:
        assert {db.get(Candidate, i).state for i in ids} == {"certified"}
        assert len(db.exec(select(Certificate)).all()) == 2
        steps = [e.action for e in timeline(db, "candidates", ids[0])]
    assert steps[:2] == ["register", "start_training"] and steps[-2:] == ["mark_ready", "certify"]


def test_partial_validation_then_return_on_missing_blocs_only(world):
    people, _ = world
    (cid,) = ready_candidates(people["structure"], 1)
    first = deliberated_session(
        people, [cid], {cid: {"SP-B1": "validated", "SP-B2": "not_validated", "SP-B3": "validated"}}
    )
    (attestation,) = issue_each(first)
    assert attestation.kind == "attestation" and attestation.blocs == ["SP-B1", "SP-B3"]
    with session_scope() as db:
        candidate = db.get(Candidate, cid)
        assert candidate.state == "in_training"
        assert cand.missing_blocs(db, candidate) == ["SP-B2"]
        acquisition = db.exec(select(BlocAcquisition).where(BlocAcquisition.bloc_code == "SP-B1")).one()
        assert acquisition.valid_until == acquisition.acquired_on.replace(year=acquisition.acquired_on.year + 5)
        cand.mark_ready(db, people["structure"]["actor"], cid)
    for key in ("presidente", "employeur2", "salarie1", "salarie2"):
        people.pop(key)
    second = _second_session(people, cid)
    with session_scope() as db:
        (row,) = jury_queries.candidates_of(db, second)
        assert row.blocs == ["SP-B2"]  # assessed only on the missing bloc
        svc.record_results(db, people["officer"]["actor"], second, cid, {"SP-B2": "validated"})
        svc.close_deliberation(db, people["officer"]["actor"], second)
        assert jury_queries.candidates_of(db, second)[0].outcome == "certified"
        svc.sign_pv(db, people["officer"]["actor"], second)
    (certificate,) = issue_each(second)
    assert certificate.kind == "certificate" and certificate.blocs == ["SP-B1", "SP-B2", "SP-B3"]
    with session_scope() as db:
        assert db.get(Candidate, cid).state == "certified"


def _second_session(people, cid) -> int:
    officer = people["officer"]["actor"]
    members = [add_user(f"j{i}@jury2.example.org", f"Juré {i}", Role.jury_member) for i in range(3)]
    with session_scope() as db:
        jury = plan_past_session(db, officer, days_ago=0.5, place="Lyon")
        for m, college, president in zip(members, ["employeur", "salarie", "employeur"], [True, False, False]):
            svc.add_member(db, officer, jury.id, user_id=m["id"], college=college, is_president=president)
        svc.add_candidates(db, officer, jury.id, [cid])
        svc.convene(db, officer, jury.id)
        svc.check_composition(db, officer, jury.id)
        return jury.id


def test_blocs_expire_after_five_years(world):
    people, _ = world
    (cid,) = ready_candidates(people["structure"], 1)
    sid = deliberated_session(
        people, [cid], {cid: {"SP-B1": "validated", "SP-B2": "not_validated", "SP-B3": "not_validated"}}
    )
    issue_each(sid)
    with session_scope() as db:
        candidate = db.get(Candidate, cid)
        assert list(cand.held_blocs(db, candidate)) == ["SP-B1"]
        later = date.today() + timedelta(days=5 * 366 + 2)
        assert cand.held_blocs(db, candidate, on=later) == {}


def test_absent_is_all_or_nothing(world):
    people, _ = world
    (cid,) = ready_candidates(people["structure"], 1)
    with pytest.raises(ValidationFailed, match="absent"):
        deliberated_session(people, [cid], {cid: {"SP-B1": "absent", "SP-B2": "validated", "SP-B3": "validated"}})


def test_only_the_president_signs(world):
    people, _ = world
    ids = ready_candidates(people["structure"], 1)
    sid = deliberated_session(people, ids, sign=False)
    with session_scope() as db, pytest.raises(Forbidden, match="président"):
        svc.sign_pv(db, people["salarie1"]["actor"], sid)
    with session_scope() as db:
        svc.sign_pv(db, people["presidente"]["actor"], sid)
        assert db.get(JurySession, sid).pv_signed_by_id == people["presidente"]["id"]


def test_certificate_numbers_never_repeat_under_concurrent_issuance(world):
    people, _ = world
    ids = ready_candidates(people["structure"], 12)
    sid = deliberated_session(people, ids)
    errors: list[Exception] = []

    def worker(chunk):
        try:
            for cid in chunk:
                with session_scope() as db:
                    svc.apply_results(db, sid, cid)
                    issuance.issue_for(db, sid, cid)
        except Exception as exc:  # pragma: no cover - reported by the assertion
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(ids[i::3],)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with session_scope() as db:
        numbers = sorted(c.number for c in db.exec(select(Certificate)))
    assert numbers == [f"SP-{numbers[0][3:7]}-{n:06d}" for n in range(1, 13)]


def test_verification_valid_revoked_forged(world, settings):
    people, _ = world
    (cid,) = ready_candidates(people["structure"], 1, names=[("O'Brien-Lefèvre", "Marie-Noëlle")])
    sid = deliberated_session(people, [cid])
    (c,) = issue_each(sid)
    key = issuance.checksum(c.number)
    assert issuance.verification_url(c.number) == f"{settings.public_base_url}/verify/{c.number}?c={key}"
    with session_scope() as db:
        ok = issuance.verify(db, c.number, key)
        assert (ok.status, ok.holder_initials, ok.kind_label) == (
            "valid",
            "M. O.",
            "Certificat de qualification professionnelle",
        )
        assert issuance.verify(db, c.number, "0" * 16).status == "unknown"  # forged key
        assert issuance.verify(db, c.number, None).status == "unknown"
        assert issuance.verify(db, "SP-2026-999999", key).status == "unknown"
        issuance.revoke(db, people["officer"]["actor"], c.id, "Fraude à l'examen")
    with session_scope() as db:
        revoked = issuance.verify(db, c.number, key)
        assert revoked.status == "revoked" and revoked.revoked_reason == "Fraude à l'examen"
        assert cand.held_blocs(db, db.get(Candidate, cid)) == {}


def test_duplicate_and_correction_keep_the_number_and_history(world):
    people, _ = world
    (cid,) = ready_candidates(people["structure"], 1)
    (c,) = issue_each(deliberated_session(people, [cid]))
    officer = people["officer"]["actor"]
    with session_scope() as db:
        issuance.duplicate(db, officer, c.id, "Perte de l'original")
        issuance.correct(db, officer, c.id, reason="Erreur de saisie du nom", last_name="Martin-N'Guessan")
        with pytest.raises(ValidationFailed):
            issuance.correct(db, officer, c.id, reason="rien")
    with session_scope() as db:
        row = db.get(Certificate, c.id)
        assert (row.number, row.version, row.holder_last_name) == (c.number, 3, "Martin-N'Guessan")
        correction = [e for e in timeline(db, "certificates", c.id) if e.action == "correct"][0]
        assert correction.data["before"]["holder_last_name"].startswith("Martin-N'Guessan ")


def _flags(sid: int) -> list[AuditEvent]:
    with session_scope() as db:
        return [e for e in timeline(db, "jury_sessions", sid) if e.action == "flag"]


def test_suspension_owes_the_flagging_of_pending_sessions_done_once_by_the_lifecycle_flow(world):
    people, agrement_id = world
    ids = ready_candidates(people["structure"], 1)
    sid = deliberated_session(people, ids, sign=False)
    with session_scope() as db:
        lifecycle.suspend(db, people["officer"]["actor"], agrement_id, "Manquements graves")
    with session_scope() as db:  # the decision owes the flagging; the agrément's services do not flag
        assert db.get(JurySession, sid).flag_reason is None
        owed = db.exec(select(OwedEffect).where(OwedEffect.entity_type == "agrements")).all()
        assert [(e.process, e.dossier_id, e.step, e.done_at) for e in owed] == [
            ("agrement", agrement_id, "suspend", None)
        ]
    assert advance_agrement(agrement_id)["flagged_juries"] == [sid]
    assert advance_agrement(agrement_id)["flagged_juries"] == []  # once, whatever reruns
    with session_scope() as db:
        jury = db.get(JurySession, sid)
        agrement = db.get(Agrement, agrement_id)
        structure = db.get(Structure, agrement.structure_id)
        assert jury.flag_reason == f"« {structure.name} » : agrément suspendu ({agrement.number})"
        assert db.exec(select(OwedEffect).where(OwedEffect.entity_type == "agrements")).one().done_at is not None
    (flag,) = _flags(sid)
    assert (flag.actor_role, flag.reason) == ("system", jury.flag_reason)


def test_expiry_flags_pending_sessions(world):
    people, agrement_id = world
    ids = ready_candidates(people["structure"], 1)
    sid = deliberated_session(people, ids, sign=False)
    with session_scope() as db:
        agrement = db.get(Agrement, agrement_id)
        end = agrement.end_date
    with time_machine.travel(datetime(end.year, end.month, end.day, 12, tzinfo=UTC) + timedelta(days=1)):
        outcome = advance_agrement(agrement_id)
    assert "expire" in outcome["transitions"] and outcome["flagged_juries"] == [sid]
    (flag,) = _flags(sid)
    assert "agrément expiré" in flag.reason


def test_the_inbox_gives_the_signature_to_the_president_only(world):
    """The inbox asks a jury member for what the domain lets him do now (``jury_actions``): the
    president signs the PV of a closed deliberation; another member has nothing to do."""
    from api.web.inbox import build_inbox
    from certification.models import User

    people, _ = world
    ids = ready_candidates(people["structure"], 1)
    sid = deliberated_session(people, ids, sign=False)
    with session_scope() as db:
        reference = db.get(JurySession, sid).reference

        def steps(key: str) -> list[tuple[str, str]]:
            user = db.get(User, people[key]["id"])
            return [(i.reference, i.step) for i in build_inbox(db, user, people[key]["actor"]) if i.kind == "jury"]

        assert steps("presidente") == [(reference, "Signer le procès-verbal")]
        assert steps("employeur2") == []
        assert steps("salarie1") == []
