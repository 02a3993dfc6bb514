"""Services of the life of a granted agrément: suspension, reinstatement, withdrawal, expiry,
renewal, and what they mean for the registration of candidates.

Each service applies one transition of :data:`certification.processes.agrement.AGREMENT`
through :func:`certification.audit.apply_transition` (role and reason checks, compare-and-set,
audit row) in the caller's transaction; the caller commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import update
from sqlmodel import Session, select

from certification.audit import Actor, apply_transition, record_event
from certification.clock import now, today
from certification.errors import Conflict, Forbidden, NotFound, ValidationFailed
from certification.models import Agrement, AgrementRequest, Role
from certification.processes.agrement import (
    AGREMENT,
    AGREMENT_STATE_LABELS,
    OPEN_REQUEST_STATES,
    VALID_AGREMENT_STATES,
    AgrementState,
)
from certification.services.agrement import (
    PIECES_REQUIRED,
    PieceIn,
    create_request,
    get_agrement,
    pieces_of,
    validate_pieces,
)

ENTITY = Agrement.__tablename__


def _load(session: Session, agrement_id: int) -> Agrement:
    agrement = session.get(Agrement, agrement_id)
    if agrement is None:
        raise NotFound("Agrément introuvable.", code="agrement_not_found")
    return agrement


def _clean(reason: str | None) -> str:
    return (reason or "").strip()


# --- decisions of the officer ----------------------------------------------------------------


def suspend(
    session: Session, actor: Actor, agrement_id: int, reason: str, *, controle_id: int | None = None
) -> Agrement:
    """Suspend an agrément in force (officer; reason required), e.g. after a contrôle."""
    agrement = _load(session, agrement_id)
    data = {"controle_id": controle_id} if controle_id is not None else None
    apply_transition(session, AGREMENT, agrement, "suspend", actor, reason=_clean(reason), data=data)
    _flag_juries(session, actor, agrement, "agrément suspendu")
    return agrement


def reinstate(
    session: Session, actor: Actor, agrement_id: int, reason: str, *, controle_id: int | None = None
) -> Agrement:
    """Lift a suspension (officer; reason required). The agrément is in force again."""
    agrement = _load(session, agrement_id)
    data = {"controle_id": controle_id} if controle_id is not None else None
    apply_transition(session, AGREMENT, agrement, "reinstate", actor, reason=_clean(reason), data=data)
    return agrement


def withdraw(
    session: Session, actor: Actor, agrement_id: int, reason: str, *, controle_id: int | None = None
) -> Agrement:
    """Withdraw an agrément for good (officer; reason required), e.g. after a contrôle."""
    agrement = _load(session, agrement_id)
    data = {"controle_id": controle_id} if controle_id is not None else None
    apply_transition(session, AGREMENT, agrement, "withdraw", actor, reason=_clean(reason), data=data)
    _flag_juries(session, actor, agrement, "agrément retiré")
    return agrement


def _flag_juries(session: Session, actor: Actor, agrement: Agrement, what: str) -> None:
    """Pending jury sessions presenting candidates of this structure are flagged for the officer."""
    from certification.jury.service import flag_pending_sessions  # jury depends on lifecycle

    flag_pending_sessions(session, actor, agrement.structure_id, f"{what} ({agrement.number})")


# --- system transitions (the daily sweep) ----------------------------------------------------


def mark_expiring(session: Session, actor: Actor, agrement_id: int) -> Agrement:
    """The first expiry reminder window is reached (system)."""
    agrement = _load(session, agrement_id)
    days_left = (agrement.end_date - today()).days
    apply_transition(
        session, AGREMENT, agrement, "mark_expiring", actor,
        reason=f"Échéance le {agrement.end_date:%d/%m/%Y}.",
        data={"end_date": agrement.end_date.isoformat(), "days_left": days_left},
    )
    return agrement


def expire(session: Session, actor: Actor, agrement_id: int) -> Agrement:
    """The end date has passed (system)."""
    agrement = _load(session, agrement_id)
    if today() <= agrement.end_date:
        raise Conflict(
            f"L'agrément est en vigueur jusqu'au {agrement.end_date:%d/%m/%Y}.", code="not_yet_expired"
        )
    apply_transition(
        session, AGREMENT, agrement, "expire", actor,
        reason=f"Arrivé à échéance le {agrement.end_date:%d/%m/%Y}.",
        data={"end_date": agrement.end_date.isoformat()},
    )
    _flag_juries(session, actor, agrement, "agrément expiré")
    return agrement


def mark_renewed(session: Session, actor: Actor, agrement_id: int, *, by_agrement_id: int) -> Agrement:
    """The agrément is renewed by ``by_agrement_id`` (fired when the renewal request is granted)."""
    agrement = _load(session, agrement_id)
    successor = _load(session, by_agrement_id)
    apply_transition(
        session, AGREMENT, agrement, "renew", actor,
        reason=f"Renouvelé par l'agrément n° {successor.number}.",
        data={"by_agrement_id": successor.id, "by_number": successor.number},
    )
    return agrement


# --- effect on the registration of candidates ------------------------------------------------


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


# --- renewal ---------------------------------------------------------------------------------


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


def _claim(session: Session, agrement: Agrement) -> None:
    """Compare-and-set on the agrément's version: of two concurrent renewal requests, one wins."""
    result = session.execute(
        update(Agrement)
        .where(Agrement.id == agrement.id, Agrement.version == agrement.version)
        .values(version=agrement.version + 1, updated_at=now())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict(
            "L'agrément a été modifié entre-temps par une autre action ; rechargez-le et recommencez.",
            code="concurrent_update",
        )
    session.expire(agrement)
    session.refresh(agrement)


def request_renewal(
    session: Session,
    actor: Actor,
    agrement_id: int,
    *,
    pieces: Sequence[PieceIn] = (),
    motivation: str = "",
) -> AgrementRequest:
    """A mandataire asks for the renewal of an agrément he can see, reusing its file.

    The new request (kind ``renewal``) takes the structure, certification and scope of the
    agrément; the pieces of the previous request are copied (same stored files) and the new
    pieces added, all in round 1. Allowed while the agrément is in force or arriving at
    échéance, once: a second renewal cannot be opened while one is under way.
    """
    if actor.role is not Role.mandataire:
        raise Forbidden("Seul un mandataire peut demander le renouvellement d'un agrément.", code="role_not_allowed")
    agrement = get_agrement(session, actor, agrement_id)  # 404 when the mandataire may not see it
    if agrement.state not in VALID_AGREMENT_STATES:
        raise Conflict(
            f"Renouvellement impossible : l'agrément est « {AGREMENT_STATE_LABELS[agrement.state]} ».",
            code="not_renewable", details={"state": agrement.state},
        )
    validate_pieces(pieces)
    pending = open_renewal_of(session, agrement.id)
    if pending is not None:
        raise Conflict(
            f"Une demande de renouvellement est déjà en cours ({pending.reference}).",
            code="renewal_already_open", details={"reference": pending.reference},
        )
    other = open_request_for(session, agrement.structure_id, agrement.certification_id)
    if other is not None:
        raise Conflict(
            f"Une demande est déjà en cours pour cette structure et cette certification ({other.reference}).",
            code="request_already_open", details={"reference": other.reference},
        )
    previous_pieces = pieces_of(session, agrement.request_id) if agrement.request_id else []
    if not previous_pieces and not pieces:
        raise ValidationFailed(PIECES_REQUIRED, code="pieces_required")
    _claim(session, agrement)
    request = create_request(
        session, actor, structure_id=agrement.structure_id, certification_id=agrement.certification_id,
        kind="renewal", previous_agrement_id=agrement.id, scope=list(agrement.scope), motivation=motivation,
        pieces=pieces, copied=previous_pieces,
        data={"previous_agrement": agrement.number, "pieces_copied": len(previous_pieces)},
    )
    record_event(
        session, entity_type=ENTITY, entity_id=agrement.id, action="renewal_requested", actor=actor,
        data={"request_id": request.id, "reference": request.reference},
    )
    session.flush()
    return request
