"""What an actor may read of the contrôles d'agrément: the officer and the system everything, a
contrôleur the contrôles entrusted to him, a structure its own; the files of a contrôle."""

from __future__ import annotations

from sqlmodel import Session, select
from sqlmodel.sql.expression import SelectOfScalar

from certification.audit import Actor
from certification.controle.models import Controle, ControleFile
from certification.controle.states import CONTROLE_STATE_LABELS, OPEN_CONTROLE_STATES
from certification.models import Role
from certification.visibility import in_state, open_dossier, seen_by, structure_of, visible_one


def _query(db: Session, actor: Actor) -> SelectOfScalar[Controle]:
    return seen_by(actor, select(Controle).order_by(Controle.id.desc()), {
        Role.controleur: lambda: Controle.controleur_id == actor.user_id,
        Role.structure: lambda: Controle.structure_id == (structure_of(db, actor) or -1),
    }, refused="Votre rôle ne donne pas accès aux contrôles.")


def list_controles(db: Session, actor: Actor, *, state: str | None = None) -> list[Controle]:
    return list(db.exec(in_state(_query(db, actor), Controle, state, CONTROLE_STATE_LABELS)))


def get_controle(db: Session, actor: Actor, controle_id: int) -> Controle:
    """The contrôle if ``actor`` may see it; 404 otherwise (existence does not leak)."""
    return visible_one(db, actor, _query, Controle, controle_id, missing="Contrôle introuvable.", code="controle_not_found")


def files_of(db: Session, controle_id: int, kind: str | None = None) -> list[ControleFile]:
    query = select(ControleFile).where(ControleFile.controle_id == controle_id)
    if kind:
        query = query.where(ControleFile.kind == kind)
    return list(db.exec(query.order_by(ControleFile.id)))


def open_controle_of(db: Session, agrement_id: int) -> Controle | None:
    return open_dossier(db, Controle, OPEN_CONTROLE_STATES, Controle.agrement_id == agrement_id)
