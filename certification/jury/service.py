"""Jury sessions: planning, members (jury paritaire, independence), candidates, deliberation per
bloc, PV, and the application of the results (blocs acquired, certificates, attestations)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime

from sqlmodel import Session, select

from certification import chronology
from certification.audit import SYSTEM, Actor, apply_transition, record_event, record_on
from certification.clock import now, today
from certification.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from certification.candidates.models import Candidate
from certification.jury.models import BlocAcquisition, Deliberation, JuryCandidate, JuryMember, JurySession
from certification.models import Role, Structure, User
from certification.numbering import next_value
from certification.candidates.states import CANDIDATE, CandidateState
from certification.jury.queries import candidates_of, deliberations_of, get_jury_session, members_of
from certification.jury.states import COLLEGES, DELIBERATION_RESULTS, JURY, PENDING_JURY_STATES, JuryState
from certification.candidates import service as cand
from certification.services import conflicts
from certification.agrement import queries as agrement_queries
from certification.services.referential import get_certification
from certification.settings import get_settings

ENTITY = JurySession.__tablename__


def _officer_only(actor: Actor) -> None:
    if actor.role is not Role.officer:
        raise Forbidden("Action réservée au chargé·e de certification.", code="role_not_allowed")


# --- planning ------------------------------------------------------------------------------

QUORUM_MIN, QUORUM_MAX = 3, 20
BAD_QUORUM = f"Le quorum doit être compris entre {QUORUM_MIN} et {QUORUM_MAX} membres."


def check_plan(scheduled_at: datetime, place: str | None, video_link: str | None) -> tuple[str | None, str | None]:
    """The date and the place of a session to plan, checked: ``(place, video_link)`` stripped."""
    if scheduled_at.tzinfo is None:
        raise ValidationFailed("Indiquez le fuseau horaire de la session.", code="naive_datetime")
    if scheduled_at <= now():
        raise ValidationFailed("La session doit être planifiée dans le futur.", code="session_in_past")
    place, video_link = (place or "").strip() or None, (video_link or "").strip() or None
    if not place and not video_link:
        raise ValidationFailed("Indiquez un lieu ou un lien de visioconférence.", code="place_required")
    if video_link and not video_link.startswith("https://"):
        raise ValidationFailed("Le lien de visioconférence doit commencer par https://.", code="bad_video_link")
    return place, video_link



def plan_session(
    db: Session,
    actor: Actor,
    *,
    certification_code: str,
    scheduled_at: datetime,
    place: str | None = None,
    video_link: str | None = None,
    quorum: int = 3,
    duration_minutes: int = 240,
) -> JurySession:
    _officer_only(actor)
    cert = get_certification(db, certification_code)
    place, video_link = check_plan(scheduled_at, place, video_link)
    if not QUORUM_MIN <= quorum <= QUORUM_MAX:
        raise ValidationFailed(BAD_QUORUM, code="bad_quorum")
    year = scheduled_at.year
    jury = JurySession(
        reference=f"JURY-{year}-{next_value(db, 'jury', year):04d}", certification_id=cert.id,
        scheduled_at=scheduled_at, duration_minutes=duration_minutes, place=place, video_link=video_link,
        quorum=quorum, state=JuryState.planned.value, created_by_id=actor.user_id,
    )
    db.add(jury)
    db.flush()
    record_event(db, entity_type=ENTITY, entity_id=jury.id, action="plan", actor=actor, from_state=None,
                 to_state=jury.state, data={"reference": jury.reference, "certification": cert.code})
    return jury


def _editable(jury: JurySession) -> None:
    if jury.state not in (JuryState.planned, JuryState.convened):
        raise Conflict("La composition et la liste des candidats sont figées à ce stade.", code="jury_frozen")


def structures_of_candidates(db: Session, jury_session_id: int) -> list[Structure]:
    """The structures of the session's candidates (its members must be independent of each)."""
    ids = {c.structure_id for c in db.exec(
        select(Candidate).join(JuryCandidate, JuryCandidate.candidate_id == Candidate.id)
        .where(JuryCandidate.session_id == jury_session_id))}
    return [db.get(Structure, i) for i in sorted(ids)]


