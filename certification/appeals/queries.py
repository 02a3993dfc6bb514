"""What an actor may read of the appeals (recours): the officer and the system every appeal, a
structure those of its candidates."""

from __future__ import annotations

from sqlmodel import Session, select
from sqlmodel.sql.expression import SelectOfScalar

from certification.appeals.models import Appeal
from certification.audit import Actor
from certification.candidates.queries import candidates_of_structure
from certification.errors import Forbidden
from certification.models import Role
from certification.visibility import structure_of, visible_one


def _query(session: Session, actor: Actor) -> SelectOfScalar[Appeal]:
    query = select(Appeal).order_by(Appeal.id)
    if actor.role in (Role.officer, Role.system):
        return query
    if actor.role is Role.structure:
        return query.where(Appeal.candidate_id.in_(candidates_of_structure(structure_of(session, actor) or -1)))
    raise Forbidden("Votre rôle ne donne pas accès aux recours.", code="role_not_allowed")


def list_appeals(session: Session, actor: Actor) -> list[Appeal]:
    return list(session.exec(_query(session, actor)))


def get_appeal(session: Session, actor: Actor, appeal_id: int) -> Appeal:
    return visible_one(session, actor, _query, Appeal, appeal_id, missing="Recours introuvable.", code="appeal_not_found")
