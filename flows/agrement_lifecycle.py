"""The life of a granted agrément: expiry reminders, échéance, expiry, and the notification of
the officer's decisions (suspension, reinstatement, withdrawal).

Like the agrément request flow, it is re-entrant from the database state: a run fires the
system transitions that are due (``mark_expiring`` when the first reminder window opens,
``expire`` the day after the end date), then queues the e-mails the agrément is owed, each
under its own dedupe key:

- ``agrements:<id>:expiry-reminder:d<N>``: one reminder per window of
  ``settings.expiry_reminder_days_before`` (only the latest due one after an outage);
- ``agrements:<id>:suspended:e<event>`` / ``reinstated:e<event>`` / ``withdrawn:e<event>``:
  one per decision, keyed by its audit event (a second suspension gets its own mail);
- ``agrements:<id>:expired``: once, when the agrément has expired.

``agrement-lifecycle`` runs one agrément after an action (API); ``agrement-lifecycle-sweep``
runs every agrément that may owe something, daily or more often.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from certification.audit import SYSTEM
from certification.clock import today
from certification.db import session_scope
from certification.errors import Conflict
from certification.models import AuditEvent
from certification.agrement.models import Agrement
from certification.agrement.read_model import AgrementView, agrement_view
from certification.agrement.states import AGREMENT_STATE_LABELS, VALID_AGREMENT_STATES, AgrementState
from certification.agrement import lifecycle as svc
from certification.effects import OwedEffect, dossiers_owed
from certification.jury.service import flag_pending_sessions
from certification.settings import Settings, get_settings
from flows.common import advance_task, advance_then_deliver, dossier_flow, latest_due_reminder, sweep_flow
from flows.context import certification_fields, letter_context, state_fields
from flows import dispatch
from flows.effects import Effects, RunOutcome, fulfil_owed, mail_key, mails_still_owed

ENTITY = Agrement.__tablename__

# Decision (audit action) -> (e-mail name prefix, template).
DECISION_MAILS = {
    "suspend": ("suspended", "agrement/agrement_suspendu"),
    "reinstate": ("reinstated", "agrement/agrement_retabli"),
    "withdraw": ("withdrawn", "agrement/agrement_retire"),
}
REMINDER_TEMPLATE = "agrement/rappel_echeance_agrement"
EXPIRED_TEMPLATE = "agrement/agrement_expire"
EXPIRED_MAIL = "expired"


@dataclass(kw_only=True)
class Outcome(RunOutcome):
    agrement_id: int
    flagged_juries: list[int] = field(default_factory=list)  # jury sessions flagged by this run


def reminder_mail(days: int) -> str:
    return f"expiry-reminder:d{days}"


def decision_mail(event: AuditEvent) -> str:
    return f"{DECISION_MAILS[event.action][0]}:e{event.id}"


def agrement_context(view: AgrementView, *, reason: str | None = None) -> dict[str, Any]:
    """Template context of the lifecycle e-mails of the agrément, mapped from its read model
    (:mod:`certification.agrement.read_model`).

    ``reason`` defaults to the reason of the transition that led to the current state.
    """
    agrement, structure, cert = view.agrement, view.structure, view.certification
    context = letter_context(
        f"/app/agrements/{agrement.id}",
        agrement={
            "id": agrement.id,
            "number": agrement.number,
            "structure_name": structure.name,
            "structure_siret": structure.siret,
            "structure_email": structure.email,
            **certification_fields(cert),
            "start_date": agrement.start_date,
            "end_date": agrement.end_date,
            **state_fields(agrement, AGREMENT_STATE_LABELS),
            "days_left": view.days_left,
            "reason": reason if reason is not None else view.last_reason,
        },
    )
    return {**context, "recipient_name": ""}


def _decision_events(db: Session, agrement_ids: list[int] | None = None) -> list[AuditEvent]:
    """Officers' decisions owed an e-mail. A decision taken on a contrôle is left out: the
    contrôle's decision letter already tells the structure (one notice, not two)."""
    query = select(AuditEvent).where(AuditEvent.entity_type == ENTITY, AuditEvent.action.in_(list(DECISION_MAILS)))
    if agrement_ids is not None:
        query = query.where(AuditEvent.entity_id.in_(agrement_ids))
    return [e for e in db.exec(query.order_by(AuditEvent.id)) if not e.data.get("controle_id")]


# --- one agrément --------------------------------------------------------------------------


