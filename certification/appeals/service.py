"""Recours (appeals) against a jury's decision: filed within 2 months of the results, admissibility,
review by the jury, upheld (new results, new PV, new documents) or rejected."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from sqlmodel import Session, select

from certification.audit import Actor, apply_transition, record_on
from certification.clock import now
from certification.errors import Conflict, Forbidden, NotFound, ValidationFailed
from certification.appeals.models import Appeal
from certification.models import Role
from certification.jury.models import JuryCandidate, JurySession
from certification.numbering import next_value
from certification.appeals.states import APPEAL, AppealState
from certification.jury.states import JURY, JuryState
from certification.jury import queries as jury_queries
from certification.jury import service as jury_svc
from certification.appeals.queries import get_appeal
from certification.candidates.queries import get_candidate
from certification.settings import get_settings

ENTITY = Appeal.__tablename__


def deadline_of(jury: JurySession) -> date | None:
    if jury.results_notified_at is None:
        return None
    notified = jury.results_notified_at.date()
    months = get_settings().appeal_delay_months
    month = notified.month - 1 + months
    year, month = notified.year + month // 12, month % 12 + 1
    for day in (notified.day, 30, 29, 28):
        try:
            return notified.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def file_appeal(db: Session, actor: Actor, *, candidate_id: int, jury_session_id: int, grounds: str) -> Appeal:
    """Filed by the candidate's structure (or an officer on the candidate's behalf)."""
    if actor.role not in (Role.structure, Role.officer):
        raise Forbidden("Le recours est déposé par la structure ou le certificateur.", code="role_not_allowed")
    candidate = get_candidate(db, actor, candidate_id)
    jury = db.get(JurySession, jury_session_id)
    row = (
        db.exec(
            select(JuryCandidate).where(
                JuryCandidate.session_id == jury_session_id, JuryCandidate.candidate_id == candidate.id
            )
        ).first()
        if jury
        else None
    )
    if row is None:
        raise NotFound("Ce candidat n'a pas été présenté à cette session.", code="candidate_not_in_session")
    deadline = deadline_of(jury)
    if deadline is None:
        raise Conflict("Les résultats de cette session n'ont pas encore été notifiés.", code="results_not_notified")
    if now().date() > deadline:
        raise Conflict(f"Le délai de recours a expiré le {deadline:%d/%m/%Y}.", code="appeal_too_late")
    if not grounds.strip():
        raise ValidationFailed("Exposez les motifs du recours.", code="grounds_required")
    open_states = [AppealState.filed.value, AppealState.admissible.value]
    if db.exec(
        select(Appeal).where(
            Appeal.candidate_id == candidate.id, Appeal.session_id == jury_session_id, Appeal.state.in_(open_states)
        )
    ).first():
        raise Conflict("Un recours est déjà en cours pour ce candidat et cette session.", code="appeal_already_open")
    year = now().year
    appeal = Appeal(
        reference=f"REC-{year}-{next_value(db, 'appeal', year):04d}",
        candidate_id=candidate.id,
        session_id=jury_session_id,
        grounds=grounds.strip(),
        state=AppealState.filed.value,
        filed_by_id=actor.user_id,
    )
    db.add(appeal)
    db.flush()
    filed = {"reference": appeal.reference, "deadline": deadline.isoformat()}
    record_on(db, appeal, "file", actor, created=True, data=filed)
    return appeal


def _officer(actor: Actor) -> None:
    if actor.role is not Role.officer:
        raise Forbidden("Action réservée au chargé·e de certification.", code="role_not_allowed")


def declare_admissible(db: Session, actor: Actor, appeal_id: int) -> Appeal:
    _officer(actor)
    appeal = get_appeal(db, actor, appeal_id)
    apply_transition(db, APPEAL, appeal, "declare_admissible", actor)
    return appeal


def _decide(db: Session, actor: Actor, appeal_id: int, transition: str, reason: str) -> Appeal:
    """The officer's reasoned decision ``transition``; its reason is kept as the decision's."""
    _officer(actor)
    appeal = get_appeal(db, actor, appeal_id)
    reason = (reason or "").strip()
    apply_transition(db, APPEAL, appeal, transition, actor, reason=reason, changes={"decision_reason": reason})
    return appeal


def declare_inadmissible(db: Session, actor: Actor, appeal_id: int, reason: str) -> Appeal:
    return _decide(db, actor, appeal_id, "declare_inadmissible", reason)


def reject(db: Session, actor: Actor, appeal_id: int, reason: str) -> Appeal:
    return _decide(db, actor, appeal_id, "reject", reason)


def uphold(db: Session, actor: Actor, appeal_id: int, *, results: Mapping[str, str], reason: str) -> Appeal:
    """The jury, reviewing the appeal, changes the candidate's results: new PV version, and the flow
    issues the new documents."""
    _officer(actor)
    appeal = get_appeal(db, actor, appeal_id)
    jury = db.get(JurySession, appeal.session_id)
    if jury.state != JuryState.results_notified:
        raise Conflict("La session doit avoir notifié ses résultats.", code="results_not_notified")
    apply_transition(
        db,
        APPEAL,
        appeal,
        "uphold",
        actor,
        reason=(reason or "").strip(),
        data={"results": dict(results)},
        changes={"decision_reason": (reason or "").strip()},
    )
    row = db.exec(
        select(JuryCandidate).where(
            JuryCandidate.session_id == jury.id, JuryCandidate.candidate_id == appeal.candidate_id
        )
    ).one()
    if set(results) != set(row.blocs) or not set(results.values()) <= {"validated", "not_validated", "absent"}:
        raise ValidationFailed(f"Indiquez le nouveau résultat des blocs {', '.join(row.blocs)}.", code="bad_blocs")
    apply_transition(
        db,
        JURY,
        jury,
        "amend_after_appeal",
        actor,
        reason=f"Recours {appeal.reference} fondé",
        data={"appeal": appeal.reference, "pv_version": jury.pv_version + 1},
        changes={"pv_version": jury.pv_version + 1, "pv_signed_at": now(), "pv_signed_by_id": actor.user_id},
    )
    for d in jury_queries.deliberations_of(db, jury.id, appeal.candidate_id):
        d.result, d.comment, d.recorded_by_id, d.recorded_at = (
            results[d.bloc_code],
            f"Recours {appeal.reference}",
            actor.user_id,
            now(),
        )
        db.add(d)
    db.flush()
    row.outcome = jury_svc.outcome_of(db, row)
    db.add(row)
    db.flush()
    jury_svc.apply_all_results(db, jury.id)
    return appeal
