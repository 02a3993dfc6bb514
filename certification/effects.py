"""Owed effects: what a step of a dossier owes the outside world, recorded with the step.

When a service records an audited step (a transition or another audited action) of a dossier
whose process has effects — letters to render, e-mails to send, invitations — the same
transaction inserts an :class:`OwedEffect` row naming the step, with a snapshot of the values
that key its documents and e-mails (submission round, PV version, visit sequence…). The flow of
the dossier fulfils every owed row, oldest first, each in its own transaction that also marks it
done: a restarted flow redoes nothing, and an effect owed stays owed whatever the dossier's
state has become meanwhile (a convocation owed at ``convene`` is sent even when the composition
was checked before the flow ran). Deadlines and reminders are not owed by a step: they depend
on the calendar and on the dossier still waiting, and the sweep computes them.

``OWED_STEPS`` is the declaration: for each entity type, the process whose flow fulfils its
effects, how to find that dossier, and the audited actions that owe something.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Column, Index, Text, func
from sqlmodel import Field, Session, SQLModel, select

from certification.clock import now
from certification.types import Row, UTCDateTime

if TYPE_CHECKING:
    from certification.models import AuditEvent


class OwedEffect(Row, table=True):
    """One step of a dossier whose effects are owed (``done_at`` null) or fulfilled."""

    __tablename__ = "owed_effects"
    __table_args__ = (Index("ix_owed_effects_pending", "process", "dossier_id", "done_at"),)

    process: str = Field(max_length=40)  # the dispatch kind whose flow fulfils it (flows.dispatch)
    dossier_id: int  # the flow's parameter
    entity_type: str = Field(max_length=40)  # the audited entity (a dossier or one of its parts)
    entity_id: int
    step: str = Field(max_length=40)  # the audited action that owes it
    payload: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    audit_event_id: int | None = Field(default=None, foreign_key="audit_events.id")
    created_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    produced: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


@dataclass(frozen=True)
class Owner:
    """Which process fulfils the effects of an entity type's steps, and which steps owe any."""

    process: str
    dossier_of: Callable[[Session, int], int | None]
    steps: frozenset[str]
    snapshot: tuple[str, ...] = ()  # entity columns copied into the payload at the step


def _self(_db: Session, entity_id: int) -> int:
    return entity_id


def _columns(db: Session, entity_type: str, entity_id: int, columns: tuple[str, ...]) -> dict[str, Any] | None:
    table = SQLModel.metadata.tables[entity_type]
    row = db.execute(select(*(table.c[c] for c in columns)).where(table.c.id == entity_id)).first()
    return dict(zip(columns, row, strict=True)) if row is not None else None


def _parent(entity_type: str, column: str) -> Callable[[Session, int], int | None]:
    def dossier_of(db: Session, entity_id: int) -> int | None:
        values = _columns(db, entity_type, entity_id, (column,))
        return values[column] if values else None

    return dossier_of


OWED_STEPS: dict[str, Owner] = {
    # an agrément that stops being valid owes the flagging of its structure's pending jury
    # sessions (certification.agrement.lifecycle.FLAGGED_DECISIONS), done by its lifecycle flow
    "agrements": Owner("agrement", _self, frozenset({"suspend", "withdraw", "expire"})),
    "agrement_requests": Owner(
        "agrement_request",
        _self,
        frozenset(
            {
                "submit",
                "provide_complements",
                "request_complements",
                "start_review",
                "give_avis",
                "grant",
                "refuse",
                "close_unanswered",
            }
        ),
        ("round",),
    ),
    "controles": Owner(
        "controle",
        _self,
        frozenset(
            {
                "assign",
                "schedule_visit",
                "submit_report",
                "conclude_compliant",
                "require_action_plan",
                "suspend",
                "withdraw",
                "escalate",
                "close_action_plan",
            }
        ),
        ("controleur_id", "visit_sequence", "decision"),
    ),
    "vae_dossiers": Owner(
        "vae",
        _self,
        frozenset({"file", "declare_recevable", "declare_non_recevable", "deposit_livret2", "record_interview"}),
    ),
    "jury_sessions": Owner(
        "jury",
        _self,
        frozenset({"convene", "flag", "close_deliberation", "sign_pv", "amend_after_appeal"}),
        ("pv_version",),
    ),
    "appeals": Owner(
        "jury",
        _parent("appeals", "session_id"),
        frozenset({"file", "declare_inadmissible", "reject", "uphold"}),
    ),
    "certificates": Owner("certificate", _self, frozenset({"duplicate", "correct"}), ("version",)),
    "training_sessions": Owner(
        "training_session",
        _self,
        frozenset({"reschedule", "cancel"}),
        ("schedule_sequence",),
    ),
    "training_enrollments": Owner(
        "training_session",
        _parent("training_enrollments", "session_id"),
        frozenset({"register", "complete"}),
    ),
    "appuis": Owner(
        "appui",
        _self,
        frozenset({"request", "assign", "schedule_visit", "report", "cancel"}),
        ("formateur_id", "visit_sequence"),
    ),
}