def _side_effects(db: Session, agrement: Agrement, out: Outcome) -> None:
    """Queue the e-mails the agrément is owed now; every call is a no-op once done."""
    settings = get_settings()
    view = agrement_view(db, agrement)
    ctx = agrement_context(view)
    mandataire = view.mandataire
    applicants = [a for a in (ctx["agrement"]["structure_email"], mandataire.email if mandataire else "") if a]
    to = applicants or [settings.officers_mailbox]
    officers = [settings.officers_mailbox]
    fx = Effects(db, ENTITY, agrement.id, agrement.number)

    for event in _decision_events(db, [agrement.id]):
        name = decision_mail(event)
        if not fx.sent(name):
            event_ctx = {**ctx, "agrement": {**ctx["agrement"], "reason": event.reason}}
            fx.mail(event_ctx, name, DECISION_MAILS[event.action][1], to, cc=officers)

    state = AgrementState(agrement.state)
    if state in VALID_AGREMENT_STATES:
        days = latest_due_reminder(settings.expiry_reminder_days_before, agrement.end_date)
        if days is not None:
            fx.mail(ctx, reminder_mail(days), REMINDER_TEMPLATE, to)
    elif state is AgrementState.expired:
        fx.mail(ctx, EXPIRED_MAIL, EXPIRED_TEMPLATE, to, cc=officers)
    out.mails += fx.mails


def _first_window(settings: Settings) -> int:
    return max(settings.expiry_reminder_days_before, default=0)


def _system_transition(db: Session, agrement: Agrement) -> str | None:
    """Fire the one system transition that is due now, if any."""
    state = AgrementState(agrement.state)
    if state not in VALID_AGREMENT_STATES:
        return None
    days_left = (agrement.end_date - today()).days
    try:
        if days_left < 0:
            svc.expire(db, SYSTEM, agrement.id)
            return "expire"
        if state is AgrementState.active and days_left <= _first_window(get_settings()):
            svc.mark_expiring(db, SYSTEM, agrement.id)
            return "mark_expiring"
    except Conflict:
        db.rollback()  # another run or an officer moved it first: the next loop sees it
    return None


def _flag_juries(engine: Engine | None, agrement_id: int, out: Outcome) -> None:
    """Fulfil what a suspension, a withdrawal or an expiry owes, once each: the pending jury
    sessions presenting candidates of the structure are flagged for the officer (each flag is an
    audited step of the session, which owes the officer's « session signalée » e-mail)."""

    def handle(db: Session, effect: OwedEffect) -> tuple[Effects, ...]:
        what = svc.FLAGGED_DECISIONS.get(effect.step)
        agrement = db.get(Agrement, effect.dossier_id)
        if what and agrement is not None:
            reason = f"{what} ({agrement.number})"
            out.flagged_juries += [jury.id for jury in flag_pending_sessions(db, SYSTEM, agrement.structure_id, reason)]
        return ()

    fulfil_owed(engine, "agrement", agrement_id, handle)


def advance_agrement(agrement_id: int, engine: Engine | None = None) -> dict:
    """Bring one agrément up to date with the calendar; plain function (Prefect wraps it)."""
    out = Outcome(agrement_id=agrement_id)
    for _ in range(len(AGREMENT_STATE_LABELS)):
        with session_scope(engine) as db:
            agrement = db.get(Agrement, agrement_id)
            if agrement is None:
                raise LookupError(f"agrément {agrement_id} does not exist")
            fired = _system_transition(db, agrement)
        if not fired:
            break
        out.transitions.append(fired)
    _flag_juries(engine, agrement_id, out)
    with session_scope(engine) as db:
        agrement = db.get(Agrement, agrement_id)
        _side_effects(db, agrement, out)
        out.state = agrement.state
    return asdict(out)


def agrements_needing_attention(engine: Engine | None = None) -> list[int]:
    """Agréments in force (calendar), expired ones without their mail, unnotified decisions, and
    those that still owe the flagging of their jury sessions."""
    with session_scope(engine) as db:
        ids = set(db.exec(select(Agrement.id).where(Agrement.state.in_([s.value for s in VALID_AGREMENT_STATES]))))
        owed: dict[str, int] = {
            mail_key(ENTITY, i, EXPIRED_MAIL): i
            for i in db.exec(select(Agrement.id).where(Agrement.state == AgrementState.expired.value))
        }
        for event in _decision_events(db):
            owed[mail_key(ENTITY, event.entity_id, decision_mail(event))] = event.entity_id
        ids |= mails_still_owed(db, owed)
        ids |= set(dossiers_owed(db, "agrement"))
    return sorted(ids)


# --- Prefect -------------------------------------------------------------------------------


advance_agrement_task = advance_task("advance-agrement", advance_agrement)


@dossier_flow("agrement-lifecycle", process="agrement")
async def agrement_lifecycle_flow(agrement_id: int) -> dict:
    """Bring agrément ``agrement_id`` up to date (after an officer's decision, for instance), then
    run the flows of the jury sessions it flagged (their « session signalée » e-mail)."""
    outcome = await advance_then_deliver(
        advance_agrement_task,
        agrement_id,
        "agrément",
        logged=("state", "transitions", "mails", "flagged_juries"),
    )
    for jury_session_id in outcome["flagged_juries"]:
        await dispatch.jury_changed(jury_session_id)
    return outcome


agrement_lifecycle_sweep_flow = sweep_flow(
    "agrement-lifecycle-sweep",
    agrements_needing_attention,
    advance_agrement_task,
    "Reminders, échéance, expiry and unsent notifications of the agréments, then the outbox.",
)