def add_member(db: Session, actor: Actor, jury_session_id: int, *, user_id: int, college: str,
               is_president: bool = False) -> JuryMember:
    _officer_only(actor)
    jury = get_jury_session(db, actor, jury_session_id)
    _editable(jury)
    user = db.get(User, user_id)
    if user is None or user.role != Role.jury_member.value or not user.active:
        raise ValidationFailed("Le compte désigné n'est pas un membre de jury actif.", code="not_a_jury_member")
    if college not in COLLEGES:
        raise ValidationFailed(f"Collège parmi : {', '.join(COLLEGES)}.", code="bad_college")
    if any(m.user_id == user_id for m in members_of(db, jury.id)):
        raise Conflict(f"{user.full_name} siège déjà dans cette session.", code="already_member")
    if is_president and any(m.is_president for m in members_of(db, jury.id)):
        raise Conflict("La session a déjà un président.", code="president_exists")
    for structure in structures_of_candidates(db, jury.id):
        conflicts.ensure_independent(db, user, structure, purpose="siéger au jury d'un candidat de")
    member = JuryMember(session_id=jury.id, user_id=user.id, college=college, is_president=is_president)
    db.add(member)
    db.flush()
    record_on(db, jury, "add_member", actor,
              data={"user_id": user.id, "name": user.full_name, "college": college, "president": is_president})
    return member


def add_candidates(db: Session, actor: Actor, jury_session_id: int, candidate_ids: Sequence[int]) -> list[JuryCandidate]:
    """Register ready candidates; each is assessed only on the blocs he does not hold yet."""
    _officer_only(actor)
    jury = get_jury_session(db, actor, jury_session_id)
    _editable(jury)
    members = [db.get(User, m.user_id) for m in members_of(db, jury.id)]
    already = {c.candidate_id for c in candidates_of(db, jury.id)}
    added = []
    for candidate_id in dict.fromkeys(candidate_ids):
        candidate = db.get(Candidate, candidate_id)
        if candidate is None:
            raise NotFound(f"Candidat {candidate_id} introuvable.", code="candidate_not_found")
        if candidate_id in already:
            raise Conflict(f"{candidate.reference} est déjà inscrit à la session.", code="already_registered")
        if candidate.state != CandidateState.ready_for_jury:
            raise Conflict(f"{candidate.reference} n'est pas prêt pour le jury.", code="candidate_not_ready")
        if candidate.certification_id != jury.certification_id:
            raise ValidationFailed(f"{candidate.reference} prépare une autre certification.", code="wrong_certification")
        if not agrement_queries.valid_agrement_for(db, candidate.structure_id, candidate.certification_id, today()):
            raise Conflict(f"La structure de {candidate.reference} n'a plus d'agrément en vigueur.",
                           code="no_valid_agrement")
        structure = db.get(Structure, candidate.structure_id)
        for member in members:
            conflicts.ensure_independent(db, member, structure, purpose="siéger au jury d'un candidat de")
        row = JuryCandidate(session_id=jury.id, candidate_id=candidate.id, blocs=cand.blocs_to_assess(db, candidate))
        db.add(row)
        added.append(row)
    db.flush()
    record_on(db, jury, "add_candidates", actor, data={"candidates": [r.candidate_id for r in added]})
    return added


def convene(db: Session, actor: Actor, jury_session_id: int) -> JurySession:
    jury = get_jury_session(db, actor, jury_session_id)
    apply_transition(db, JURY, jury, "convene", actor, context={
        "members": len(members_of(db, jury.id)), "candidates": len(candidates_of(db, jury.id))})
    return jury


