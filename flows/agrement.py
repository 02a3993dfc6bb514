"""The agrément request flow: drives one request from its database state.

The flow is re-entrant: each run reads the request, produces the side effects owed for its
current state (documents keyed by request+kind+round, e-mails through the outbox with a dedupe
key), fires the system transitions that are due (opening the review, closing an unanswered
demande de compléments) and stops when a human has to act. A human action through the API
triggers a new run; the sweep flow runs every open request for deadlines and reminders and
catches up any run that was lost. Killed anywhere and run again, it neither skips nor repeats.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session

from certification.audit import SYSTEM
from certification.clock import today
from certification.errors import Conflict
from certification.agrement.actions import request_waiting_for
from certification.agrement.models import AgrementRequest
from certification.agrement.read_model import RequestView, request_view
from certification.agrement.states import REQUEST_STATE_LABELS, RequestState
from certification.agrement import service as svc
from certification.settings import get_settings
from flows.context import request_context
from flows.common import advance_task, advance_then_deliver, dossier_flow, latest_due_reminder, sweep_flow
from certification.effects import OwedEffect
from flows.effects import Calendar, Effects, RunOutcome, open_or_owed

ENTITY = AgrementRequest.__tablename__

# The letter and e-mail that close each final state: (document kind and template name, e-mail name).
FINAL_LETTER = {
    RequestState.granted: ("decision_agrement", "decision"),
    RequestState.refused: ("refus_agrement", "decision"),
    RequestState.closed: ("classement_sans_suite", "closed"),
}
STEP_FINAL = {"grant": RequestState.granted, "refuse": RequestState.refused, "close_unanswered": RequestState.closed}
PROCESS = "agrement_request"


def letter_template(kind: str) -> str:
    """The template of the agrément letter ``kind`` (its document kind stays ``kind``); its e-mails
    are queued as ``agrement/<name>``."""
    return f"agrement/{kind}.html"


@dataclass
class Outcome(RunOutcome):
    request_id: int


def _action_url(request: AgrementRequest) -> str:
    return f"{get_settings().public_base_url}/app/demandes/{request.id}"  # the back-office page


def _applicants(ctx: dict) -> list[str]:
    return [ctx["request"]["structure_email"], ctx["request"]["mandataire_email"]]


def _context(view: RequestView, round: int | None = None) -> dict:
    """The context of the request's letters and e-mails, mapped from its read model."""
    return {**request_context(view, round), "action_url": _action_url(view.request)}


def _avis_extra(request: AgrementRequest) -> dict:
    days_left = (request.avis_deadline - today()).days if request.avis_deadline else None
    return {"avis_deadline": request.avis_deadline, "days_left": days_left}


def fulfil_step(db: Session, effect: OwedEffect) -> list[Effects]:
    """The letters and e-mails one step of the request owes, whatever its state is now."""
    settings = get_settings()
    request = db.get(AgrementRequest, effect.dossier_id)
    round = effect.payload.get("round") or request.round
    ctx = _context(request_view(db, request), round)
    fx = Effects(db, ENTITY, request.id, request.reference)
    step = effect.step
    if step in ("submit", "provide_complements"):  # every submission round gets its accusé de réception
        ack = fx.letter(ctx, "accuse_reception", round, template=letter_template("accuse_reception"))
        fx.mail(ctx, f"ack:r{round}", "agrement/accuse_reception", _applicants(ctx), attach=[ack])
    elif step == "request_complements":
        letter = fx.letter(ctx, "demande_complements", round, template=letter_template("demande_complements"))
        fx.mail(ctx, f"complements:r{round}", "agrement/demande_complements", _applicants(ctx), attach=[letter])
    elif step == "start_review":
        fx.mail(
            ctx,
            "avis-request",
            "agrement/demande_avis",
            [ctx["request"]["mandataire_email"]],
            extra=_avis_extra(request),
        )
    elif step == "give_avis":
        fx.mail(ctx, "avis-given", "agrement/avis_rendu", [settings.officers_mailbox], extra=_avis_extra(request))
    elif step in STEP_FINAL:
        state = STEP_FINAL[step]
        kind, name = FINAL_LETTER[state]
        letter = fx.letter(ctx, kind, template=letter_template(kind))
        cc = [] if state is RequestState.closed else [settings.officers_mailbox]
        fx.mail(ctx, name, f"agrement/{kind}", _applicants(ctx), cc=cc, attach=[letter])
    return [fx]


