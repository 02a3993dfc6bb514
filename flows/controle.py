"""The contrôle flow: drives one contrôle d'agrément from its database state (re-entrant).

Owed per state: the mission e-mail to the contrôleur, the convocation with its .ics invitation
(one per scheduling, SEQUENCE increasing), the report PDF and its notice to the officers, the
decision letter, the action-plan reminders and the escalation of an overdue plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio
from prefect import flow
from sqlalchemy.engine import Engine
from sqlmodel import Session

from certification.audit import SYSTEM
from certification.clock import today
from certification.controle import service as svc
from certification.controle.actions import controle_waiting_for
from certification.controle.models import Controle
from certification.controle.read_model import ControleView, controle_view
from certification.controle.states import CONTROLE_STATE_LABELS, KIND_LABELS, ControleState
from certification.db import session_scope
from certification.effects import OwedEffect
from certification.errors import Conflict
from certification.settings import get_settings
from flows.common import (
    advance_task,
    advance_then_deliver,
    dossier_flow,
    latest_due_reminder,
    mail_mission,
    mail_visit,
    sweep,
    visit_invitation,
)
from flows.context import certification_fields, letter_context, person_fields, state_fields, structure_fields
from flows.effects import Calendar, Effects, RunOutcome, open_or_owed

ENTITY = Controle.__tablename__

DECISION_LETTERS = {
    "compliant": "decision_maintien",
    "action_plan": "decision_plan_actions",
    "suspension": "decision_suspension",
    "withdrawal": "decision_retrait",
}


def letter_template(kind: str) -> str:
    """The template of the contrôle letter ``kind`` (its document kind stays ``kind``)."""
    return f"controle/{kind}.html"


# Final states and the e-mail that must exist for them (a run is owed while it does not).
# (An action plan may be followed by a suspension: each decision has its own letter and e-mail.)
PROCESS = "controle"
DECISION_STEPS = ("conclude_compliant", "require_action_plan", "suspend", "withdraw")
FINAL_MAIL = {
    ControleState.compliant: "decision:compliant",
    ControleState.suspended: "decision:suspension",
    ControleState.withdrawn: "decision:withdrawal",
    ControleState.closed: "plan-closed",
}


@dataclass
class ControleOutcome(RunOutcome):
    controle_id: int


def controle_context(view: ControleView) -> dict[str, Any]:
    """The contrôle as its letters and e-mails show it, mapped from its read model
    (:mod:`certification.controle.read_model`)."""
    controle, agrement, cert = view.controle, view.agrement, view.certification
    deadline = controle.action_plan_deadline
    return letter_context(
        f"/app/controles/{controle.id}",
        controle={
            "reference": controle.reference,
            "kind": controle.kind,
            "kind_label": KIND_LABELS[controle.kind],
            "reason": controle.reason,
            **state_fields(controle, CONTROLE_STATE_LABELS),
            **structure_fields(view.structure),
            **certification_fields(cert),
            "agrement_number": agrement.number,
            "agrement_start_date": agrement.start_date,
            "agrement_end_date": agrement.end_date,
            **person_fields("controleur", view.controleur),
            "visit_at": controle.visit_at,
            "visit_end": controle.visit_end,
            "visit_place": controle.visit_place,
            "visit_notes": controle.visit_notes,
            "visit_sequence": max(controle.visit_sequence, 0),
            "findings": controle.findings,
            "report_summary": controle.report_summary,
            "report_submitted_at": controle.report_submitted_at,
            "decision": controle.decision,
            "decision_reason": controle.decision_reason,
            "action_plan_items": controle.action_plan_items,
            "action_plan_deadline": deadline,
            "days_left": (deadline - today()).days if deadline else None,
            "evidence": [{"filename": f.original_name, "uploaded_at": f.uploaded_at} for f in view.evidence],
        },
    )


def _invitation(controle: Controle, c: dict, sequence: int) -> dict:
    return visit_invitation(
        controle,
        ENTITY,
        sequence=sequence,
        summary=f"Visite de contrôle d'agrément {controle.reference} — {c['structure_name']}",
        description=f"Contrôle de l'agrément {c['agrement_number']} ({c['certification_title']}) "
        f"par {c['controleur_name']}.",
        attendees=(c["structure_email"], c["controleur_email"]),
    )


def fulfil_step(db: Session, effect: OwedEffect) -> list[Effects]:
    """The letters and e-mails one step of the contrôle owes, whatever its state is now."""
    settings = get_settings()
    controle = db.get(Controle, effect.dossier_id)
    ctx = controle_context(controle_view(db, controle))
    c = ctx["controle"]
    structure, officers = [c["structure_email"]], [settings.officers_mailbox]
    fx = Effects(db, ENTITY, controle.id, controle.reference)
    step, payload = effect.step, effect.payload
    if step == "assign" and payload.get("controleur_id"):
        mail_mission(db, fx, ctx, "controle", "controleur", payload, "controle/mission_controle")
    elif step == "schedule_visit":
        mail_visit(
            fx,
            ctx,
            controle,
            payload,
            "controle/convocation_visite",
            structure,
            cc=[c["controleur_email"]],
            invitation=lambda sequence: _invitation(controle, c, sequence),
        )
    elif step == "submit_report":
        report = fx.letter(ctx, "rapport_controle", template=letter_template("rapport_controle"))
        fx.mail(ctx, "report", "controle/rapport_depose", officers, attach=[report])
    elif step in DECISION_STEPS:
        decision = payload.get("decision") or controle.decision
        kind = DECISION_LETTERS[decision]
        letter = fx.letter({**ctx, "controle": {**c, "decision": decision}}, kind, template=letter_template(kind))
        fx.mail(ctx, f"decision:{decision}", "controle/decision_controle", structure, cc=officers, attach=[letter])
    elif step == "escalate":
        fx.mail(ctx, "plan-escalated", "controle/plan_actions_echu", officers)
    elif step == "close_action_plan":
        fx.mail(ctx, "plan-closed", "controle/cloture_plan_actions", structure, cc=officers)
    return [fx]


def _reminders(db: Session, controle: Controle, out: ControleOutcome) -> None:
    """Action-plan reminders owed today by the calendar, while the plan is still awaited."""
    if controle.state != ControleState.action_plan or controle.action_plan_deadline is None:
        return
    fx = Effects(db, ENTITY, controle.id, controle.reference)
    settings = get_settings()
    ctx = controle_context(controle_view(db, controle))
    structure = [ctx["controle"]["structure_email"]]
    deadline = controle.action_plan_deadline
    days = latest_due_reminder(settings.action_plan_reminder_days_before, deadline)
    if days is not None:
        fx.mail(ctx, f"plan-reminder:d{days}", "controle/relance_plan_actions", structure)
    elif today() > deadline:
        fx.mail(ctx, "plan-overdue", "controle/relance_plan_actions", structure, cc=[settings.officers_mailbox])
    out.mails += fx.mails


def _system_transition(db: Session, controle: Controle) -> str | None:
    if controle.state != ControleState.action_plan or controle.action_plan_deadline is None:
        return None
    if (today() - controle.action_plan_deadline).days <= get_settings().action_plan_grace_days:
        return None
    try:
        svc.escalate(db, SYSTEM, controle.id)
    except Conflict:
        db.rollback()  # another run moved it first
        return None
    return "escalate"


CALENDAR = Calendar(PROCESS, Controle, "contrôle", fulfil_step, _reminders, _system_transition)


def advance_controle(controle_id: int, engine: Engine | None = None) -> ControleOutcome:
    """Fulfil what the contrôle's steps owe, then the calendar's reminders and escalation."""
    out = ControleOutcome(controle_id)
    controle = CALENDAR.advance(engine, controle_id, out, rounds=3)
    out.waiting_for = controle_waiting_for(controle)
    return out


def controles_needing_attention(engine: Engine | None = None) -> list[int]:
    """Open contrôles (deadlines, reminders) and those with effects still owed (lost runs)."""
    open_states = [s.value for s in ControleState if s not in FINAL_MAIL and s is not ControleState.cancelled]
    return open_or_owed(engine, PROCESS, Controle, open_states)


def plan_periodic(engine: Engine | None = None) -> list[int]:
    with session_scope(engine) as db:
        return [c.id for c in svc.plan_periodic_controles(db, SYSTEM)]


# --- Prefect -------------------------------------------------------------------------------


advance_controle_task = advance_task("advance-controle", advance_controle)


@dossier_flow("controle", process="controle")
async def controle_flow(controle_id: int) -> dict:
    """Drive contrôle ``controle_id`` as far as it can go without a human."""
    return await advance_then_deliver(advance_controle_task, controle_id, "contrôle")


@flow(name="controle-sweep", log_prints=True)
async def controle_sweep_flow() -> dict:
    """Periodic contrôles to plan, action-plan reminders and escalations, lost runs; then the outbox."""
    planned = await anyio.to_thread.run_sync(plan_periodic)
    return {"planned": len(planned), **await sweep(controles_needing_attention, advance_controle_task)}
