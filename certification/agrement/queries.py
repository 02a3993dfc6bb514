"""What an actor may read of the agrément: the requests (the officer and the system all of them, a
mandataire his own, a structure its own) and their pieces, the agréments granted, and the reads of
their lifecycle (the successor of a renewed agrément, the agrément under which a structure may
register candidates, the open requests)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func
from sqlmodel import Session, select
from sqlmodel.sql.expression import SelectOfScalar

from certification.agrement.models import Agrement, AgrementRequest, Piece
from certification.agrement.states import (
    OPEN_REQUEST_STATES,
    REQUEST_STATE_LABELS,
    VALID_AGREMENT_STATES,
    AgrementState,
)
from certification.audit import Actor
from certification.models import Role
from certification.visibility import in_state, open_dossier, seen_by, structure_of, visible_one


# --- requests ---


def _requests_query(db: Session, actor: Actor) -> SelectOfScalar[AgrementRequest]:
    return seen_by(actor, select(AgrementRequest).order_by(AgrementRequest.id.desc()), {
        Role.mandataire: lambda: AgrementRequest.mandataire_id == actor.user_id,
        Role.structure: lambda: AgrementRequest.structure_id == (structure_of(db, actor) or -1),
    }, refused="Votre rôle ne donne pas accès aux demandes d'agrément.")


def get_request(db: Session, actor: Actor, request_id: int) -> AgrementRequest:
    """The request if ``actor`` may see it. Others get 404, so existence does not leak."""
    return visible_one(db, actor, _requests_query, AgrementRequest, request_id,
                       missing="Demande d'agrément introuvable.", code="request_not_found")


def list_requests(db: Session, actor: Actor, *, state: str | None = None) -> list[AgrementRequest]:
    return list(db.exec(in_state(_requests_query(db, actor), AgrementRequest, state, REQUEST_STATE_LABELS)))


def pieces_of(db: Session, request_id: int) -> list[Piece]:
    return list(db.exec(select(Piece).where(Piece.request_id == request_id).order_by(Piece.id)))


def agrement_of(db: Session, request_id: int) -> Agrement | None:
    return db.exec(select(Agrement).where(Agrement.request_id == request_id)).first()


def count_by_state(db: Session) -> dict[str, int]:
    rows = db.exec(
        select(AgrementRequest.state, func.count()).group_by(AgrementRequest.state)
    ).all()
    return {state: n for state, n in rows}


def _agrements_query(db: Session, actor: Actor) -> SelectOfScalar[Agrement]:
    return seen_by(actor, select(Agrement).order_by(Agrement.id.desc()), {
        Role.structure: lambda: Agrement.structure_id == (structure_of(db, actor) or -1),
        Role.mandataire: lambda: Agrement.request_id.in_(
            select(AgrementRequest.id).where(AgrementRequest.mandataire_id == actor.user_id)),
    }, refused="Votre rôle ne donne pas accès aux agréments.")


def list_agrements(db: Session, actor: Actor) -> list[Agrement]:
    return list(db.exec(_agrements_query(db, actor)))


def get_agrement(db: Session, actor: Actor, agrement_id: int) -> Agrement:
    """The agrément if ``actor`` may see it (404 otherwise, as for a role that sees no agrément)."""
    return visible_one(db, actor, _agrements_query, Agrement, agrement_id, missing="Agrément introuvable.",
                       code="agrement_not_found")


def successor_of(db: Session, agrement_id: int) -> Agrement | None:
    """The agrément granted on a renewal request of ``agrement_id``, if any."""
    return db.exec(
        select(Agrement)
        .join(AgrementRequest, Agrement.request_id == AgrementRequest.id)
        .where(AgrementRequest.previous_agrement_id == agrement_id)
        .order_by(Agrement.id.desc())
    ).first()


def valid_agrement_for(db: Session, structure_id: int, certification_id: int, on: date) -> Agrement | None:
    """The agrément under which the structure may register candidates on ``on``, if any.

    An agrément counts when it is in a valid state (in force or arriving at échéance) and its
    dates cover ``on``. A *renewed* agrément keeps covering the rest of its period (its successor
    starts the day after its end date) as long as that successor is itself valid: a suspension
    or withdrawal of the successor is not bypassed through its predecessor.
    """
    covering = list(
        db.exec(
            select(Agrement)
            .where(
                Agrement.structure_id == structure_id,
                Agrement.certification_id == certification_id,
                Agrement.start_date <= on,
                Agrement.end_date >= on,
                Agrement.state.in_([s.value for s in (*VALID_AGREMENT_STATES, AgrementState.renewed)]),
            )
            .order_by(Agrement.end_date.desc(), Agrement.id.desc())
        )
    )
    for agrement in covering:
        if agrement.state in VALID_AGREMENT_STATES:
            return agrement
    for agrement in covering:  # renewed, still within its own period
        successor = successor_of(db, agrement.id)
        if successor is not None and successor.state in VALID_AGREMENT_STATES:
            return agrement
    return None


def registration_allowed(db: Session, structure_id: int, certification_id: int, on: date) -> bool:
    """May the structure register candidates for this certification on ``on``?"""
    return valid_agrement_for(db, structure_id, certification_id, on) is not None



def open_renewal_of(db: Session, agrement_id: int) -> AgrementRequest | None:
    return open_dossier(db, AgrementRequest, OPEN_REQUEST_STATES, AgrementRequest.previous_agrement_id == agrement_id)


def open_request_for(db: Session, structure_id: int, certification_id: int) -> AgrementRequest | None:
    return open_dossier(
        db, AgrementRequest, OPEN_REQUEST_STATES,
        AgrementRequest.structure_id == structure_id, AgrementRequest.certification_id == certification_id,
    )
