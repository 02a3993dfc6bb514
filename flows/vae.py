"""The VAE flow: drives one dossier de VAE from its database state (re-entrant).

Owed per step: the accusé de réception of the request (to the structure and the candidate, the
officers informed), the recevabilité decision letter (« Décision de recevabilité » or « Décision
de non-recevabilité ») and its e-mail, the notice of the livret 2 to the officers. By the
calendar (the sweep): the officers reminded before and after the recevabilité deadline, the
structure reminded when the livret 2 is late. The deliberation, the PV and the certificates are
the jury flow's (:mod:`flows.jury`): a VAE candidate is a candidate of his jury session.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from certification.clock import today
from certification.db import session_scope
from certification.effects import OwedEffect
from certification.settings import get_settings
from certification.vae.actions import vae_waiting_for
from certification.vae.models import VaeDossier
from certification.vae.read_model import VaeView, vae_view
from certification.vae.states import OPEN_VAE_STATES, VAE_STATE_LABELS, VaeState
from flows.common import advance_task, advance_then_deliver, dossier_flow, latest_due_reminder, sweep_flow
from flows.context import certification_fields, letter_context, state_fields, structure_fields
from flows.effects import Effects, RunOutcome, fulfil_owed, open_or_owed

ENTITY = VaeDossier.__tablename__
PROCESS = "vae"
DECISION_LETTERS = {"recevable": "decision_recevabilite", "non_recevable": "decision_non_recevabilite"}


def letter_template(kind: str) -> str:
    """The template of the VAE letter ``kind`` (its document kind stays ``kind``)."""
    return f"vae/{kind}.html"


@dataclass
class VaeOutcome(RunOutcome):
    dossier_id: int


def vae_context(view: VaeView) -> dict[str, Any]:
    """The dossier as its letters and e-mails show it, mapped from its read model
    (:mod:`certification.vae.read_model`)."""
    dossier, candidate, cert, decided_by = view.dossier, view.candidate, view.certification, view.decided_by
    due = dossier.recevabilite_due_on
    return letter_context(
        f"/app/vae/{dossier.id}",
        vae={
            "reference": dossier.reference,
            **state_fields(dossier, VAE_STATE_LABELS),
            **structure_fields(view.structure),
            **certification_fields(cert),
            "candidate_reference": candidate.reference,
            "candidate_name": view.candidate_name,
            "candidate_sex": candidate.sex,
            "candidate_email": candidate.email,
            "blocs": [{"code": code, "title": title} for code, title in view.requested_blocs],
            "experience": dossier.experience,
            "filed_at": dossier.filed_at,
            "recevabilite_due_on": due,
            "days_left": (due - today()).days,
            "decision": dossier.state if dossier.state in ("recevable", "non_recevable") else None,
            "decision_reason": dossier.decision_reason,
            "decided_at": dossier.decided_at,
            "decided_by_name": decided_by.full_name if decided_by else None,
            "livret2_due_on": dossier.livret2_due_on,
            "livret2_name": dossier.livret2_name,
            "livret2_deposited_at": dossier.livret2_deposited_at,
            "accompanist_name": dossier.accompanist_name,
            "accompanist_organisation": dossier.accompanist_organisation,
            "accompaniment_hours": dossier.accompaniment_hours,
        },
    )


def fulfil_step(db: Session, effect: OwedEffect) -> list[Effects]:
    """The letters and e-mails one step of the dossier owes, whatever its state is now."""
    officers = [get_settings().officers_mailbox]
    dossier = db.get(VaeDossier, effect.dossier_id)
    ctx = vae_context(vae_view(db, dossier))
    v = ctx["vae"]
    to = [v["structure_email"], v["candidate_email"]]
    fx = Effects(db, ENTITY, dossier.id, dossier.reference)
    step = effect.step
    if step == "file":
        fx.mail(ctx, "receipt", "vae/accuse_reception_vae", to, cc=officers)
    elif step in ("declare_recevable", "declare_non_recevable"):
        decision = effect.payload.get("decision") or ("recevable" if step == "declare_recevable" else "non_recevable")
        decided = {**ctx, "vae": {**v, "decision": decision}}
        letter = fx.letter(decided, DECISION_LETTERS[decision], template=letter_template(DECISION_LETTERS[decision]))
        fx.mail(decided, f"decision:{decision}", "vae/decision_recevabilite", to, cc=officers, attach=[letter])
    elif step == "deposit_livret2":
        fx.mail(ctx, f"livret2:{effect.entity_id}:{effect.id}", "vae/livret2_depose", officers)
    return [fx]


def _reminders(db: Session, dossier: VaeDossier, fx: Effects) -> None:
    """Reminders owed today by the calendar while the dossier still waits (keyed: sent once)."""
    settings = get_settings()
    if dossier.state == VaeState.demande_deposee:
        ctx = vae_context(vae_view(db, dossier))
        due: date = dossier.recevabilite_due_on
        days = latest_due_reminder(settings.vae_recevabilite_reminder_days_before, due)
        if days is not None:
            fx.mail(ctx, f"recevabilite-reminder:d{days}", "vae/relance_recevabilite", [settings.officers_mailbox])
        elif today() > due:
            fx.mail(ctx, "recevabilite-overdue", "vae/relance_recevabilite", [settings.officers_mailbox])
    elif dossier.state == VaeState.recevable and dossier.livret2_due_on and today() >= dossier.livret2_due_on:
        ctx = vae_context(vae_view(db, dossier))
        v = ctx["vae"]
        fx.mail(
            ctx,
            "livret2-reminder",
            "vae/relance_livret2",
            [v["structure_email"], v["candidate_email"]],
            cc=[settings.officers_mailbox],
        )


def advance_vae(dossier_id: int, engine: Engine | None = None) -> VaeOutcome:
    """Fulfil what the dossier's steps owe, then the calendar's reminders."""
    out = VaeOutcome(dossier_id)
    fulfil_owed(engine, PROCESS, dossier_id, fulfil_step).add_to(out)
    with session_scope(engine) as db:
        dossier = db.get(VaeDossier, dossier_id)
        if dossier is None:
            raise LookupError(f"dossier de VAE {dossier_id} does not exist")
        fx = Effects(db, ENTITY, dossier.id, dossier.reference)
        _reminders(db, dossier, fx)
        out.mails += fx.mails
        out.state = dossier.state
        out.waiting_for = vae_waiting_for(dossier)
    return out


def vae_needing_attention(engine: Engine | None = None) -> list[int]:
    """Open dossiers (deadlines, reminders) and those with effects still owed (lost runs)."""
    return open_or_owed(engine, PROCESS, VaeDossier, [s.value for s in OPEN_VAE_STATES])


# --- Prefect -------------------------------------------------------------------------------


advance_vae_task = advance_task("advance-vae", advance_vae)


@dossier_flow("vae", process="vae")
async def vae_flow(dossier_id: int) -> dict:
    """Drive dossier de VAE ``dossier_id`` as far as it can go without a human."""
    return await advance_then_deliver(
        advance_vae_task,
        dossier_id,
        "VAE",
        logged=("state", "documents", "mails", "waiting_for"),
    )


vae_sweep_flow = sweep_flow(
    "vae-sweep",
    vae_needing_attention,
    advance_vae_task,
    "Recevabilité deadlines, livret 2 reminders, lost runs; then the outbox.",
)
