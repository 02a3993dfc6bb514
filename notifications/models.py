"""The outbox: e-mails recorded in the business transaction, sent afterwards."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, DateTime, Index, Text
from sqlmodel import Field, SQLModel

from certification.clock import now as utcnow
from certification.clock import wall_clock

STATUS_PENDING = "pending"
STATUS_SENDING = "sending"
STATUS_SENT = "sent"
STATUS_FAILED = "failed"


def _utc_column(*, nullable: bool) -> Column:
    return Column(DateTime(timezone=True), nullable=nullable)


class OutboxMessage(SQLModel, table=True):
    """One e-mail to send. ``dedupe_key`` makes enqueuing idempotent (never two mails).

    ``attachments`` holds ``{"filename", "relative_path", "content_type"}`` dicts, paths
    relative to ``settings.data_dir``. Timestamps are aware UTC when written; SQLite
    returns them naive (see :func:`certification.clock.as_utc`).
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index("ix_outbox_messages_due", "status", "next_attempt_at"),
        Index("ix_outbox_messages_entity", "entity_type", "entity_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(max_length=200, unique=True)
    to_addrs: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    cc_addrs: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    subject: str = Field(max_length=500)
    body_text: str = Field(sa_column=Column(Text, nullable=False))
    body_html: str = Field(sa_column=Column(Text, nullable=False))
    attachments: list[dict] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: str = Field(default=STATUS_PENDING, max_length=20)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=wall_clock, sa_column=_utc_column(nullable=False))
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    message_id: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_utc_column(nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    entity_type: str | None = Field(default=None, max_length=40)
    entity_id: int | None = None
    template: str | None = Field(default=None, max_length=100)
    # "<host>|<pid>|<start token>" of the process sending it (status 'sending'), see notifications.claimer
    claimed_by: str | None = Field(default=None, max_length=300)
