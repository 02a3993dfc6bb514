"""Transactional outbox: e-mails are recorded with the business change, sent afterwards.

* :func:`enqueue` adds a message in the caller's transaction; its ``dedupe_key``
  guarantees at most one message per business event, however often a flow retries.
* :func:`deliver_pending` sends due messages, each claimed and updated in its own short
  transaction, retrying failures with exponential backoff.

Each claim records its claimer (host, pid, start token: :mod:`notifications.claimer`). A message
left 'sending' by a process that no longer exists on this host is reclaimed at once
(:func:`reclaim_orphaned`, at start-up and before every delivery); the claim lease
(``mail_claim_lease_seconds``) is only the fallback for claimers on other hosts.

Delivery is at-least-once: a sender that dies, or loses its SMTP connection, after the data was
sent but before the database update sends the message again. The deterministic ``Message-ID``
(:func:`message_id_for`), identical for every attempt, lets mail systems drop that duplicate.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import mimetypes
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.header import Header
from email.message import EmailMessage, Message
from email.utils import format_datetime
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, select

from certification.clock import as_utc, today
from certification.clock import now as utcnow
from certification.clock import wall_clock
from certification.db import session_scope
from certification.settings import get_settings
from certification.db import begin_savepoint
from documents.french import typography, typography_html
from documents.render import make_environment
from documents.storage import DocumentStore, checked_relative_path
from notifications.models import (
    STATUS_FAILED,
    STATUS_PENDING,
    STATUS_SENDING,
    STATUS_SENT,
    OutboxMessage,
)
from notifications import mime
from notifications.claimer import current_claimer, is_dead
from notifications.transport import DEDUPE_HEADER, PermanentDeliveryError, Transport

logger = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
MESSAGE_ID_DOMAIN = "cqp-engine.local"
MAX_BACKOFF = timedelta(hours=6)

env = make_environment(TEMPLATES_DIR, autoescape_extensions=("html.j2",))


# --- Rendering -----------------------------------------------------------------------


def _with_defaults(context: Mapping[str, Any]) -> dict[str, Any]:
    defaults = {
        "certifier_name": get_settings().certifier_name,
        "today": today(),
        "recipient_name": None,
        "recipient_sex": None,  # M | F when known: « Madame, » / « Monsieur, » instead of « Madame, Monsieur, »
        "action_url": None,
        "attachment_names": [],
    }
    return {**defaults, **context}


def render_message(template: str, context: Mapping[str, Any]) -> tuple[str, str, str]:
    """Render ``<template>.subject.j2``, ``.txt.j2`` and ``.html.j2``: ``(subject, text, html)``.

    ``certifier_name``, ``today``, ``recipient_name``, ``action_url`` and
    ``attachment_names`` get defaults; every other key the template uses is required.
    The subject is flattened to one line (it becomes a header). Both bodies get the
    non-breaking spaces of French typography before « : ; ! ? » and inside « »
    (:func:`documents.french.typography` for the plain-text part,
    :func:`documents.french.typography_html` for the HTML part), so that a line never starts
    with a colon or a guillemet in either part.
    """
    ctx = _with_defaults(context)
    subject = " ".join(env.get_template(f"{template}.subject.j2").render(ctx).split())
    ctx["subject"] = subject
    text = typography(env.get_template(f"{template}.txt.j2").render(ctx))
    html = typography_html(env.get_template(f"{template}.html.j2").render(ctx))
    return subject, text, html


# --- Enqueuing -----------------------------------------------------------------------


def message_id_for(dedupe_key: str) -> str:
    """Deterministic Message-ID, identical for every attempt of one message."""
    digest = hashlib.sha256(dedupe_key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@{MESSAGE_ID_DOMAIN}>"


def document_attachment(document: Any, *, root: Path | None = None, data_dir: Path | None = None) -> dict:
    """Attachment entry for a generated document (``documents.models.GeneratedDocument``).

    ``root`` is the directory the document was generated under (``ensure_document(root=...)``,
    default ``data_dir``); outbox attachment paths are relative to ``data_dir``.
    """
    relative = checked_relative_path(document.relative_path)
    if root is not None:  # generated elsewhere: its path from data_dir (resolved: no system call otherwise)
        data_dir = Path(data_dir if data_dir is not None else get_settings().data_dir).resolve()
        relative = PurePosixPath(Path(root).resolve().joinpath(*relative.parts).relative_to(data_dir))
    return {
        "filename": document.filename,
        "relative_path": relative.as_posix(),
        "content_type": document.content_type,
    }


def _normalize_attachments(attachments: Iterable[Mapping[str, str]]) -> list[dict]:
    normalized = []
    for item in attachments:
        filename, relative_path = item["filename"], item["relative_path"]
        content_type = item.get("content_type") or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        checked_relative_path(relative_path)
        normalized.append({"filename": filename, "relative_path": relative_path, "content_type": content_type})
    return normalized


def get_by_dedupe_key(db: Session, dedupe_key: str) -> OutboxMessage | None:
    return db.exec(select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key)).first()


def enqueue(
    db: Session,
    *,
    dedupe_key: str,
    to: Sequence[str],
    template: str,
    context: Mapping[str, Any],
    attachments: Iterable[Mapping[str, str]] = (),
    cc: Sequence[str] = (),
    entity_type: str | None = None,
    entity_id: int | None = None,
    looked_up: bool = False,
) -> OutboxMessage:
    """Record an e-mail to send; returns the existing message if ``dedupe_key`` is known
    (``looked_up``: the caller has just found it unknown in this transaction, not read again; an
    insert of the same key meanwhile is still absorbed).

    The message is rendered now (the outbox keeps what was promised, even if templates
    change later). Attachments are ``{"filename", "relative_path", "content_type"}``
    with paths relative to ``settings.data_dir`` (see :func:`document_attachment`).
    Flushes, never commits: the caller's transaction decides.
    """
    if len(dedupe_key) > 200:
        raise ValueError("dedupe_key longer than 200 characters")
    existing = None if looked_up else get_by_dedupe_key(db, dedupe_key)
    if existing is not None:
        return existing
    recipients = [addr for addr in to if addr]
    if not recipients:
        raise ValueError(f"No recipient for message {dedupe_key!r}")

    attachment_list = _normalize_attachments(attachments)
    subject, text, html = render_message(
        template, {**context, "attachment_names": [a["filename"] for a in attachment_list]}
    )
    message = OutboxMessage(
        dedupe_key=dedupe_key,
        to_addrs=recipients,
        cc_addrs=[addr for addr in cc if addr],
        subject=subject,
        body_text=text,
        body_html=html,
        attachments=attachment_list,
        message_id=message_id_for(dedupe_key),
        entity_type=entity_type,
        entity_id=entity_id,
        template=template,
    )
    try:
        with begin_savepoint(db):
            db.add(message)
    except IntegrityError:
        existing = get_by_dedupe_key(db, dedupe_key)
        if existing is None:  # pragma: no cover - the conflict was on another constraint
            raise
        return existing
    return message


def list_messages(db: Session, entity_type: str, entity_id: int) -> list[OutboxMessage]:
    """Messages about an entity, for its timeline."""
    return list(
        db.exec(
            select(OutboxMessage)
            .where(OutboxMessage.entity_type == entity_type, OutboxMessage.entity_id == entity_id)
            .order_by(OutboxMessage.created_at, OutboxMessage.id)
        ).all()
    )


def requeue(db: Session, message_id: int) -> OutboxMessage:
    """Give a failed message a fresh set of attempts (officer action after fixing the cause)."""
    message = db.get(OutboxMessage, message_id)
    if message is None:
        raise LookupError(f"Outbox message {message_id} not found")
    if message.status == STATUS_FAILED:
        message.status = STATUS_PENDING
        message.attempts = 0
        message.next_attempt_at = wall_clock()
        db.add(message)
        db.flush()
    return message


# --- Building ------------------------------------------------------------------------


class EncodedSubject(str):
    """The subject, folded by :class:`email.header.Header` (RFC 2047 encoded words, spaces
    encoded inside them) instead of by the e-mail policy: Python 3.11's policy folds a long
    accented subject as ``… rendu\r\n =?utf-8?q?import=C3=A9?= …``, which every reader decodes
    with two spaces (``rendu  importé``; CPython gh-144156 and related). Compares and reads as the
    plain subject; ASCII subjects are folded as usual."""

    name = "Subject"

    def fold(self, *, policy) -> str:
        if self.isascii():
            return policy.fold(self.name, str(self))
        return _encoded_subject(str(self), policy.linesep)


@lru_cache(maxsize=256)
def _encoded_subject(subject: str, linesep: str) -> str:
    """The folded header of an accented subject (``Header`` encodes it character by character: the
    results e-mails of a jury share their subject, encoded once)."""
    encoded = Header(subject, "utf-8", header_name=EncodedSubject.name).encode(linesep=linesep)
    return f"{EncodedSubject.name}: {encoded}{linesep}"


def build_email(msg: OutboxMessage, data_dir: Path, *, mail_from: str | None = None) -> EmailMessage:
    """The MIME message: text and HTML alternatives, attachments read from ``data_dir``."""
    email = EmailMessage(policy=mime.SMTP)  # policy.SMTP, each header parsed once
    email["From"] = mail_from or get_settings().mail_from
    email["To"] = ", ".join(msg.to_addrs)
    if msg.cc_addrs:
        email["Cc"] = ", ".join(msg.cc_addrs)
    email["Subject"] = EncodedSubject(msg.subject)
    email["Message-ID"] = msg.message_id
    email["Date"] = format_datetime(as_utc(msg.created_at))
    email[DEDUPE_HEADER] = msg.dedupe_key
    # Quoted-printable keeps the French text 7-bit clean for any relay (no 8BITMIME needed).
    email.set_content(msg.body_text, cte="quoted-printable")
    email.add_alternative(msg.body_html, subtype="html", cte="quoted-printable")
    store = DocumentStore(Path(data_dir))
    for attachment in msg.attachments:
        maintype, subtype, params = _split_content_type(attachment["content_type"])
        email.add_attachment(
            store.read(attachment["relative_path"]),
            maintype=maintype,
            subtype=subtype,
            filename=attachment["filename"],
            params=params,
        )
    return email


def _split_content_type(content_type: str) -> tuple[str, str, dict[str, str]]:
    """``"text/calendar; charset=utf-8; method=REQUEST"`` -> ``("text", "calendar", {...params})``.

    Parameters are kept (a calendar invitation needs ``method``); a value without a subtype
    falls back to ``application/octet-stream``.
    """
    header = Message()
    header["Content-Type"] = content_type
    full = content_type.split(";", 1)[0].strip().lower()
    if "/" not in full:
        return "application", "octet-stream", {}
    maintype, _, subtype = full.partition("/")
    params = {key: value for key, value in header.get_params()[1:] if key}
    return maintype, subtype or "octet-stream", params


# --- Delivery ------------------------------------------------------------------------


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0

    def add(self, other: DeliveryReport) -> DeliveryReport:
        self.sent += other.sent
        self.retried += other.retried
        self.failed += other.failed
        return self

    @property
    def handled(self) -> int:
        return self.sent + self.retried + self.failed


def backoff_delay(attempts: int, backoff_seconds: float) -> timedelta:
    """Delay before the next try after ``attempts`` failed tries: base * 2**(attempts-1), max 6 h."""
    seconds = backoff_seconds * 2 ** max(attempts - 1, 0)
    return min(timedelta(seconds=seconds), MAX_BACKOFF)


def _due_ids(engine: Engine, now: datetime, limit: int) -> list[int]:
    """Pending messages whose time has come, and 'sending' ones whose claim lease expired."""
    with session_scope(engine) as db:
        return list(
            db.exec(
                select(OutboxMessage.id)
                .where(
                    or_(OutboxMessage.status == STATUS_PENDING, OutboxMessage.status == STATUS_SENDING),
                    OutboxMessage.next_attempt_at <= now,
                )
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                .limit(limit)
            ).all()
        )


def claim_lease() -> timedelta:
    return timedelta(seconds=get_settings().mail_claim_lease_seconds)


def reclaim_orphaned(engine: Engine | None = None, *, now: datetime | None = None) -> list[int]:
    """Messages left 'sending' by a process gone from this host become due now; returns their ids.

    Each is reset with a compare-and-set on its claimer, so a live sender's claim is never taken.
    """
    now = as_utc(now) if now is not None else wall_clock()
    with session_scope(engine) as db:
        claims = db.exec(
            select(OutboxMessage.id, OutboxMessage.claimed_by).where(
                OutboxMessage.status == STATUS_SENDING, OutboxMessage.claimed_by.is_not(None)
            )
        ).all()
    reclaimed = []
    for message_id, claimer in claims:
        if not is_dead(claimer):
            continue
        with session_scope(engine) as db:
            result = db.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id == message_id,
                    OutboxMessage.status == STATUS_SENDING,
                    OutboxMessage.claimed_by == claimer,
                )
                .values(status=STATUS_PENDING, next_attempt_at=now, claimed_by=None)
                .execution_options(synchronize_session=False)
            )
        if result.rowcount == 1:
            logger.warning("Outbox message %s reclaimed from %s (process gone)", message_id, claimer)
            reclaimed.append(message_id)
    return reclaimed


def _claim(engine: Engine, message_id: int, now: datetime) -> OutboxMessage | None:
    """Atomically take a message; None if another sender got it first.

    A claimed message is 'sending', records its claimer, and has ``next_attempt_at`` set to the
    end of its lease: if this sender dies, :func:`reclaim_orphaned` makes it due again at once on
    this host, and any host takes it again when the lease expires.
    """
    with session_scope(engine) as db:
        result = db.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == message_id,
                or_(OutboxMessage.status == STATUS_PENDING, OutboxMessage.status == STATUS_SENDING),
                OutboxMessage.next_attempt_at <= now,
            )
            .values(status=STATUS_SENDING, next_attempt_at=now + claim_lease(), claimed_by=current_claimer())
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            return None
        return db.get(OutboxMessage, message_id)


def _record_success(engine: Engine, message_id: int) -> None:
    with session_scope(engine) as db:
        db.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(
                status=STATUS_SENT,
                attempts=OutboxMessage.attempts + 1,
                sent_at=utcnow(),
                last_error=None,
                claimed_by=None,
            )
            .execution_options(synchronize_session=False)
        )


def _claim_and_build(
    engine: Engine, message_id: int, now: datetime, data_dir: Path, mail_from: str | None
) -> tuple[OutboxMessage | None, EmailMessage | BaseException | None]:
    """The claim, then the e-mail built (or why it could not be), in one trip to a worker thread."""
    message = _claim(engine, message_id, now)
    if message is None:
        return None, None
    try:
        return message, build_email(message, data_dir, mail_from=mail_from)
    except Exception as exc:  # noqa: BLE001 - recorded as a failed attempt by the caller
        return message, exc


def _record_failure(
    engine: Engine, message_id: int, error: BaseException, *, now: datetime, max_attempts: int, backoff_seconds: float
) -> str:
    """Schedule a retry or give up; returns the new status."""
    permanent = isinstance(error, PermanentDeliveryError)
    with session_scope(engine) as db:
        message = db.get(OutboxMessage, message_id)
        message.attempts += 1
        message.last_error = f"{type(error).__name__}: {error}"[:4000]
        message.claimed_by = None
        if permanent or message.attempts >= max_attempts:
            message.status = STATUS_FAILED
        else:
            message.status = STATUS_PENDING
            message.next_attempt_at = now + backoff_delay(message.attempts, backoff_seconds)
        return message.status


async def deliver_pending(
    engine: Engine,
    transport: Transport,
    *,
    now: datetime | None = None,
    limit: int = 200,
    max_attempts: int | None = None,
    backoff_seconds: float | None = None,
    data_dir: Path | None = None,
    mail_from: str | None = None,
) -> DeliveryReport:
    """Send the messages due at ``now`` (default: current time), one transaction each.

    Safe to run concurrently (claims are compare-and-set updates). Database work runs in
    worker threads, so the event loop is never blocked by a busy SQLite file. Defaults come from
    the settings (``mail_max_attempts``, ``mail_backoff_seconds``, ``data_dir``, ``mail_from``).
    """
    settings = get_settings()
    fixed_now = as_utc(now) if now is not None else None

    def clock() -> datetime:
        # Without an explicit ``now``, each claim and backoff uses the current time, so a
        # long batch never hands out leases that are already expired; the machine's time, not
        # the domain's (which the demo shifts), so that no lease is judged by a clock that jumps.
        return fixed_now or wall_clock()

    max_attempts = max_attempts if max_attempts is not None else settings.mail_max_attempts
    backoff_seconds = backoff_seconds if backoff_seconds is not None else settings.mail_backoff_seconds
    data_dir = Path(data_dir) if data_dir is not None else settings.data_dir
    report = DeliveryReport()

    await asyncio.to_thread(reclaim_orphaned, engine, now=fixed_now)
    for message_id in await asyncio.to_thread(_due_ids, engine, clock(), limit):
        message, built = await asyncio.to_thread(_claim_and_build, engine, message_id, clock(), data_dir, mail_from)
        if message is None:
            continue  # another sender claimed it first
        try:
            if isinstance(built, BaseException):
                raise built
            assert built is not None
            await transport.send(built)
        except Exception as exc:  # noqa: BLE001 - any failure is recorded, then retried or failed
            status = await asyncio.to_thread(
                _record_failure,
                engine,
                message_id,
                exc,
                now=clock(),
                max_attempts=max_attempts,
                backoff_seconds=backoff_seconds,
            )
            log = logger.error if status == STATUS_FAILED else logger.warning
            log("Outbox message %s (%s) not sent, now %s: %s", message_id, message.dedupe_key, status, exc)
            if status == STATUS_FAILED:
                report.failed += 1
            else:
                report.retried += 1
            continue
        await _record_success_retrying(engine, message_id)
        report.sent += 1
    return report


_RECORD_RETRIES = (0.2, 0.5, 1.0, 2.0, 4.0, 8.0)


async def _record_success_retrying(engine: Engine, message_id: int) -> None:
    """Record a sent message, retried while the database is busy: the message has left, and a
    record that failed now would leave it 'sending' until its lease expires, then send it again.
    (Each database call already waits for the write lock up to SQLite's busy timeout.)"""
    for pause in (*_RECORD_RETRIES, None):
        try:
            await asyncio.to_thread(_record_success, engine, message_id)
            return
        except OperationalError as exc:  # database locked or connection lost: transient
            if pause is None:
                raise
            logger.warning(
                "Outbox message %s sent, recording it failed (%s): retried in %.1f s", message_id, exc, pause
            )
            await asyncio.sleep(pause)


async def deliver_while(
    running: asyncio.Future[Any], engine: Engine, transport: Transport, *, pause: float = 1.0, **options: Any
) -> DeliveryReport:
    """Deliver in passes while ``running`` is not done, so that what a long step enqueues as it
    goes (the results e-mails of a big jury, one per candidate as its document is stored) leaves
    while the step still works; the caller delivers once more when it is done. ``options`` go to
    :func:`deliver_pending`. Safe beside any other sender (each message is claimed)."""
    report = DeliveryReport()
    while not running.done():
        await asyncio.wait({running}, timeout=pause)
        if not running.done():
            report.add(await deliver_pending(engine, transport, **options))
    return report
