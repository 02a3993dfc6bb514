"""Delivery to a real SMTP server (aiosmtpd), retries with backoff, claims, file transport."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
import time_machine
from sqlalchemy import update
from sqlmodel import select

from certification.clock import as_utc
from certification.clock import now as utcnow
from certification.db import session_scope
from certification.settings import Settings
from notifications.models import OutboxMessage
from notifications.outbox import DeliveryReport, backoff_delay, deliver_pending, enqueue
from notifications.transport import (
    FileTransport,
    PermanentDeliveryError,
    SmtpTransport,
    build_transport,
    eml_filename,
)

pytestmark = pytest.mark.integration

PDF = b"%PDF-1.7\n% accuse de reception\n%%EOF\n"
SUBJECT = "[AGR-2026-00001] Accusé de réception de votre demande d'agrément"


def queue(engine, settings, context, key="agrement_requests:1:ack:r1", *, to=None) -> int:
    """Commit one message with a PDF attachment; returns its id."""
    relative = "generated/agrement_requests/1/accuse_reception-v1.pdf"
    (settings.data_dir / relative).parent.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / relative).write_bytes(PDF)
    with session_scope(engine) as db:
        msg = enqueue(
            db,
            dedupe_key=key,
            to=to or ["contact@aci-exemple.fr", "Hélène Lefèvre <helene.lefevre@example.org>"],
            template="agrement/accuse_reception",
            context=context,
            attachments=[
                {"filename": "accusé-réception.pdf", "relative_path": relative, "content_type": "application/pdf"}
            ],
        )
        db.flush()
        return msg.id


def load(engine, message_id: int) -> OutboxMessage:
    with session_scope(engine) as db:
        return db.get(OutboxMessage, message_id)


def smtp(server) -> SmtpTransport:
    return SmtpTransport(host="127.0.0.1", port=server.port, timeout=5)


class RecordingTransport:
    """In-memory transport; optionally slow, or failing with a given exception."""

    def __init__(self, delay: float = 0.0, error: Exception | None = None):
        self.sent: list[EmailMessage] = []
        self.delay = delay
        self.error = error

    async def send(self, msg: EmailMessage) -> None:
        await asyncio.sleep(self.delay)
        if self.error:
            raise self.error
        self.sent.append(msg)


async def test_message_arrives_once_with_attachment_and_utf8_subject(engine, settings, context, smtp_server) -> None:
    smtp_server.start()
    message_id = queue(engine, settings, context)

    report = await deliver_pending(engine, smtp(smtp_server))
    again = await deliver_pending(engine, smtp(smtp_server))

    assert report == DeliveryReport(sent=1)
    assert again == DeliveryReport()
    [envelope] = smtp_server.handler.envelopes
    assert sorted(envelope.rcpt_tos) == ["contact@aci-exemple.fr", "helene.lefevre@example.org"]
    assert envelope.mail_from == "certification@cqp-aci.example.org"
    [received] = smtp_server.handler.messages()
    assert received["Subject"] == SUBJECT
    assert received["Message-ID"] == load(engine, message_id).message_id
    assert "Madame, Monsieur," in received.get_body(("plain",)).get_content()
    [attachment] = list(received.iter_attachments())
    assert attachment.get_filename() == "accusé-réception.pdf"
    assert attachment.get_content() == PDF
    row = load(engine, message_id)
    assert (row.status, row.attempts, row.last_error) == ("sent", 1, None)
    assert row.sent_at is not None


async def test_smtp_down_then_up_delivers_once_after_the_backoff(engine, settings, context, smtp_server) -> None:
    message_id = queue(engine, settings, context)  # nothing listens on smtp_server.port yet
    start = utcnow()

    report = await deliver_pending(engine, smtp(smtp_server), backoff_seconds=30)

    assert report == DeliveryReport(retried=1)
    row = load(engine, message_id)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error
    retry_at = as_utc(row.next_attempt_at)
    assert start + timedelta(seconds=29) <= retry_at <= utcnow() + timedelta(seconds=31)

    smtp_server.start()
    assert await deliver_pending(engine, smtp(smtp_server)) == DeliveryReport()  # not due yet
    assert smtp_server.handler.envelopes == []

    with time_machine.travel(retry_at + timedelta(seconds=1), tick=True):
        assert await deliver_pending(engine, smtp(smtp_server)) == DeliveryReport(sent=1)
        assert await deliver_pending(engine, smtp(smtp_server)) == DeliveryReport()

    assert len(smtp_server.handler.envelopes) == 1
    row = load(engine, message_id)
    assert (row.status, row.attempts) == ("sent", 2)


async def test_gives_up_after_max_attempts(engine, settings, context) -> None:
    message_id = queue(engine, settings, context)
    transport = RecordingTransport(error=ConnectionRefusedError("relais indisponible"))
    now = utcnow()

    first = await deliver_pending(engine, transport, now=now, max_attempts=2, backoff_seconds=60)
    early = await deliver_pending(engine, transport, now=now + timedelta(seconds=59), max_attempts=2)
    second = await deliver_pending(engine, transport, now=now + timedelta(seconds=61), max_attempts=2)
    later = await deliver_pending(engine, transport, now=now + timedelta(days=1), max_attempts=2)

    assert (first, early, second, later) == (
        DeliveryReport(retried=1),
        DeliveryReport(),
        DeliveryReport(failed=1),
        DeliveryReport(),
    )
    row = load(engine, message_id)
    assert (row.status, row.attempts) == ("failed", 2)
    assert "relais indisponible" in row.last_error


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff_delay(n, 30).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert backoff_delay(30, 30) == timedelta(hours=6)


async def test_a_permanent_refusal_is_not_retried(engine, settings, context, smtp_server) -> None:
    smtp_server.handler.refuse = {"nobody@example.org"}
    smtp_server.start()
    message_id = queue(engine, settings, context, to=["nobody@example.org"])

    report = await deliver_pending(engine, smtp(smtp_server))

    assert report == DeliveryReport(failed=1)
    row = load(engine, message_id)
    assert (row.status, row.attempts) == ("failed", 1)
    assert "550" in row.last_error


async def test_a_missing_attachment_counts_as_a_failed_attempt(engine, settings, context) -> None:
    message_id = queue(engine, settings, context)
    (settings.data_dir / "generated/agrement_requests/1/accuse_reception-v1.pdf").unlink()

    report = await deliver_pending(engine, RecordingTransport())

    assert report == DeliveryReport(retried=1)
    assert "FileNotFoundError" in load(engine, message_id).last_error


async def test_a_message_left_sending_by_a_crashed_sender_is_reclaimed(engine, settings, context) -> None:
    stale = queue(engine, settings, context, key="k:stale")
    fresh = queue(engine, settings, context, key="k:fresh")
    now = utcnow()
    with session_scope(engine) as db:
        # "stale": claimed 11 minutes ago (lease over); "fresh": being sent right now elsewhere.
        db.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == stale)
            .values(status="sending", next_attempt_at=now - timedelta(minutes=1))
        )
        db.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == fresh)
            .values(status="sending", next_attempt_at=now + timedelta(minutes=9))
        )
    transport = RecordingTransport()

    report = await deliver_pending(engine, transport, now=now)

    assert report == DeliveryReport(sent=1)
    assert [m["X-CQP-Dedupe-Key"] for m in transport.sent] == ["k:stale"]
    assert load(engine, fresh).status == "sending"


async def test_concurrent_senders_send_each_message_once(engine, settings, context) -> None:
    for i in range(6):
        queue(engine, settings, context, key=f"k:{i}")
    transport = RecordingTransport(delay=0.02)

    reports = await asyncio.gather(*(deliver_pending(engine, transport) for _ in range(3)))

    assert sum(r.sent for r in reports) == 6
    assert sorted(m["X-CQP-Dedupe-Key"] for m in transport.sent) == [f"k:{i}" for i in range(6)]
    with session_scope(engine) as db:
        assert {m.status for m in db.exec(select(OutboxMessage)).all()} == {"sent"}


# --- file transport ------------------------------------------------------------------


async def test_file_transport_writes_one_eml_per_key(engine, settings, context, tmp_path) -> None:
    queue(engine, settings, context, key="agrement_requests:1:ack:r1")
    queue(engine, settings, context, key="agrement_requests:1:ack/r1")  # same once made "safe"
    transport = FileTransport(tmp_path / "outbox")

    assert await deliver_pending(engine, transport) == DeliveryReport(sent=2)
    with session_scope(engine) as db:
        db.execute(update(OutboxMessage).values(status="pending", next_attempt_at=utcnow()))  # resend both
    assert await deliver_pending(engine, transport) == DeliveryReport(sent=2)

    files = sorted((tmp_path / "outbox").iterdir())
    assert [f.name for f in files] == sorted(
        [eml_filename("agrement_requests:1:ack:r1"), eml_filename("agrement_requests:1:ack/r1")]
    )
    parsed = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert parsed["Subject"] == SUBJECT
    assert list(parsed.iter_attachments())[0].get_content() == PDF


def test_build_transport_follows_the_settings(tmp_path) -> None:
    outbox = build_transport(Settings(data_dir=tmp_path, mail_transport="outbox"))
    assert isinstance(outbox, FileTransport) and outbox.outbox_dir == tmp_path / "outbox"

    relay = build_transport(
        Settings(
            mail_transport="smtp",
            smtp_host="smtp.example.org",
            smtp_port=587,
            smtp_username="cqp",
            smtp_password="s3cret",
            smtp_starttls=True,
            smtp_timeout_seconds=7,
        )
    )
    assert isinstance(relay, SmtpTransport)
    assert (relay.host, relay.port, relay.username, relay.password, relay.starttls, relay.timeout) == (
        "smtp.example.org",
        587,
        "cqp",
        "s3cret",
        True,
        7,
    )


async def test_permanent_errors_from_any_transport_fail_at_once(engine, settings, context) -> None:
    message_id = queue(engine, settings, context)
    report = await deliver_pending(engine, RecordingTransport(error=PermanentDeliveryError("adresse invalide")))

    assert report == DeliveryReport(failed=1)
    assert load(engine, message_id).status == "failed"


async def test_what_a_long_step_enqueues_leaves_while_it_still_works(engine, settings, context) -> None:
    """``deliver_while``: the messages a running step commits are sent in passes before it ends,
    each once; what it enqueues after the last pass is left to the caller's final delivery."""
    from notifications.outbox import deliver_while

    transport = FileTransport(settings.outbox_dir)
    sent_before_end: list[int] = []

    def step() -> None:  # a flow step storing documents one by one, each with its e-mail
        for i in range(6):
            queue(engine, settings, context, key=f"jury_sessions:1:results:c{i}:v1")
            time.sleep(0.15)
        sent_before_end.append(len(list(settings.outbox_dir.glob("*.eml"))))

    running = asyncio.ensure_future(asyncio.to_thread(step))
    early = await deliver_while(running, engine, transport, pause=0.05)
    await running
    final = await deliver_pending(engine, transport)
    assert sent_before_end[0] >= 4, sent_before_end  # most left while the step was still working
    assert early.sent + final.sent == 6 and early.failed == final.failed == 0
    assert len(list(settings.outbox_dir.glob("*.eml"))) == 6  # each once
    with session_scope(engine) as db:
        assert {m.status for m in db.exec(select(OutboxMessage))} == {"sent"}


