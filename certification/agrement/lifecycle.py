"""Services of the life of a granted agrément: suspension, reinstatement, withdrawal, expiry and
the mark of its renewal (the renewal request itself is a submission, in
:mod:`certification.agrement.service`; what the agrément allows is read in
:mod:`certification.agrement.queries`).

Each service applies one transition of :data:`certification.agrement.states.AGREMENT`
through :func:`certification.audit.apply_transition` (role and reason checks, compare-and-set,
audit row) in the caller's transaction; the caller commits.
"""

from __future__ import annotations

from sqlmodel import Session

from certification.agrement.models import Agrement
from certification.agrement.states import AGREMENT
from certification.audit import Actor, apply_transition
from certification.clock import today
from certification.errors import Conflict, NotFound


def _load(db: Session, agrement_id: int) -> Agrement:
    agrement = db.get(Agrement, agrement_id)
    if agrement is None:
        raise NotFound("Agrément introuvable.", code="agrement_not_found")
    return agrement


def _clean(reason: str | None) -> str:
    return (reason or "").strip()


# --- decisions of the officer ----------------------------------------------------------------


def suspend(db: Session, actor: Actor, agrement_id: int, reason: str, *, controle_id: int | None = None) -> Agrement:
    """Suspend an agrément in force (officer; reason required), e.g. after a contrôle."""
    return _decide(db, actor, agrement_id, "suspend", reason, controle_id)


def reinstate(db: Session, actor: Actor, agrement_id: int, reason: str, *, controle_id: int | None = None) -> Agrement:
    """Lift a suspension (officer; reason required). The agrément is in force again."""
    return _decide(db, actor, agrement_id, "reinstate", reason, controle_id)


def withdraw(db: Session, actor: Actor, agrement_id: int, reason: str, *, controle_id: int | None = None) -> Agrement:
    """Withdraw an agrément for good (officer; reason required), e.g. after a contrôle."""
    return _decide(db, actor, agrement_id, "withdraw", reason, controle_id)


# What the pending jury sessions of the structure are told when a step ends its agrément's
# validity. Each of these steps owes the flagging (certification.effects.OWED_STEPS): the
# agrément's lifecycle flow flags the sessions (certification.jury.service.flag_pending_sessions),
# then runs their flows.
FLAGGED_DECISIONS = {"suspend": "agrément suspendu", "withdraw": "agrément retiré", "expire": "agrément expiré"}


def _decide(
    db: Session, actor: Actor, agrement_id: int, name: str, reason: str, controle_id: int | None
) -> Agrement:
    """Apply the officer's decision ``name`` with its reason (and the contrôle that led to it)."""
    agrement = _load(db, agrement_id)
    data = {"controle_id": controle_id} if controle_id is not None else None
    apply_transition(db, AGREMENT, agrement, name, actor, reason=_clean(reason), data=data)
    return agrement


# --- system transitions (the daily sweep) ----------------------------------------------------


def mark_expiring(db: Session, actor: Actor, agrement_id: int) -> Agrement:
    """The first expiry reminder window is reached (system)."""
    agrement = _load(db, agrement_id)
    days_left = (agrement.end_date - today()).days
    apply_transition(
        db, AGREMENT, agrement, "mark_expiring", actor,
        reason=f"Échéance le {agrement.end_date:%d/%m/%Y}.",
        data={"end_date": agrement.end_date.isoformat(), "days_left": days_left},
    )
    return agrement


def expire(db: Session, actor: Actor, agrement_id: int) -> Agrement:
    """The end date has passed (system)."""
    agrement = _load(db, agrement_id)
    if today() <= agrement.end_date:
        raise Conflict(
            f"L'agrément est en vigueur jusqu'au {agrement.end_date:%d/%m/%Y}.", code="not_yet_expired"
        )
    apply_transition(
        db, AGREMENT, agrement, "expire", actor,
        reason=f"Arrivé à échéance le {agrement.end_date:%d/%m/%Y}.",
        data={"end_date": agrement.end_date.isoformat()},
    )
    return agrement


def mark_renewed(db: Session, actor: Actor, agrement_id: int, *, by_agrement_id: int) -> Agrement:
    """The agrément is renewed by ``by_agrement_id`` (fired when the renewal request is granted)."""
    agrement = _load(db, agrement_id)
    successor = _load(db, by_agrement_id)
    apply_transition(
        db, AGREMENT, agrement, "renew", actor,
        reason=f"Renouvelé par l'agrément n° {successor.number}.",
        data={"by_agrement_id": successor.id, "by_number": successor.number},
    )
    return agrement
