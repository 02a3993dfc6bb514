"""What an actor may read of the contrôles d'agrément: the officer and the system everything, a
contrôleur the contrôles entrusted to him, a structure its own; the files of a contrôle."""

from __future__ import annotations

from sqlmodel import Session, select
from sqlmodel.sql.expression import SelectOfScalar

from certification.audit import Actor
from certification.controle.models import Controle, ControleFile
from certification.controle.states import CONTROLE_STATE_LABELS, OPEN_CONTROLE_STATES
from certification.errors import Forbidden
from certification.models import Role
from certification.visibility import in_state, structure_of, visible_one


def _query(session: Session, actor: Actor) -> SelectOfScalar[Controle]:
    query = select(Controle).order_by(Controle.id.desc())
    if actor.role in (Role.officer, Role.system):
        return query
    if actor.role is Role.controleur:
        return query.where(Controle.controleur_id == actor.user_id)
    if actor.role is Role.structure:
        return query.where(Controle.structure_id == (structure_of(session, actor) or -1))
    raise Forbidden("Votre rôle ne donne pas accès aux contrôles.", code="role_not_allowed")


def list_controles(session: Session, actor: Actor, *, state: str | None = None) -> list[Controle]:
    return list(session.exec(in_state(_query(session, actor), Controle, state, CONTROLE_STATE_LABELS)))


def get_controle(session: Session, actor: Actor, controle_id: int) -> Controle:
    """The contrôle if ``actor`` may see it; 404 otherwise (existence does not leak)."""
    return visible_one(session, actor, _query, Controle, controle_id, missing="Contrôle introuvable.", code="controle_not_found")


def files_of(session: Session, controle_id: int, kind: str | None = None) -> list[ControleFile]:
    query = select(ControleFile).where(ControleFile.controle_id == controle_id)
    if kind:
        query = query.where(ControleFile.kind == kind)
    return list(session.exec(query.order_by(ControleFile.id)))


def open_controle_of(session: Session, agrement_id: int) -> Controle | None:
    return session.exec(
        select(Controle).where(
            Controle.agrement_id == agrement_id,
            Controle.state.in_([s.value for s in OPEN_CONTROLE_STATES]),
        )
    ).first()
