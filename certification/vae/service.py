"""Services of the VAE pathway: each applies one transition (or one audited action) and its audit
event in the caller's transaction (the caller commits); the effects a step owes (letters,
e-mails) are recorded with its audit row (:mod:`certification.effects`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel import Session

from certification.audit import Actor, apply_transition, record_on
from certification.clock import now, today
from certification.errors import Conflict, Forbidden, ValidationFailed
from certification.models import Role
from certification.candidates.models import Candidate
from certification.numbering import next_value
from certification.candidates.states import CANDIDATE, CandidateState
from certification.candidates import queries as candidate_queries
from certification.candidates import service as cand
from certification.services.files import PieceIn
from certification.settings import get_settings
from certification.vae.models import VaeDossier
from certification.vae.queries import dossier_of_candidate, get_dossier, jury_sessions_of, presides, sitting_holding
from certification.vae.states import RECEVABILITE_DECISIONS, VAE

ENTITY = VaeDossier.__tablename__
MAX_HOURS = 1000
PRESENTABLE = (CandidateState.registered, CandidateState.in_training)


def _structure_or_officer(actor: Actor) -> None:
    if actor.role not in (Role.structure, Role.officer):
        raise Forbidden("Seule la structure ou le certificateur agit sur ce dossier de VAE.", code="role_not_allowed")


# --- the request -----------------------------------------------------------------------------


def file_request(
    db: Session, actor: Actor, candidate_id: int, *, requested_blocs: Sequence[str] | None = None,
    experience: str = "",
) -> VaeDossier:
    """The structure (or the officer) files the VAE request of a candidate registered on the VAE
    pathway, for some of the blocs he does not hold yet (all of them by default)."""
    _structure_or_officer(actor)
    candidate = candidate_queries.get_candidate(db, actor, candidate_id)  # 404 for another structure's candidate
    if candidate.pathway != cand.PATHWAY_VAE:
        raise Conflict(f"{candidate.reference} n'est pas inscrit en VAE : sa voie d'accès est la formation.",
                       code="not_a_vae_candidate")
    existing = dossier_of_candidate(db, candidate.id)
    if existing is not None:
        raise Conflict(f"Une demande de VAE existe déjà pour ce candidat ({existing.reference}).",
                       code="vae_already_requested", details={"reference": existing.reference})
    if candidate.state not in PRESENTABLE:
        raise Conflict(f"{candidate.reference} ne peut plus déposer de demande de VAE.", code="candidate_not_open")
    missing = cand.missing_blocs(db, candidate)
    chosen = list(dict.fromkeys(requested_blocs)) if requested_blocs else missing
    outside = [b for b in chosen if b not in missing]
    if outside:
        raise ValidationFailed(
            "Blocs non demandables en VAE (hors du parcours du candidat ou déjà acquis) : " + ", ".join(outside) + ".",
            code="bad_blocs", details={"blocs": outside})
    if not chosen:
        raise ValidationFailed("Le candidat détient déjà tous ses blocs : aucun bloc à demander.", code="no_bloc")
    year = now().year
    dossier = VaeDossier(
        reference=f"VAE-{year}-{next_value(db, 'vae', year):04d}",
        candidate_id=candidate.id, structure_id=candidate.structure_id,
        requested_blocs=[b for b in candidate.blocs if b in set(chosen)], experience=experience.strip(),
        state=VAE.initial, filed_by_id=actor.user_id,
        recevabilite_due_on=today() + timedelta(days=get_settings().vae_recevabilite_days),
    )
    db.add(dossier)
    db.flush()
    filed = {"reference": dossier.reference, "candidate": candidate.reference, "blocs": dossier.requested_blocs}
    record_on(db, dossier, "file", actor, created=True, data={**filed, "due_on": dossier.recevabilite_due_on.isoformat()})
    return dossier


def decide_recevabilite(db: Session, actor: Actor, dossier_id: int, *, decision: str, reason: str = "") -> VaeDossier:
    """The officer's decision on the request (the letter and e-mails are owed by the step)."""
    dossier = get_dossier(db, actor, dossier_id)
    if decision not in RECEVABILITE_DECISIONS:
        raise ValidationFailed(f"Décision inconnue : {decision}.", code="unknown_decision")
    changes: dict[str, object] = {"decision_reason": reason.strip() or None, "decided_at": now(),
                                  "decided_by_id": actor.user_id}
    if decision == "recevable":
        changes["livret2_due_on"] = today() + timedelta(days=get_settings().vae_livret2_reminder_after_days)
    apply_transition(db, VAE, dossier, RECEVABILITE_DECISIONS[decision], actor, reason=reason.strip() or None,
                     data={"decision": decision}, changes=changes)
    return dossier


# --- the accompaniment and the livret 2 --------------------------------------------------------


