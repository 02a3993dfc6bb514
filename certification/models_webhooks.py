"""Webhooks: an officer's subscriptions of an integrator's URL to events, and the deliveries owed
to each (enqueued with the audit row of the event, sent by ``notifications.webhooks``), with the
log of every attempt."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Index, Text
from sqlmodel import Field

from certification.clock import now, wall_clock
from certification.types import Row, UTCDateTime


class WebhookSubscription(Row, table=True):
    __tablename__ = "webhook_subscriptions"

    url: str = Field(max_length=500)
    events: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    secret: str = Field(max_length=100)  # the HMAC key, shown once to the officer at creation
    description: str = Field(default="", max_length=200)
    active: bool = True
    created_by_id: int = Field(foreign_key="users.id")
    created_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)


class WebhookDelivery(Row, table=True):
    """One event owed to one subscription; ``event_id`` is stable across retries (receivers dedupe on it)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),)

    subscription_id: int = Field(foreign_key="webhook_subscriptions.id", index=True)
    event_id: str = Field(max_length=60)
    event: str = Field(max_length=50)
    payload: str = Field(sa_column=Column(Text, nullable=False))  # the exact JSON body that is signed
    status: str = Field(default="pending", max_length=20)  # pending | sending | delivered | failed
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=wall_clock, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebhookAttempt(Row, table=True):
    """The delivery log: one row per HTTP attempt."""

    __tablename__ = "webhook_attempts"

    delivery_id: int = Field(foreign_key="webhook_deliveries.id", index=True)
    at: datetime = Field(default_factory=now, sa_type=UTCDateTime)
    status_code: int | None = None
    error: str | None = Field(default=None, sa_column=Column(Text))
