"""What an actor may read of the appeals (recours): the officer and the system every appeal, a
structure those of its candidates."""

from __future__ import annotations

from sqlmodel import Session, select
from sqlmodel.sql.expression import SelectOfScalar

from certification.appeals.models import Appeal
from certification.audit import Actor
from certification.candidates.queries import candidates_of_structure
from certification.models import Role
from certification.visibility import seen_by, structure_of, visible_one


def _query(db: Session, actor: Actor) -> SelectOfScalar[Appeal]:
    return seen_by(
        actor,
        select(Appeal).order_by(Appeal.id),
        {
            Role.structure: lambda: Appeal.candidate_id.in_(candidates_of_structure(structure_of(db, actor) or -1)),
        },
        refused="Votre rôle ne donne pas accès aux recours.",
    )


def list_appeals(db: Session, actor: Actor) -> list[Appeal]:
    return list(db.exec(_query(db, actor)))


def get_appeal(db: Session, actor: Actor, appeal_id: int) -> Appeal:
    return visible_one(db, actor, _query, Appeal, appeal_id, missing="Recours introuvable.", code="appeal_not_found")
