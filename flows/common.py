"""Pieces shared by the flows of every process: outbox delivery, reminder windows, sweeps."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from dataclasses import asdict, is_dataclass
from datetime import date, timedelta
from email.utils import parseaddr
from typing import Any, ParamSpec, TypeVar, cast

import anyio
from sqlmodel import Session
from prefect import Flow, Task, flow, get_run_logger, task

from certification.clock import today
from certification.db import get_engine, session_scope
from certification.services.files import referenced_uploads
from certification.models import User
from certification.settings import get_settings
from documents.storage import collect_orphans
from flows.context import person_fields
from flows.effects import Effects
from flows.monitoring import monitored
from notifications.ics import build_invitation, ics_attachment
from notifications.outbox import DeliveryReport, deliver_pending, deliver_while
from notifications.transport import build_transport
from notifications.webhooks import deliver_webhooks

DELIVERY_BATCH = 200  # messages claimed per pass
DELIVERY_PASSES = 100  # at most this many passes per run: a steady stream is left to the next run
OUTCOME_LOGGED = ("state", "transitions", "documents", "mails", "waiting_for")  # what a dossier's run logs
T = TypeVar("T")
P = ParamSpec("P")
AdvanceTask = Task[[int], Coroutine[Any, Any, dict]]


def _delivery_options() -> dict[str, Any]:
    """What every delivery pass of a flow uses: the batch size and the settings' retry policy."""
    settings = get_settings()
    return {
        "limit": DELIVERY_BATCH,
        "max_attempts": settings.mail_max_attempts,
        "backoff_seconds": settings.mail_backoff_seconds,
    }


@task(name="deliver-outbox", retries=2, retry_delay_seconds=2)
async def deliver_task() -> dict:
    """Send what the outbox holds and is due (each message claimed atomically, retried with backoff),
    then the webhook deliveries due."""
    report = DeliveryReport()
    for _ in range(DELIVERY_PASSES):  # until fewer are due than a pass takes: a big jury's e-mails all leave
        done = await deliver_pending(get_engine(), build_transport(get_settings()), **_delivery_options())
        report.add(done)
        if done.handled < DELIVERY_BATCH:
            break
    hooks = asdict(await deliver_webhooks(get_engine()))  # the webhook events due, same loop shape (#13)
    return {**asdict(report), **({"webhooks": hooks} if any(hooks.values()) else {})}


async def while_delivering(step: Awaitable[T]) -> tuple[T, DeliveryReport]:
    """Run ``step`` (a task of a flow) while the outbox is delivered in passes: what the step
    enqueues as it goes leaves before it ends (the flow delivers once more afterwards)."""
    running = asyncio.ensure_future(step)
    early = await deliver_while(running, get_engine(), build_transport(get_settings()), **_delivery_options())
    return await running, early


def collect_orphan_uploads() -> dict:
    """Delete the uploaded files that no dossier refers to, once past the grace period."""
    settings = get_settings()
    with session_scope() as db:
        referenced = referenced_uploads(db)
    root = settings.uploads_dir
    prefix = root.relative_to(settings.data_dir).as_posix() + "/"
    removed = collect_orphans(
        root,
        {p.removeprefix(prefix) for p in referenced if p.startswith(prefix)},
        grace_seconds=settings.upload_orphan_grace_hours * 3600,
    )
    return {"removed": len(removed)}


@task(name="collect-orphan-uploads")
async def collect_orphan_uploads_task() -> dict:
    return await anyio.to_thread.run_sync(collect_orphan_uploads)


def visit_invitation(
    dossier: Any,
    entity: str,
    *,
    sequence: int,
    summary: str,
    description: str,
    attendees: Iterable[str],
    cancelled: bool = False,
) -> dict:
    """The .ics invitation (an outbox attachment) to the visit of ``dossier`` (a contrôle, an appui):
    its dates, place and notes, SEQUENCE ``sequence``; a CANCEL when ``cancelled``."""
    settings = get_settings()
    method = "CANCEL" if cancelled else "REQUEST"
    data = build_invitation(
        uid=f"{dossier.reference}@cqp-engine.local",
        sequence=sequence,
        start=dossier.visit_at,
        end=dossier.visit_end,
        summary=summary,
        location=dossier.visit_place or "",
        description=description + (f"\n{dossier.visit_notes}" if dossier.visit_notes else ""),
        organizer=parseaddr(settings.mail_from)[1],
        attendees=[a for a in attendees if a],
        method=method,
        cancelled=cancelled,
    )
    suffix = "annulation" if cancelled else "visite"
    path = f"generated/{entity}/{dossier.id}/{suffix}-s{sequence}.ics"
    return ics_attachment(settings.data_dir, path, data, method=method)


