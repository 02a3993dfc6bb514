"""Prompt recovery of messages left 'sending' by a dead sender (claimer recorded on the claim).

The sender is a real separate process, killed with SIGKILL while the SMTP server (aiosmtpd)
holds its DATA: after the "restart" the message goes out at the next delivery, with the same
Message-ID, not after the claim lease.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from certification.clock import as_utc, shifted
from certification.clock import now as utcnow
from certification.db import session_scope
from notifications.claimer import current_claimer, is_dead, start_token
from notifications.models import OutboxMessage
from notifications.outbox import DeliveryReport, deliver_pending, reclaim_orphaned
from notifications.transport import SmtpTransport
from tests.notifications.test_notifications_delivery import RecordingTransport, load, queue
from tests.smtp import CollectingHandler

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
SENDER = (
    "import asyncio, sys\n"
    "from certification.db import get_engine\n"
    "from notifications.outbox import deliver_pending\n"
    "from notifications.transport import SmtpTransport\n"
    "asyncio.run(deliver_pending(get_engine(), SmtpTransport(host='127.0.0.1', port=int(sys.argv[1]), timeout=600)))\n"
)


class HoldingHandler(CollectingHandler):
    """Holds the first DATA (the whole message received, no answer) until released; accepts the next."""

    def __init__(self) -> None:
        super().__init__()
        self.holding = threading.Event()
        self.release = threading.Event()
        self.held = []

    async def handle_DATA(self, server, db, envelope):  # noqa: N802
        if not self.held:
            self.held.append(envelope)
            self.holding.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
            return "451 4.3.0 Too late"
        return await super().handle_DATA(server, db, envelope)


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_the_claimer_names_this_live_process():
    host, pid, token = current_claimer().split("|")
    assert (host, int(pid)) == (socket.gethostname(), os.getpid())
    assert token == start_token(os.getpid()) and not is_dead(current_claimer())


def test_a_gone_or_reused_pid_is_dead_and_another_host_is_not_judged():
    assert is_dead(f"{socket.gethostname()}|{dead_pid()}|x")
    # Same pid, another start token: the pid was reused by a process that is not the claimer.
    assert is_dead(f"{socket.gethostname()}|{os.getpid()}|{start_token(os.getpid())}0")
    assert not is_dead(f"another-host.example|{dead_pid()}|x")
    assert not is_dead(None)


async def test_a_sender_killed_during_data_is_reclaimed_at_once_with_the_same_message_id(
    engine, settings, context, smtp_server
):
    smtp_server.handler = handler = HoldingHandler()
    smtp_server.start()
    message_id = queue(engine, settings, context, key="agrement_requests:1:ack:r1")
    sender = subprocess.Popen(
        [sys.executable, "-c", SENDER, str(smtp_server.port)],
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        while not handler.holding.wait(0.1):
            if sender.poll() is not None:
                pytest.fail(f"the sender ended before DATA: {sender.communicate()[1][-3000:]}")
        claimed = load(engine, message_id)
        sender.send_signal(signal.SIGKILL)
        sender.wait(timeout=30)
    finally:
        if sender.poll() is None:
            sender.kill()
        handler.release.set()
    assert claimed.status == "sending" and claimed.claimed_by.split("|")[1] == str(sender.pid)
    lease_end = as_utc(claimed.next_attempt_at)
    assert lease_end > utcnow() + timedelta(minutes=9)  # without the claimer, 10 minutes to wait

    report = await deliver_pending(engine, SmtpTransport(host="127.0.0.1", port=smtp_server.port, timeout=5))

    assert report == DeliveryReport(sent=1)
    assert utcnow() < lease_end
    delivered = load(engine, message_id)
    assert delivered.status == "sent" and delivered.claimed_by is None and delivered.attempts == 1
    [mail] = smtp_server.messages
    held_message_id = handler.held[0].original_content.split(b"Message-ID: ", 1)[1].split(b"\r\n", 1)[0]
    assert mail["Message-ID"] == held_message_id.decode() == delivered.message_id


async def test_a_claim_of_a_live_sender_or_another_host_waits_for_its_lease(engine, settings, context):
    mine, elsewhere, gone = (
        queue(engine, settings, context, key=f"k:{name}") for name in ("mine", "elsewhere", "gone")
    )
    lease_end = utcnow() + timedelta(minutes=10)
    claimers = {
        mine: current_claimer(),
        elsewhere: f"another-host.example|{os.getpid()}|x",
        gone: f"{socket.gethostname()}|{dead_pid()}|x",
    }
    with session_scope(engine) as db:
        for message_id, claimer in claimers.items():
            db.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id)
                .values(status="sending", next_attempt_at=lease_end, claimed_by=claimer)
            )

    assert reclaim_orphaned(engine) == [gone]
    transport = RecordingTransport()
    assert await deliver_pending(engine, transport) == DeliveryReport(sent=1)
    assert [m["X-CQP-Dedupe-Key"] for m in transport.sent] == ["k:gone"]
    assert load(engine, mine).status == load(engine, elsewhere).status == "sending"

    later = await deliver_pending(engine, transport, now=lease_end + timedelta(seconds=1))
    assert later == DeliveryReport(sent=2)


async def test_a_claim_taken_while_the_clock_read_the_past_holds_in_the_present(engine, settings, context):
    """The demo shifts the domain's clock weeks back while background flows deliver. A message
    enqueued and claimed then must not look expired to a sender that reads the present (its lease
    is kept in the machine's time): it leaves once."""
    slow, fast = RecordingTransport(delay=1.0), RecordingTransport()
    with shifted(utcnow() - timedelta(days=12)):
        message_id = queue(engine, settings, context, key="jury_sessions:1:convocation:u1")
        first = asyncio.create_task(deliver_pending(engine, slow))
        while load(engine, message_id).status != "sending":
            await asyncio.sleep(0.02)
    assert await deliver_pending(engine, fast) == DeliveryReport()  # the present: the claim holds
    assert await first == DeliveryReport(sent=1)
    assert (len(slow.sent), len(fast.sent)) == (1, 0)
    assert load(engine, message_id).status == "sent"


def test_the_lease_is_a_setting(engine, settings, context, monkeypatch):
    from certification.settings import reset_settings_cache
    from notifications.outbox import claim_lease

    monkeypatch.setenv("CQP_MAIL_CLAIM_LEASE_SECONDS", "42")
    reset_settings_cache()
    assert claim_lease() == timedelta(seconds=42)