def owe_step(db: Session, event: AuditEvent, data: Mapping[str, Any] | None = None) -> OwedEffect | None:
    """Record that the step ``event`` audits owes its effects (no-op for steps that owe nothing);
    ``data``: the step's own values, kept in the owed row's payload."""
    entity_type, entity_id = event.entity_type, event.entity_id
    owner = OWED_STEPS.get(entity_type)
    if owner is None or event.action not in owner.steps:
        return None
    dossier_id = owner.dossier_of(db, entity_id)
    if dossier_id is None:
        return None
    db.flush()
    payload: dict[str, Any] = dict(_columns(db, entity_type, entity_id, owner.snapshot) or {}) if owner.snapshot else {}
    payload.update({k: v for k, v in (data or {}).items() if isinstance(v, (str, int, float, bool, type(None)))})
    where = {"entity_type": entity_type, "entity_id": entity_id, "audit_event_id": event.id}
    effect = OwedEffect(process=owner.process, dossier_id=dossier_id, step=event.action, payload=payload, **where)
    db.add(effect)
    return effect


def owed(db: Session, process: str, dossier_id: int) -> list[OwedEffect]:
    """The dossier's effects still owed, oldest first."""
    return list(
        db.exec(
            select(OwedEffect)
            .where(
                OwedEffect.process == process,
                OwedEffect.dossier_id == dossier_id,
                OwedEffect.done_at.is_(None),
            )
            .order_by(OwedEffect.id)
        )
    )


def owed_ids(db: Session, process: str, dossier_id: int) -> list[int]:
    return list(
        db.exec(
            select(OwedEffect.id)
            .where(
                OwedEffect.process == process,
                OwedEffect.dossier_id == dossier_id,
                OwedEffect.done_at.is_(None),
            )
            .order_by(OwedEffect.id)
        )
    )


def dossiers_owed(db: Session, process: str) -> list[int]:
    """Dossiers of ``process`` with an effect still owed (what the sweep catches up)."""
    return sorted(
        db.exec(
            select(OwedEffect.dossier_id).where(OwedEffect.process == process, OwedEffect.done_at.is_(None)).distinct()
        )
    )


def pending_effects(db: Session, entity_type: str, entity_id: int) -> list[dict[str, Any]]:
    """What the engine still owes on a dossier, for clients polling its progress."""
    owner = OWED_STEPS.get(entity_type)
    if owner is None:
        return []
    rows = db.exec(
        select(OwedEffect)
        .where(
            OwedEffect.process == owner.process,
            OwedEffect.dossier_id == entity_id,
            OwedEffect.done_at.is_(None),
        )
        .order_by(OwedEffect.id)
    )
    return [
        {
            "kind": "step",
            "name": r.step,
            "status": "failed" if r.last_error else "owed",
            "created_at": r.created_at,
            "attempts": r.attempts,
            "last_error": r.last_error,
        }
        for r in rows
    ]


def count_owed(db: Session) -> dict[str, int]:
    """Owed effects per process (metrics, operations page)."""
    rows = db.exec(
        select(OwedEffect.process, func.count()).where(OwedEffect.done_at.is_(None)).group_by(OwedEffect.process)
    )
    return {process: n for process, n in rows}
