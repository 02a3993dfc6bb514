"""Pieces shared by the flows of every process: outbox delivery, reminder windows, sweeps."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import date, timedelta
from typing import Any, TypeVar

import anyio
from prefect import get_run_logger, task

from certification.clock import today
from certification.db import get_engine, session_scope
from certification.services.files import referenced_uploads
from certification.settings import get_settings
from documents.storage import collect_orphans
from notifications.outbox import DeliveryReport, deliver_pending, deliver_while
from notifications.transport import build_transport
from notifications.webhooks import deliver_webhooks

DELIVERY_BATCH = 200  # messages claimed per pass
DELIVERY_PASSES = 100  # at most this many passes per run: a steady stream is left to the next run
T = TypeVar("T")


def _delivery_options() -> dict[str, Any]:
    """What every delivery pass of a flow uses: the batch size and the settings' retry policy."""
    settings = get_settings()
    return {"limit": DELIVERY_BATCH, "max_attempts": settings.mail_max_attempts,
            "backoff_seconds": settings.mail_backoff_seconds}


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
    with session_scope() as session:
        referenced = referenced_uploads(session)
    root = settings.uploads_dir
    prefix = root.relative_to(settings.data_dir).as_posix() + "/"
    removed = collect_orphans(
        root, {p.removeprefix(prefix) for p in referenced if p.startswith(prefix)},
        grace_seconds=settings.upload_orphan_grace_hours * 3600,
    )
    return {"removed": len(removed)}


@task(name="collect-orphan-uploads")
async def collect_orphan_uploads_task() -> dict:
    return await anyio.to_thread.run_sync(collect_orphan_uploads)


def latest_due_reminder(days_before: list[int], deadline: date | None) -> int | None:
    """The reminder owed today before ``deadline`` (only the latest when several are due)."""
    if deadline is None or today() > deadline:
        return None
    due = [d for d in days_before if today() >= deadline - timedelta(days=d)]
    return min(due) if due else None


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


async def advance_then_deliver(advance: Awaitable[dict[str, Any]], message: str, *logged: str) -> dict[str, Any]:
    """The body of a dossier's flow: await its ``advance`` task, deliver the outbox, log the
    outcome's ``logged`` fields with ``message``; the outcome with the delivery report."""
    outcome = await advance
    delivery = await deliver_task()
    get_run_logger().info(message, *(outcome[name] for name in logged))
    return {**outcome, "delivery": delivery}
