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
from certification.errors import NotFound
from certification.models import Role
from certification.visibility import in_state, seen_by, structure_of, visible_one


# --- requests ---


def _requests_query(session: Session, actor: Actor) -> SelectOfScalar[AgrementRequest]:
    return seen_by(actor, select(AgrementRequest).order_by(AgrementRequest.id.desc()), {
        Role.mandataire: lambda: AgrementRequest.mandataire_id == actor.user_id,
        Role.structure: lambda: AgrementRequest.structure_id == (structure_of(session, actor) or -1),
    }, refused="Votre rôle ne donne pas accès aux demandes d'agrément.")


def get_request(session: Session, actor: Actor, request_id: int) -> AgrementRequest:
    """The request if ``actor`` may see it. Others get 404, so existence does not leak."""
    return visible_one(session, actor, _requests_query, AgrementRequest, request_id,
                       missing="Demande d'agrément introuvable.", code="request_not_found")


def list_requests(session: Session, actor: Actor, *, state: str | None = None) -> list[AgrementRequest]:
    return list(session.exec(in_state(_requests_query(session, actor), AgrementRequest, state, REQUEST_STATE_LABELS)))


def pieces_of(session: Session, request_id: int) -> list[Piece]:
    return list(session.exec(select(Piece).where(Piece.request_id == request_id).order_by(Piece.id)))


def agrement_of(session: Session, request_id: int) -> Agrement | None:
    return session.exec(select(Agrement).where(Agrement.request_id == request_id)).first()


def count_by_state(session: Session) -> dict[str, int]:
    rows = session.exec(
        select(AgrementRequest.state, func.count()).group_by(AgrementRequest.state)
    ).all()
    return {state: n for state, n in rows}


def _agrements_query(session: Session, actor: Actor) -> SelectOfScalar[Agrement]:
    return seen_by(actor, select(Agrement).order_by(Agrement.id.desc()), {
        Role.structure: lambda: Agrement.structure_id == (structure_of(session, actor) or -1),
        Role.mandataire: lambda: Agrement.request_id.in_(
            select(AgrementRequest.id).where(AgrementRequest.mandataire_id == actor.user_id)),
    }, refused="Votre rôle ne donne pas accès aux agréments.")


def list_agrements(session: Session, actor: Actor) -> list[Agrement]:
    return list(session.exec(_agrements_query(session, actor)))


def get_agrement(session: Session, actor: Actor, agrement_id: int) -> Agrement:
    """The agrément if ``actor`` may see it (404 otherwise); a role that sees no agrément gets 403."""
    agrement = session.exec(_agrements_query(session, actor).where(Agrement.id == agrement_id)).first()
    if agrement is None:
        raise NotFound("Agrément introuvable.", code="agrement_not_found")
    return agrement


def successor_of(session: Session, agrement_id: int) -> Agrement | None:
    """The agrément granted on a renewal request of ``agrement_id``, if any."""
    return session.exec(
        select(Agrement)
        .join(AgrementRequest, Agrement.request_id == AgrementRequest.id)
        .where(AgrementRequest.previous_agrement_id == agrement_id)
        .order_by(Agrement.id.desc())
    ).first()


def valid_agrement_for(session: Session, structure_id: int, certification_id: int, on: date) -> Agrement | None:
    """The agrément under which the structure may register candidates on ``on``, if any.

    An agrément counts when it is in a valid state (in force or arriving at échéance) and its
    dates cover ``on``. A *renewed* agrément keeps covering the rest of its period (its successor
    starts the day after its end date) as long as that successor is itself valid: a suspension
    or withdrawal of the successor is not bypassed through its predecessor.
    """
    covering = list(
        session.exec(
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
        successor = successor_of(session, agrement.id)
        if successor is not None and successor.state in VALID_AGREMENT_STATES:
            return agrement
    return None


def registration_allowed(session: Session, structure_id: int, certification_id: int, on: date) -> bool:
    """May the structure register candidates for this certification on ``on``?"""
    return valid_agrement_for(session, structure_id, certification_id, on) is not None



def open_renewal_of(session: Session, agrement_id: int) -> AgrementRequest | None:
    return session.exec(
        select(AgrementRequest).where(
            AgrementRequest.previous_agrement_id == agrement_id,
            AgrementRequest.state.in_([s.value for s in OPEN_REQUEST_STATES]),
        )
    ).first()


def open_request_for(session: Session, structure_id: int, certification_id: int) -> AgrementRequest | None:
    return session.exec(
        select(AgrementRequest).where(
            AgrementRequest.structure_id == structure_id,
            AgrementRequest.certification_id == certification_id,
            AgrementRequest.state.in_([s.value for s in OPEN_REQUEST_STATES]),
        )
    ).first()