async def test_one_flow_run_delivers_more_than_one_pass_of_messages(engine, settings, context, monkeypatch) -> None:
    """A run sends all that is due, pass after pass (a 1,000-candidate jury's e-mails do not wait
    for the next run), not only the first pass's batch."""
    from flows import common

    monkeypatch.setattr(common, "DELIVERY_BATCH", 4)
    for i in range(11):
        queue(engine, settings, context, key=f"jury_sessions:1:results:c{i}:v1")
    report = await common.deliver_task.fn()
    assert report["sent"] == 11
    assert len(list(settings.outbox_dir.glob("*.eml"))) == 11


async def test_a_sent_message_whose_record_fails_once_is_recorded_not_sent_again(
    engine, settings, context, smtp_server, monkeypatch
) -> None:
    """The database busy when a sent message is recorded: the record is retried, so the message
    does not stay 'sending' until its lease expires and leave a second time."""
    from sqlalchemy.exc import OperationalError

    import notifications.outbox as outbox

    smtp_server.start()
    message_id = queue(engine, settings, context)
    record, calls = outbox._record_success, []

    def busy_once(engine_, message_id_):
        calls.append(message_id_)
        if len(calls) == 1:
            raise OperationalError("UPDATE outbox_messages", {}, Exception("database is locked"))
        record(engine_, message_id_)

    monkeypatch.setattr(outbox, "_record_success", busy_once)
    monkeypatch.setattr(outbox, "_RECORD_RETRIES", (0.05,))
    report = await deliver_pending(engine, smtp(smtp_server))
    assert report == DeliveryReport(sent=1)
    assert calls == [message_id, message_id]
    assert load(engine, message_id).status == "sent"
    assert len(smtp_server.handler.envelopes) == 1
    assert (await deliver_pending(engine, smtp(smtp_server), now=utcnow() + timedelta(days=1))).sent == 0
    assert len(smtp_server.handler.envelopes) == 1