def record_accompaniment(
    db: Session, actor: Actor, dossier_id: int, *, accompanist_name: str, organisation: str = "",
    hours: int | None = None,
) -> VaeDossier:
    """The accompaniment of the candidate (optional): who accompanies him, for which organisation,
    how many hours. Recorded (and corrected) while the dossier is open, after the recevabilité."""
    _structure_or_officer(actor)
    dossier = get_dossier(db, actor, dossier_id)
    if dossier.state not in ("recevable", "livret2_depose"):
        raise Conflict("L'accompagnement se renseigne une fois la demande recevable.", code="not_recevable")
    name, organisation = accompanist_name.strip(), organisation.strip()
    if not name:
        raise ValidationFailed("Indiquez le nom de l'accompagnateur.", code="accompanist_required")
    if hours is not None and not 0 < hours <= MAX_HOURS:
        raise ValidationFailed(f"La durée de l'accompagnement est comprise entre 1 et {MAX_HOURS} heures.",
                               code="bad_hours")
    dossier.accompanist_name, dossier.accompanist_organisation = name[:200], organisation[:200] or None
    dossier.accompaniment_hours, dossier.updated_at = hours, now()
    db.add(dossier)
    accompaniment = {"accompanist": name, "organisation": organisation or None, "hours": hours}
    record_on(db, dossier, "accompaniment", actor, data=accompaniment)
    db.flush()
    return dossier


def deposit_livret2(db: Session, actor: Actor, dossier_id: int, livret2: PieceIn) -> VaeDossier:
    """The livret 2 (dossier de validation, PDF): the candidate becomes ready for the jury, which will
    assess him by interview on the requested blocs. A new deposit replaces it until the interview."""
    _structure_or_officer(actor)
    dossier = get_dossier(db, actor, dossier_id)
    if livret2.content_type != "application/pdf":
        raise ValidationFailed("Le livret 2 doit être un fichier PDF.", code="pdf_required")
    apply_transition(
        db, VAE, dossier, "deposit_livret2", actor,
        data={"file": livret2.original_name, "sha256": livret2.sha256, "size": livret2.size},
        changes={"livret2_name": livret2.original_name[:200], "livret2_content_type": livret2.content_type,
                 "livret2_size": livret2.size, "livret2_sha256": livret2.sha256,
                 "livret2_path": livret2.relative_path, "livret2_deposited_at": now()},
    )
    candidate = db.get(Candidate, dossier.candidate_id)
    if candidate is not None and candidate.state in {s.value for s in PRESENTABLE}:
        apply_transition(db, CANDIDATE, candidate, "present_by_vae", actor,
                         data={"vae": dossier.reference, "blocs": dossier.requested_blocs})
    return dossier


# --- the jury's interview ----------------------------------------------------------------------


def record_interview(
    db: Session, actor: Actor, dossier_id: int, *, interview_at: datetime, notes: str = "",
) -> VaeDossier:
    """The jury's interview with the candidate, recorded by the president of his session or the officer;
    the jury then deliberates on the requested blocs as for any candidate."""
    dossier = get_dossier(db, actor, dossier_id)  # a jury member sees only his sessions' candidates
    if interview_at.tzinfo is None:
        raise ValidationFailed("Indiquez le fuseau horaire de l'entretien.", code="naive_datetime")
    sessions = jury_sessions_of(db, dossier.candidate_id)
    jury_session_id = sessions[-1] if sessions else None
    if actor.role is Role.jury_member and (jury_session_id is None or not presides(db, actor.user_id, jury_session_id)):
        raise Forbidden("Seul le président du jury du candidat enregistre l'entretien.", code="not_president")
    apply_transition(
        db, VAE, dossier, "record_interview", actor,
        context={"in_session": jury_session_id is not None, "interview_at": interview_at},
        data={"interview_at": interview_at.isoformat(), "jury_session_id": jury_session_id},
        changes={"interview_at": interview_at, "interview_notes": notes.strip() or None,
                 "interview_session_id": jury_session_id, "interview_recorded_by_id": actor.user_id},
    )
    return dossier


def abandon(db: Session, actor: Actor, dossier_id: int, reason: str) -> VaeDossier:
    """The VAE given up. A candidate the livret 2 made ready for the jury returns to his registration
    (he may not be put on a jury any more); refused while a jury session not yet closed counts him."""
    _structure_or_officer(actor)
    dossier = get_dossier(db, actor, dossier_id)
    candidate = db.get(Candidate, dossier.candidate_id)
    presented = candidate is not None and candidate.state == CandidateState.ready_for_jury
    sitting = sitting_holding(db, dossier.candidate_id)
    if sitting is not None:
        raise Conflict(f"Le candidat est inscrit à la session de jury {sitting.reference} : la démarche de VAE ne "
                       "peut plus être abandonnée avant la délibération (le candidat peut être retiré).",
                       code="candidate_in_jury_session")
    reason = (reason or "").strip()
    apply_transition(db, VAE, dossier, "abandon", actor, reason=reason)
    if presented:
        apply_transition(db, CANDIDATE, candidate, "abandon_vae", actor, reason=reason,
                         data={"vae": dossier.reference})
    return dossier
