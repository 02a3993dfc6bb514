"""What an actor may read of the jury sessions and the certificates.

Officers and the system read every session; a jury member the sessions he sits on. Officers read
every certificate; a structure its candidates' certificates.
"""

from __future__ import annotations

from sqlmodel import Session, select
from sqlmodel.sql.expression import SelectOfScalar

from certification.audit import Actor
from certification.jury.models import Certificate, Deliberation, JuryCandidate, JuryMember, JurySession
from certification.jury.states import PENDING_JURY_STATES
from certification.candidates.models import Candidate
from certification.candidates.queries import candidates_of_structure
from certification.candidates.states import CandidateState
from certification.models import Role
from certification.visibility import seen_by, structure_of, visible_one


# --- jury sessions -------------------------------------------------------------------------


def _sessions_query(db: Session, actor: Actor) -> SelectOfScalar[JurySession]:
    return seen_by(actor, select(JurySession).order_by(JurySession.scheduled_at, JurySession.id), {
        Role.jury_member: lambda: JurySession.id.in_(
            select(JuryMember.session_id).where(JuryMember.user_id == actor.user_id)),
    }, refused="Votre rôle ne donne pas accès aux sessions de jury.")


def list_sessions(db: Session, actor: Actor) -> list[JurySession]:
    return list(db.exec(_sessions_query(db, actor)))


def get_jury_session(db: Session, actor: Actor, jury_session_id: int) -> JurySession:
    return visible_one(db, actor, _sessions_query, JurySession, jury_session_id, missing="Session de jury introuvable.", code="jury_not_found")


def members_of(db: Session, jury_session_id: int) -> list[JuryMember]:
    return list(db.exec(select(JuryMember).where(JuryMember.session_id == jury_session_id).order_by(JuryMember.id)))


def candidates_of(db: Session, jury_session_id: int) -> list[JuryCandidate]:
    return list(
        db.exec(select(JuryCandidate).where(JuryCandidate.session_id == jury_session_id).order_by(JuryCandidate.id))
    )


def deliberations_of(db: Session, jury_session_id: int, candidate_id: int | None = None) -> list[Deliberation]:
    query = select(Deliberation).where(Deliberation.session_id == jury_session_id)
    if candidate_id is not None:
        query = query.where(Deliberation.candidate_id == candidate_id)
    return list(db.exec(query.order_by(Deliberation.id)))


def results_by_candidate(db: Session, jury_session_id: int) -> dict[int, dict[str, str]]:
    """The session's recorded results, read at once: candidate id -> {bloc code: result} (read by
    the session's read model, :mod:`certification.jury.read_model`)."""
    results: dict[int, dict[str, str]] = {}
    for d in deliberations_of(db, jury_session_id):
        results.setdefault(d.candidate_id, {})[d.bloc_code] = d.result
    return results


# --- certificates --------------------------------------------------------------------------


def _certificates_query(db: Session, actor: Actor) -> SelectOfScalar[Certificate]:
    return seen_by(actor, select(Certificate).order_by(Certificate.id), {
        Role.structure: lambda: Certificate.candidate_id.in_(candidates_of_structure(structure_of(db, actor) or -1)),
    }, refused="Votre rôle ne donne pas accès aux certificats.")


def list_certificates(db: Session, actor: Actor, *, jury_session_id: int | None = None) -> list[Certificate]:
    query = _certificates_query(db, actor)
    if jury_session_id is not None:
        query = query.where(Certificate.session_id == jury_session_id)
    return list(db.exec(query))


def get_certificate(db: Session, actor: Actor, certificate_id: int) -> Certificate:
    return visible_one(db, actor, _certificates_query, Certificate, certificate_id, missing="Certificat introuvable.", code="certificate_not_found")


def unplaced_ready_candidates(db: Session, certification_id: int | None = None) -> list[Candidate]:
    """Candidates ready for a jury who are not registered in a pending session."""
    placed = select(JuryCandidate.candidate_id).join(JurySession, JurySession.id == JuryCandidate.session_id).where(
        JurySession.state.in_([s.value for s in PENDING_JURY_STATES]))
    query = select(Candidate).where(Candidate.state == CandidateState.ready_for_jury.value,
                                    Candidate.id.not_in(placed)).order_by(Candidate.id)
    if certification_id is not None:
        query = query.where(Candidate.certification_id == certification_id)
    return list(db.exec(query))