def record_attendance(db: Session, actor: Actor, jury_session_id: int, present: Mapping[int, bool]) -> JurySession:
    _officer_only(actor)
    jury = get_jury_session(db, actor, jury_session_id)
    if jury.state != JuryState.convened:
        raise Conflict("Les présences se saisissent une fois les membres convoqués.", code="not_convened")
    chronology.check_session_started(jury.scheduled_at, "La saisie des présences")
    members = {m.user_id: m for m in members_of(db, jury.id)}
    unknown = set(present) - set(members)
    if unknown:
        raise ValidationFailed(f"Membres inconnus : {sorted(unknown)}.", code="unknown_member")
    for user_id, is_present in present.items():
        members[user_id].present = bool(is_present)
        db.add(members[user_id])
    record_on(db, jury, "attendance", actor, data={str(k): v for k, v in present.items()})
    db.flush()
    return jury


def composition_problems(db: Session, jury: JurySession) -> list[str]:
    """Why the jury may not deliberate: president, both colleges, quorum, independence."""
    present = [m for m in members_of(db, jury.id) if m.present is not False]
    problems = []
    if sum(m.is_president for m in present) != 1:
        problems.append("un président présent est requis")
    for college, label in COLLEGES.items():
        if not any(m.college == college for m in present):
            problems.append(f"le {label} n'est pas représenté")
    if len(present) < jury.quorum:
        problems.append(f"quorum non atteint ({len(present)} présents sur {jury.quorum} requis)")
    employers = sum(m.college == "employeur" for m in present)
    if present and abs(employers - (len(present) - employers)) > 1:
        problems.append("les collèges ne sont pas paritaires")
    structures = structures_of_candidates(db, jury.id)
    for member in present:
        user = db.get(User, member.user_id)
        for structure in structures:
            if conflicts.conflicting_links(db, user.id, structure.id):
                problems.append(f"{user.full_name} n'est pas indépendant de « {structure.name} »")
    return problems


def check_composition(db: Session, actor: Actor, jury_session_id: int) -> JurySession:
    jury = get_jury_session(db, actor, jury_session_id)
    apply_transition(db, JURY, jury, "check_composition", actor,
                     context={"composition_problems": composition_problems(db, jury)})
    return jury


NOT_PRESIDENT = "Seul le président du jury peut effectuer cette action."
PARTIAL_ABSENCE = "Un candidat absent l'est pour tous ses blocs."


def is_president(db: Session, actor: Actor, jury: JurySession) -> bool:
    """Whether ``actor`` sits on the session as its president."""
    return any(m.user_id == actor.user_id and m.is_president for m in members_of(db, jury.id))


def _president_or_officer(db: Session, actor: Actor, jury: JurySession) -> None:
    if actor.role is Role.jury_member and not is_president(db, actor, jury):
        raise Forbidden(NOT_PRESIDENT, code="not_president")


