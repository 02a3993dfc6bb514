"""Audit trail: every state change is a row (actor, role, time, from, to, reason).

``apply_transition`` is the only way a stateful entity changes state: it checks the
machine, updates the row with a compare-and-set on ``(state, version)`` and adds the
audit event in the caller's transaction, so both are committed or neither is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, select

from certification.audit_chain import seal
from certification.clock import now
from certification.effects import owe_step
from certification.errors import Conflict
from certification.models import ROLE_LABELS_FR, AuditEvent, Role, User
from certification.statemachine import StateMachine


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    role: Role
    label: str

    @classmethod
    def of(cls, user: User) -> Actor:
        return cls(user.id, Role(user.role), user.full_name)

    @property
    def role_label(self) -> str:
        return ROLE_LABELS_FR[self.role]


SYSTEM = Actor(None, Role.system, "Système (processus automatisé)")


def record_event(
    db: Session,
    *,
    entity_type: str,
    entity_id: int,
    action: str,
    actor: Actor,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str | None = None,
    data: Mapping[str, Any] | None = None,
) -> AuditEvent:
    event = AuditEvent(
        entity_type=entity_type,
        entity_id=entity_id,
        action=action,
        from_state=from_state,
        to_state=to_state,
        actor_id=actor.user_id,
        actor_role=actor.role.value,
        actor_label=actor.label,
        at=now(),
        reason=reason,
        data=dict(data or {}),
    )
    seal(db, event)  # added, chained to the entity's previous row, in this transaction
    # The effects this step owes (letters, e-mails) are recorded with it, in the same transaction.
    owe_step(db, event, data)
    from certification.webhooks import enqueue_for  # webhooks import the models; imported late

    enqueue_for(db, event)
    return event


def record_on(db: Session, row: Any, action: str, actor: Actor, *, created: bool = False, **details: Any) -> AuditEvent:
    """:func:`record_event` of ``action`` on ``row`` (a table row with ``id`` and ``state``): its
    creation (``created``: from no state) or a step that leaves its state as it is; ``details``:
    ``reason`` and ``data``."""
    state = row.state
    table = type(row).__tablename__
    return record_event(
        db,
        entity_type=table,
        entity_id=row.id,
        action=action,
        actor=actor,
        from_state=None if created else state,
        to_state=state,
        **details,
    )


def compare_and_set(db: Session, entity: Any, values: Mapping[str, Any], *conditions: Any, conflict: str) -> None:
    """Write ``values`` into ``entity``'s row only if the row is still as read: same ``version``
    (and ``conditions``); otherwise ``Conflict`` (message ``conflict``), so that of two concurrent
    actors only one wins. ``entity`` is then reloaded from the database."""
    model = type(entity)
    result = db.execute(
        update(model)
        .where(model.id == entity.id, model.version == entity.version, *conditions)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict(conflict, code="concurrent_update")
    db.expire(entity)
    db.refresh(entity)


def apply_transition(
    db: Session,
    machine: StateMachine,
    entity: Any,
    name: str,
    actor: Actor,
    *,
    reason: str | None = None,
    data: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
    changes: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Fire transition ``name`` on ``entity`` (a table row with ``state`` and ``version``).

    ``changes`` are further column values written in the same compare-and-set update.
    """
    current = entity.state
    t = machine.check(name, current, actor.role, entity=entity, context=context, reason=reason)
    model = type(entity)
    values = {"state": t.target, "version": entity.version + 1, **(changes or {})}
    if hasattr(model, "updated_at"):
        values.setdefault("updated_at", now())
    db.flush()
    compare_and_set(
        db,
        entity,
        values,
        model.state == current,
        conflict="Le dossier a été modifié entre-temps par une autre action ; rechargez-le et recommencez.",
    )
    return record_event(
        db,
        entity_type=model.__tablename__,
        entity_id=entity.id,
        action=name,
        actor=actor,
        from_state=current,
        to_state=t.target,
        reason=reason,
        data=data,
    )


def timeline(db: Session, entity_type: str, entity_id: int) -> list[AuditEvent]:
    return list(
        db.exec(
            select(AuditEvent)
            .where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == entity_id)
            .order_by(AuditEvent.at, AuditEvent.id)
        )
    )
