"""What an actor may read of the candidates: the officer and the system every candidate, a
structure its own, a jury member the candidates of his sessions; a candidate's evaluations."""

from __future__ import annotations

from sqlmodel import Session, select
from sqlmodel.sql.expression import SelectOfScalar

from certification.audit import Actor
from certification.candidates.models import Candidate, Evaluation
from certification.errors import Forbidden
from certification.jury.models import JuryCandidate, JuryMember
from certification.models import Role, User
from certification.visibility import visible_one


def structure_of(session: Session, actor: Actor) -> int | None:
    """The structure of the acting user (a structure's account), None without one."""
    user = session.get(User, actor.user_id) if actor.user_id else None
    return user.structure_id if user else None


def _query(session: Session, actor: Actor) -> SelectOfScalar[Candidate]:
    query = select(Candidate).order_by(Candidate.id)
    if actor.role in (Role.officer, Role.system):
        return query
    if actor.role is Role.structure:
        return query.where(Candidate.structure_id == (structure_of(session, actor) or -1))
    if actor.role is Role.jury_member:
        sessions = select(JuryMember.session_id).where(JuryMember.user_id == actor.user_id)
        mine = select(JuryCandidate.candidate_id).where(JuryCandidate.session_id.in_(sessions))
        return query.where(Candidate.id.in_(mine))
    raise Forbidden("Votre rôle ne donne pas accès aux candidats.", code="role_not_allowed")


def list_candidates(session: Session, actor: Actor, *, state: str | None = None) -> list[Candidate]:
    query = _query(session, actor)
    if state:
        query = query.where(Candidate.state == state)
    return list(session.exec(query))


def get_candidate(session: Session, actor: Actor, candidate_id: int) -> Candidate:
    return visible_one(session, actor, _query, Candidate, candidate_id, missing="Candidat introuvable.", code="candidate_not_found")


def evaluations_of(session: Session, candidate_id: int) -> list[Evaluation]:
    return list(session.exec(select(Evaluation).where(Evaluation.candidate_id == candidate_id).order_by(Evaluation.id)))