def record_results(
    db: Session, actor: Actor, jury_session_id: int, candidate_id: int, results: Mapping[str, str], comment: str = ""
) -> JuryCandidate:
    """The jury's result on each assessed bloc of one candidate (may be corrected until closing)."""
    jury = get_jury_session(db, actor, jury_session_id)
    _president_or_officer(db, actor, jury)
    row = next((c for c in candidates_of(db, jury.id) if c.candidate_id == candidate_id), None)
    if row is None:
        raise NotFound("Ce candidat n'est pas inscrit à la session.", code="candidate_not_in_session")
    if set(results) != set(row.blocs):
        raise ValidationFailed(f"Indiquez un résultat pour exactement les blocs évalués : {', '.join(row.blocs)}.",
                               code="bad_blocs")
    if cand.vae_interview_missing(db, db.get(Candidate, candidate_id)) and set(results.values()) != {"absent"}:
        raise Conflict("Candidat en VAE : enregistrez d'abord l'entretien avec le jury (dossier de VAE).",
                       code="vae_interview_missing")
    bad = {r for r in results.values() if r not in DELIBERATION_RESULTS}
    if bad:
        raise ValidationFailed(f"Résultat parmi : {', '.join(DELIBERATION_RESULTS)}.", code="bad_result")
    if len(set(results.values()) & {"absent"}) and set(results.values()) != {"absent"}:
        raise ValidationFailed(PARTIAL_ABSENCE, code="partial_absence")
    chronology.check_session_started(jury.scheduled_at, "La délibération")
    # Results of different candidates are recorded concurrently: the session row is only read
    # under a shared lock (closing the deliberation waits for them, and they for it), the
    # candidate's row is locked for update, and the session's version does not move.
    JURY.check("record_results", jury.state, actor.role, entity=jury, reason=comment.strip() or None)
    locked = db.exec(select(JurySession).where(
        JurySession.id == jury.id, JurySession.state == JuryState.composition_checked.value,
    ).with_for_update(read=True)).first()
    if locked is None:
        raise InvalidTransition(
            "Action « saisir les résultats » impossible : la délibération n'est pas ouverte pour cette session.",
            code="invalid_transition", details={"state": jury.state, "transition": "record_results"},
        )
    db.exec(select(JuryCandidate).where(JuryCandidate.id == row.id).with_for_update())
    record_on(db, jury, "record_results", actor, reason=comment.strip() or None,
              data={"candidate_id": candidate_id, "results": dict(results)})
    existing = {d.bloc_code: d for d in deliberations_of(db, jury.id, candidate_id)}
    for bloc, result in results.items():
        row_d = existing.get(bloc) or Deliberation(session_id=jury.id, candidate_id=candidate_id, bloc_code=bloc,
                                                   result=result, recorded_by_id=actor.user_id)
        row_d.result, row_d.comment, row_d.recorded_by_id, row_d.recorded_at = result, comment.strip(), actor.user_id, now()
        db.add(row_d)
    db.flush()
    return row


def missing_results(db: Session, jury: JurySession) -> list[str]:
    recorded = {(d.candidate_id, d.bloc_code) for d in deliberations_of(db, jury.id)}
    missing = []
    for row in candidates_of(db, jury.id):
        if any((row.candidate_id, b) not in recorded for b in row.blocs):
            missing.append(db.get(Candidate, row.candidate_id).reference)
    return missing


def outcome_of(db: Session, row: JuryCandidate) -> str:
    """certified | partial | none | absent, from this session's results and the blocs held before."""
    results = {d.bloc_code: d.result for d in deliberations_of(db, row.session_id, row.candidate_id)}
    if results and set(results.values()) == {"absent"}:
        return "absent"
    candidate = db.get(Candidate, row.candidate_id)
    held_before = set(cand.held_blocs(db, candidate)) - {b for b, r in results.items()}
    validated = {b for b, r in results.items() if r == "validated"}
    if set(candidate.blocs) <= held_before | validated:
        return "certified"
    return "partial" if validated else "none"


def close_deliberation(db: Session, actor: Actor, jury_session_id: int) -> JurySession:
    jury = get_jury_session(db, actor, jury_session_id)
    _president_or_officer(db, actor, jury)
    chronology.check_session_started(jury.scheduled_at, "La clôture de la délibération")
    apply_transition(db, JURY, jury, "close_deliberation", actor,
                     context={"missing_results": missing_results(db, jury)})
    for row in candidates_of(db, jury.id):
        row.outcome = outcome_of(db, row)
        db.add(row)
    db.flush()
    return jury


def sign_pv(db: Session, actor: Actor, jury_session_id: int) -> JurySession:
    jury = get_jury_session(db, actor, jury_session_id)
    _president_or_officer(db, actor, jury)
    chronology.check_session_started(jury.scheduled_at, "La signature du procès-verbal")
    apply_transition(db, JURY, jury, "sign_pv", actor, data={"pv_version": jury.pv_version},
                     changes={"pv_signed_at": now(), "pv_signed_by_id": actor.user_id})
    apply_all_results(db, jury.id)
    return jury