def mail_mission(db: Session, fx: Effects, ctx: dict, key: str, person: str, payload: dict, template: str) -> None:
    """The e-mail that entrusts a dossier with a visit (``key``: a contrôle, an appui) to its visitor
    (``person``: contrôleur, formateur): to the one the step's payload names (a later reassignment owes
    its own e-mail), once per person."""
    visitor = db.get(User, payload[f"{person}_id"])
    assert visitor is not None  # a foreign key
    fx.mail(
        {**ctx, key: {**ctx[key], **person_fields(person, visitor)}},
        f"mission:u{visitor.id}",
        template,
        [visitor.email],
    )


def mail_visit(
    fx: Effects,
    ctx: dict,
    dossier: Any,
    payload: dict,
    template: str,
    to: list[str],
    *,
    cc: list[str],
    invitation: Callable[[int], dict],
) -> None:
    """The convocation to a dossier's visit with its .ics ``invitation(sequence)``, once per scheduling
    of the visit (the SEQUENCE the step's payload recorded)."""
    sequence = payload.get("visit_sequence", dossier.visit_sequence)
    name = f"visit:s{sequence}"
    if not fx.sent(name):
        fx.mail(ctx, name, template, to, cc=cc, attach=[invitation(sequence)])


def latest_due_reminder(days_before: list[int], deadline: date | None) -> int | None:
    """The reminder owed today before ``deadline`` (only the latest when several are due)."""
    if deadline is None or today() > deadline:
        return None
    due = [d for d in days_before if today() >= deadline - timedelta(days=d)]
    return min(due) if due else None


def advance_task(name: str, advance: Callable[[int], Any], *, retries: int = 2) -> AdvanceTask:
    """The Prefect task ``name`` of a dossier's flow: ``advance`` (the plain function that fulfils
    what the dossier owes, given its id) run in a worker thread; its outcome as a dict."""

    async def advance_in_thread(dossier_id: int) -> dict:
        outcome = await anyio.to_thread.run_sync(advance, dossier_id)
        return asdict(outcome) if is_dataclass(outcome) and not isinstance(outcome, type) else outcome

    advance_in_thread.__qualname__ = f"{advance.__name__}_task"  # Prefect keys a task by its function's name
    return task(name=name, retries=retries, retry_delay_seconds=2)(advance_in_thread)


def dossier_flow(name: str, process: str) -> Callable[[Callable[P, Awaitable[dict]]], Flow[P, Awaitable[dict]]]:
    """The Prefect flow ``name`` of one dossier of ``process`` (its first parameter, the dossier's id),
    each run recorded (``@flow`` over ``@monitored``)."""

    def decorate(fn: Callable[P, Awaitable[dict]]) -> Flow[P, Awaitable[dict]]:
        return cast(Flow[P, Awaitable[dict]], flow(name=name, log_prints=True)(monitored(process)(fn)))

    return decorate


async def sweep(find: Callable[[], list[int]], advance: Callable[[int], Awaitable[dict[str, Any]]]) -> dict:
    """Advance every entity ``find()`` returns with the Prefect task ``advance``, then deliver."""
    ids = await anyio.to_thread.run_sync(find)
    outcomes = [await advance(i) for i in ids]
    return {
        "runs": len(ids),
        "transitions": sum(len(o["transitions"]) for o in outcomes),
        "documents": sum(len(o.get("documents", ())) for o in outcomes),
        "mails": sum(len(o["mails"]) for o in outcomes),
        "delivery": await deliver_task(),
    }


def sweep_flow(
    name: str,
    find: Callable[[], list[int]],
    advance: AdvanceTask,
    description: str | None = None,
) -> Flow[[], Coroutine[Any, Any, dict]]:
    """The Prefect flow ``name`` sweeping one process (a subflow of the daily sweep): advance every
    dossier ``find()`` returns with ``advance``, then deliver."""

    async def sweep_process() -> dict:
        return await sweep(find, advance)

    return flow(name=name, description=description, log_prints=True)(sweep_process)


async def advance_then_deliver(
    advance: AdvanceTask,
    dossier_id: int,
    label: str,
    logged: Sequence[str] = OUTCOME_LOGGED,
) -> dict[str, Any]:
    """The body of a dossier's flow: run its ``advance`` task, deliver the outbox, log the dossier's id
    and the outcome's ``logged`` fields (``<label> 12: state=… waiting for: …``); the outcome with the
    delivery report."""
    outcome = await advance(dossier_id)
    delivery = await deliver_task()
    fields = " ".join("waiting for: %s" if name == "waiting_for" else f"{name}=%s" for name in logged)
    message = f"{label} %s: {fields}"
    get_run_logger().info(message, dossier_id, *(outcome[name] for name in logged))
    return {**outcome, "delivery": delivery}
