"""What an actor may read of the candidates: the officer and the system every candidate, a
structure its own, a jury member the candidates of his sessions; a candidate's evaluations."""

from __future__ import annotations

from sqlmodel import Session, select
from sqlmodel.sql.expression import SelectOfScalar

from certification.audit import Actor
from certification.candidates.models import Candidate, Evaluation
from certification.jury.models import JuryCandidate, JuryMember
from certification.models import Role
from certification.visibility import seen_by, structure_of, visible_one


def candidates_of_structure(structure_id: int) -> SelectOfScalar[int]:
    """The ids of a structure's candidates (a subquery: what a structure's account may see of them)."""
    return select(Candidate.id).where(Candidate.structure_id == structure_id)


def candidates_of_jury_member(user_id: int | None) -> SelectOfScalar[int]:
    """The ids of the candidates presented to the sessions a jury member sits on (a subquery)."""
    sessions = select(JuryMember.session_id).where(JuryMember.user_id == user_id)
    return select(JuryCandidate.candidate_id).where(JuryCandidate.session_id.in_(sessions))


def _query(db: Session, actor: Actor) -> SelectOfScalar[Candidate]:
    return seen_by(actor, select(Candidate).order_by(Candidate.id), {
        Role.structure: lambda: Candidate.structure_id == (structure_of(db, actor) or -1),
        Role.jury_member: lambda: Candidate.id.in_(candidates_of_jury_member(actor.user_id)),
    }, refused="Votre rôle ne donne pas accès aux candidats.")


def list_candidates(db: Session, actor: Actor, *, state: str | None = None) -> list[Candidate]:
    query = _query(db, actor)
    if state:
        query = query.where(Candidate.state == state)
    return list(db.exec(query))


def get_candidate(db: Session, actor: Actor, candidate_id: int) -> Candidate:
    return visible_one(db, actor, _query, Candidate, candidate_id, missing="Candidat introuvable.", code="candidate_not_found")


def evaluations_of(db: Session, candidate_id: int) -> list[Evaluation]:
    return list(db.exec(select(Evaluation).where(Evaluation.candidate_id == candidate_id).order_by(Evaluation.id)))
