"""The agrément request flow: drives one request from its database state.

The flow is re-entrant: each run reads the request, produces the side effects owed for its
current state (documents keyed by request+kind+round, e-mails through the outbox with a dedupe
key), fires the system transitions that are due (opening the review, closing an unanswered
demande de compléments) and stops when a human has to act. A human action through the API
triggers a new run; the sweep flow runs every open request for deadlines and reminders and
catches up any run that was lost. Killed anywhere and run again, it neither skips nor repeats.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import anyio
from prefect import flow, get_run_logger, task
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from certification.audit import SYSTEM
from certification.clock import today
from certification.db import session_scope
from certification.errors import Conflict
from certification.models import AgrementRequest
from certification.processes.agrement import REQUEST_STATE_LABELS, RequestState
from certification.services import agrement as svc
from certification.settings import get_settings
from flows.context import request_context
from flows.common import deliver_task, latest_due_reminder, sweep
from flows.effects import Effects, mail_key
from notifications.models import OutboxMessage

ENTITY = AgrementRequest.__tablename__
R = RequestState

# The letter and e-mail that close each final state: (template, e-mail name).
FINAL_LETTER = {
    R.granted: ("decision_agrement", "decision"),
    R.refused: ("refus_agrement", "decision"),
    R.closed: ("classement_sans_suite", "closed"),
}


@dataclass
class Outcome:
    request_id: int
    state: str = ""
    transitions: list[str] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)
    mails: list[str] = field(default_factory=list)
    waiting_for: str | None = None


def _action_url(request: AgrementRequest) -> str:
    return f"{get_settings().public_base_url}/app/demandes/{request.id}"  # the back-office page


def _side_effects(session: Session, request: AgrementRequest, out: Outcome) -> None:
    """Produce what the current state owes; every call is a no-op once done."""
    settings = get_settings()
    ctx = {**request_context(session, request), "action_url": _action_url(request)}
    r = ctx["request"]
    applicants = [r["structure_email"], r["mandataire_email"]]
    state = RequestState(request.state)
    fx = Effects(session, ENTITY, request.id, request.reference)

    # Every submission round gets its accusé de réception, whatever happened since.
    ack = fx.letter(ctx, "accuse_reception", request.round)
    fx.mail(ctx, f"ack:r{request.round}", "accuse_reception", applicants, attach=[ack])

    if state is R.incomplete:
        letter = fx.letter(ctx, "demande_complements", request.round)
        fx.mail(ctx, f"complements:r{request.round}", "demande_complements", applicants, attach=[letter])
        deadline = request.complements_deadline
        days = latest_due_reminder(settings.complements_reminder_days_before, deadline)
        if days is not None:
            fx.mail(ctx, f"complements-reminder:r{request.round}:d{days}", "relance_complements", applicants,
                    extra={"days_left": (deadline - today()).days})
    elif state is R.under_review:
        days_left = (request.avis_deadline - today()).days if request.avis_deadline else None
        extra = {"avis_deadline": request.avis_deadline, "days_left": days_left}
        if request.avis is None:
            fx.mail(ctx, "avis-request", "demande_avis", [r["mandataire_email"]], extra=extra)
            if days_left is not None and 0 <= days_left <= settings.avis_reminder_days_before:
                fx.mail(ctx, "avis-reminder", "relance_avis", [r["mandataire_email"]], extra=extra)
            elif days_left is not None and days_left < 0:
                fx.mail(ctx, "avis-overdue", "relance_avis", [r["mandataire_email"]],
                        cc=[settings.officers_mailbox], extra=extra)
        else:
            fx.mail(ctx, "avis-given", "avis_rendu", [settings.officers_mailbox], extra=extra)
    elif state in FINAL_LETTER:
        kind, name = FINAL_LETTER[state]
        letter = fx.letter(ctx, kind)
        cc = [] if state is R.closed else [settings.officers_mailbox]
        fx.mail(ctx, name, kind, applicants, cc=cc, attach=[letter])
    out.documents += fx.documents
    out.mails += fx.mails


def _system_transition(session: Session, request: AgrementRequest) -> str | None:
    """Fire the one system transition that is due now, if any."""
    state = RequestState(request.state)
    try:
        if state is R.admissible:
            svc.start_review(session, SYSTEM, request.id)
            return "start_review"
        if state is R.incomplete and request.complements_deadline and today() > request.complements_deadline:
            svc.close_unanswered(session, SYSTEM, request.id)
            return "close_unanswered"
    except Conflict:
        session.rollback()  # another run moved it first: the next loop sees the new state
    return None


def waiting_for(request: AgrementRequest) -> str | None:
    state = RequestState(request.state)
    if state is R.submitted:
        return "chargé·e de certification : examen de la recevabilité"
    if state is R.incomplete:
        return f"mandataire : compléments attendus avant le {request.complements_deadline:%d/%m/%Y}"
    if state is R.under_review and not request.avis:
        deadline = f" avant le {request.avis_deadline:%d/%m/%Y}" if request.avis_deadline else ""
        return f"mandataire : avis attendu{deadline}"
    if state is R.under_review:
        return "chargé·e de certification : décision"
    return None


def advance_request(request_id: int, engine: Engine | None = None) -> Outcome:
    """Bring one request up to date with its state; plain function (Prefect wraps it as a task)."""
    out = Outcome(request_id)
    for _ in range(len(REQUEST_STATE_LABELS)):
        with session_scope(engine) as session:
            request = session.get(AgrementRequest, request_id)
            if request is None:
                raise LookupError(f"agrément request {request_id} does not exist")
            _side_effects(session, request, out)
        with session_scope(engine) as session:
            request = session.get(AgrementRequest, request_id)
            fired = _system_transition(session, request)
        if not fired:
            break
        out.transitions.append(fired)
    out.state = request.state
    out.waiting_for = waiting_for(request)
    return out


def requests_needing_attention(engine: Engine | None = None) -> list[int]:
    """Open requests (deadlines, reminders) and final ones whose closing mail is missing."""
    open_states = [s.value for s in R if s not in (R.granted, R.refused, R.closed, R.withdrawn)]
    with session_scope(engine) as session:
        ids = list(session.exec(select(AgrementRequest.id).where(AgrementRequest.state.in_(open_states))))
        finals = session.exec(
            select(AgrementRequest.id, AgrementRequest.state).where(
                AgrementRequest.state.in_([s.value for s in FINAL_LETTER])
            )
        ).all()
        if finals:
            keys = {mail_key(ENTITY, i, FINAL_LETTER[R(s)][1]): i for i, s in finals}
            sent = set(session.exec(select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(keys))))
            ids += [i for k, i in keys.items() if k not in sent]
    return sorted(ids)


# --- Prefect -------------------------------------------------------------------------------


@task(name="advance-agrement-request", retries=2, retry_delay_seconds=2)
async def advance_task(request_id: int) -> dict:
    return asdict(await anyio.to_thread.run_sync(advance_request, request_id))


@flow(name="agrement-request", log_prints=True)
async def agrement_request_flow(request_id: int) -> dict:
    """Drive agrément request ``request_id`` as far as it can go without a human."""
    outcome = await advance_task(request_id)
    delivery = await deliver_task()
    get_run_logger().info(
        "request %s: state=%s transitions=%s documents=%s mails=%s waiting for: %s",
        request_id, outcome["state"], outcome["transitions"], outcome["documents"], outcome["mails"],
        outcome["waiting_for"],
    )
    return {**outcome, "delivery": delivery}


@flow(name="agrement-sweep", log_prints=True)
async def agrement_sweep_flow() -> dict:
    """Deadlines, reminders and lost runs of the agrément requests, then the outbox."""
    return await sweep(requests_needing_attention, advance_task)