def apply_all_results(db: Session, jury_session_id: int) -> None:
    """Blocs acquired, candidates' states and certificate numbers, in the signature's transaction:
    the register is up to date when the signature answers; the flow renders and sends."""
    from certification.jury import issuance

    jury = db.get(JurySession, jury_session_id)
    rows = candidates_of(db, jury_session_id)
    ids = [row.candidate_id for row in rows]
    # Loaded once and held here: the session's identity map keeps them while this runs (it holds
    # its rows weakly, and each would otherwise be read again at every step of every candidate).
    people = {c.id: c for c in db.exec(select(Candidate).where(Candidate.id.in_(ids)))}
    results: dict[int, list[Deliberation]] = {}
    for d in deliberations_of(db, jury_session_id):
        results.setdefault(d.candidate_id, []).append(d)
    for candidate_id in ids:
        apply_results(db, jury_session_id, candidate_id, deliberations=results.get(candidate_id, []))
    issuance.issue_all(db, jury, [people[i] for i in ids])


def cancel(db: Session, actor: Actor, jury_session_id: int, reason: str) -> JurySession:
    jury = get_jury_session(db, actor, jury_session_id)
    apply_transition(db, JURY, jury, "cancel", actor, reason=(reason or "").strip())
    return jury


# --- results (system, driven by the flow) ----------------------------------------------------


def apply_results(db: Session, jury_session_id: int, candidate_id: int,
                  deliberations: list[Deliberation] | None = None) -> None:
    """Blocs acquired and the candidate's state, once the PV is signed. Idempotent.
    ``deliberations``: the candidate's results in this session, when the caller has read them."""
    jury = db.get(JurySession, jury_session_id)
    if jury.state not in (JuryState.pv_signed, JuryState.results_notified):
        raise Conflict("Le PV n'est pas signé.", code="pv_not_signed")
    validity = get_settings().bloc_validity_years
    acquired_on = jury.scheduled_at.date()
    until = _add_years(acquired_on, validity)
    existing = {a.bloc_code: a for a in db.exec(select(BlocAcquisition).where(
        BlocAcquisition.candidate_id == candidate_id, BlocAcquisition.session_id == jury_session_id))}
    if deliberations is None:
        deliberations = deliberations_of(db, jury_session_id, candidate_id)
    for d in deliberations:
        row = existing.get(d.bloc_code)
        if d.result == "validated" and row is None:
            db.add(BlocAcquisition(candidate_id=candidate_id, bloc_code=d.bloc_code, session_id=jury_session_id,
                                        acquired_on=acquired_on, valid_until=until))
        elif row is not None:  # an appeal may have changed the result
            row.cancelled = d.result != "validated"
            db.add(row)
    db.flush()
    candidate = db.get(Candidate, candidate_id)
    certified = not cand.missing_blocs(db, candidate)
    target = "certify" if certified else "return_to_training"
    if candidate.state == CandidateState.ready_for_jury or (certified and candidate.state == CandidateState.in_training):
        apply_transition(db, CANDIDATE, candidate, target, SYSTEM,
                         data={"jury": jury.reference, "pv_version": jury.pv_version})


def notify_results(db: Session, jury_session_id: int) -> JurySession:
    jury = db.get(JurySession, jury_session_id)
    apply_transition(db, JURY, jury, "notify_results", SYSTEM, data={"pv_version": jury.pv_version},
                     changes={"results_notified_at": now()})
    return jury


def flag_pending_sessions(db: Session, actor: Actor, structure_id: int, reason: str) -> list[JurySession]:
    """A structure lost its agrément: flag the pending sessions where its candidates are presented."""
    pending = db.exec(
        select(JurySession).join(JuryCandidate, JuryCandidate.session_id == JurySession.id)
        .join(Candidate, Candidate.id == JuryCandidate.candidate_id)
        .where(Candidate.structure_id == structure_id,
               JurySession.state.in_([s.value for s in PENDING_JURY_STATES]))
    ).unique().all()
    structure = db.get(Structure, structure_id)
    text = f"« {structure.name} » : {reason}"
    for jury in pending:
        jury.flag_reason = "\n".join(filter(None, [jury.flag_reason, text]))
        db.add(jury)
        record_on(db, jury, "flag", actor, reason=text, data={"structure_id": structure_id})
    db.flush()
    return list(pending)


def _add_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)