def _reminders(db: Session, request: AgrementRequest, out: Outcome) -> None:
    """Reminders owed today by the calendar, while the request still waits for the mandataire."""
    settings = get_settings()
    state = RequestState(request.state)
    if state is RequestState.incomplete:
        deadline = request.complements_deadline
        days = latest_due_reminder(settings.complements_reminder_days_before, deadline)
        if days is None:
            return
        ctx = _context(request_view(db, request))
        fx = Effects(db, ENTITY, request.id, request.reference)
        fx.mail(
            ctx,
            f"complements-reminder:r{request.round}:d{days}",
            "agrement/relance_complements",
            _applicants(ctx),
            extra={"days_left": (deadline - today()).days},
        )
    elif state is RequestState.under_review and request.avis is None and request.avis_deadline:
        extra = _avis_extra(request)
        days_left = extra["days_left"]
        if not (0 <= days_left <= settings.avis_reminder_days_before or days_left < 0):
            return
        ctx = _context(request_view(db, request))
        fx = Effects(db, ENTITY, request.id, request.reference)
        mandataire = [ctx["request"]["mandataire_email"]]
        if days_left >= 0:
            fx.mail(ctx, "avis-reminder", "agrement/relance_avis", mandataire, extra=extra)
        else:
            fx.mail(
                ctx, "avis-overdue", "agrement/relance_avis", mandataire, cc=[settings.officers_mailbox], extra=extra
            )
    else:
        return
    out.mails += fx.mails


def _system_transition(db: Session, request: AgrementRequest) -> str | None:
    """Fire the one system transition that is due now, if any."""
    state = RequestState(request.state)
    try:
        if state is RequestState.admissible:  # admissible before the review opened in the same transaction
            svc.start_review(db, SYSTEM, request.id)
            return "start_review"
        if state is RequestState.incomplete and request.complements_deadline and today() > request.complements_deadline:
            svc.close_unanswered(db, SYSTEM, request.id)
            return "close_unanswered"
    except Conflict:
        db.rollback()  # another run moved it first: the next loop sees the new state
    return None


CALENDAR = Calendar(PROCESS, AgrementRequest, "agrément request", fulfil_step, _reminders, _system_transition)


def advance_request(request_id: int, engine: Engine | None = None) -> Outcome:
    """Fulfil what the request's steps owe, then the calendar's reminders and deadlines."""
    out = Outcome(request_id)
    request = CALENDAR.advance(engine, request_id, out, rounds=len(REQUEST_STATE_LABELS))
    out.waiting_for = request_waiting_for(request)
    return out


def requests_needing_attention(engine: Engine | None = None) -> list[int]:
    """Open requests (deadlines, reminders) and those with effects still owed (lost runs)."""
    open_states = [
        s.value
        for s in RequestState
        if s not in (RequestState.granted, RequestState.refused, RequestState.closed, RequestState.withdrawn)
    ]
    return open_or_owed(engine, PROCESS, AgrementRequest, open_states)


# --- Prefect -------------------------------------------------------------------------------


advance_request_task = advance_task("advance-agrement-request", advance_request)


@dossier_flow("agrement-request", process="agrement_request")
async def agrement_request_flow(request_id: int) -> dict:
    """Drive agrément request ``request_id`` as far as it can go without a human."""
    return await advance_then_deliver(advance_request_task, request_id, "request")


agrement_sweep_flow = sweep_flow(
    "agrement-sweep",
    requests_needing_attention,
    advance_request_task,
    "Deadlines, reminders and lost runs of the agrément requests, then the outbox.",
)
