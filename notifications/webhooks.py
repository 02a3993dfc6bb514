"""Delivery of the webhook events queued by ``certification.webhooks``: like the e-mail outbox,
each due delivery is claimed (compare-and-set with a lease), POSTed signed to its subscription's
URL, and either marked delivered (any 2xx) or retried with exponential backoff until
``webhook_max_attempts``; every attempt is logged (``webhook_attempts``)."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import or_, update
from sqlalchemy.engine import Engine
from sqlmodel import select

from certification.clock import now as utcnow
from certification.clock import wall_clock
from certification.db import session_scope
from certification.models_webhooks import WebhookAttempt, WebhookDelivery, WebhookSubscription
from certification.settings import get_settings
from certification.webhooks import SIGNATURE_HEADER, sign
from notifications.outbox import backoff_delay

log = logging.getLogger(__name__)
CLAIM_LEASE = timedelta(minutes=5)
ACTIVE = ("pending", "sending")


@dataclass
class WebhookReport:
    delivered: int = 0
    retried: int = 0
    failed: int = 0


def _due_ids(engine: Engine, now: datetime, limit: int) -> list[int]:
    with session_scope(engine) as db:
        return list(
            db.exec(
                select(WebhookDelivery.id)
                .where(WebhookDelivery.status.in_(ACTIVE), WebhookDelivery.next_attempt_at <= now)
                .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
                .limit(limit)
            ).all()
        )


def _claim(engine: Engine, delivery_id: int, now: datetime) -> tuple[str, str, str, str] | None:
    """Take a delivery (None if another loop did): its URL, secret, event id and payload."""
    with session_scope(engine) as db:
        result = db.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == delivery_id,
                or_(*(WebhookDelivery.status == s for s in ACTIVE)),
                WebhookDelivery.next_attempt_at <= now,
            )
            .values(status="sending", next_attempt_at=now + CLAIM_LEASE)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            return None
        delivery = db.get(WebhookDelivery, delivery_id)
        sub = db.get(WebhookSubscription, delivery.subscription_id)
        return sub.url, sub.secret, delivery.event_id, delivery.payload


def _record(
    engine: Engine,
    delivery_id: int,
    *,
    status_code: int | None,
    error: str | None,
    max_attempts: int,
    backoff_seconds: float,
) -> str:
    with session_scope(engine) as db:
        delivery = db.get(WebhookDelivery, delivery_id)
        delivery.attempts += 1
        db.add(WebhookAttempt(delivery_id=delivery_id, status_code=status_code, error=error))
        if error is None:
            delivery.status, delivery.delivered_at, delivery.last_error = "delivered", utcnow(), None
        elif delivery.attempts >= max_attempts:
            delivery.status, delivery.last_error = "failed", error
        else:
            delivery.status, delivery.last_error = "pending", error
            delivery.next_attempt_at = wall_clock() + backoff_delay(delivery.attempts, backoff_seconds)
        db.add(delivery)
        return delivery.status


async def _post(client: httpx.AsyncClient, url: str, secret: str, event_id: str, payload: str) -> int:
    body = payload.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "cqp-webhooks/1",
        SIGNATURE_HEADER: sign(secret, body, int(time.time())),
        "X-CQP-Event-Id": event_id,
    }
    response = await client.post(url, content=body, headers=headers)
    return response.status_code


async def deliver_webhooks(engine: Engine, *, limit: int = 200) -> WebhookReport:
    """Send the deliveries due now, each claimed first (safe to run concurrently)."""
    settings = get_settings()
    report = WebhookReport()
    async with httpx.AsyncClient(timeout=settings.webhook_timeout_seconds, follow_redirects=False) as client:
        for delivery_id in await asyncio.to_thread(_due_ids, engine, wall_clock(), limit):
            claimed = await asyncio.to_thread(_claim, engine, delivery_id, wall_clock())
            if claimed is None:
                continue
            status_code, error = None, None
            try:
                status_code = await _post(client, *claimed)
                if not 200 <= status_code < 300:
                    error = f"HTTP {status_code}"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"[:2000]
            status = await asyncio.to_thread(
                _record,
                engine,
                delivery_id,
                status_code=status_code,
                error=error,
                max_attempts=settings.webhook_max_attempts,
                backoff_seconds=settings.webhook_backoff_seconds,
            )
            if status == "delivered":
                report.delivered += 1
            elif status == "failed":
                report.failed += 1
                log.error("webhook delivery %s failed for good: %s", delivery_id, error)
            else:
                report.retried += 1
    return report
