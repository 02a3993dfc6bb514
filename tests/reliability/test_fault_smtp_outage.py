"""The SMTP relay goes down while a jury's results are being e-mailed.

A real Prefect run of the jury flow delivers to a real SMTP server (aiosmtpd) that stops after a
few messages. The run still completes; the other messages stay in the outbox, pending, with their
attempt counted and a retry date (exponential backoff). Time passes (time-machine), delivery is
tried again while the relay is still down (second attempt, longer backoff), then the relay comes
back and the outbox is delivered until empty: every message arrives exactly once.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
import time_machine
from sqlmodel import select

from certification.clock import as_utc, now
from certification.db import session_scope
from flows.common import deliver_task
from flows.jury import jury_session_flow
from notifications.models import OutboxMessage
from notifications.outbox import backoff_delay
from notifications.transport import DEDUPE_HEADER
from tests.factories import deliberated_session, ready_candidates

pytestmark = pytest.mark.integration
SIZE = 20
# what the session owes: a results e-mail per candidate and one for their structure, plus the four
# members' convocations and the « PV à signer » owed by the earlier steps
MAILS = SIZE + 1 + 4 + 1
ACCEPTED_BEFORE_OUTAGE = 7


def outbox() -> list[OutboxMessage]:
    with session_scope() as db:
        return list(db.exec(select(OutboxMessage).order_by(OutboxMessage.id)))


async def deliver_until_empty(rounds: int = 5) -> int:
    sent = 0
    for _ in range(rounds):
        report = await deliver_task.fn()
        sent += report["sent"]
        if not any(m.status == "pending" for m in outbox()):
            break
    return sent


async def test_smtp_outage_during_results_then_recovery(prefect_server, failing_smtp, world, settings):
    smtp = failing_smtp(ACCEPTED_BEFORE_OUTAGE)
    ids = ready_candidates(world["structure"], SIZE)
    sid = deliberated_session(world, ids)

    started = now()
    result = await jury_session_flow(sid)  # the relay stops after 7 messages
    assert result["state"] == "results_notified"
    assert len(result["mails"]) == MAILS and len(result["certificates"]) == SIZE
    assert result["delivery"]["sent"] == ACCEPTED_BEFORE_OUTAGE
    assert result["delivery"]["retried"] == MAILS - ACCEPTED_BEFORE_OUTAGE and result["delivery"]["failed"] == 0
    assert len(smtp.handler.envelopes) == ACCEPTED_BEFORE_OUTAGE

    messages = outbox()
    pending = [m for m in messages if m.status == "pending"]
    assert len(pending) == MAILS - ACCEPTED_BEFORE_OUTAGE
    assert {m.status for m in messages} == {"sent", "pending"}
    first_retry = started + backoff_delay(1, settings.mail_backoff_seconds)
    for m in pending:  # one attempt recorded, retried after the backoff, the error kept
        assert m.attempts == 1 and m.last_error and m.sent_at is None
        assert first_retry <= as_utc(m.next_attempt_at) <= now() + backoff_delay(1, settings.mail_backoff_seconds)

    # Nothing is due before the backoff has elapsed.
    assert (await deliver_task.fn())["sent"] == 0 and all(m.attempts == 1 for m in outbox() if m.status == "pending")

    # Past the first backoff, the relay is still down: a second attempt, a longer backoff.
    with time_machine.travel(now() + timedelta(seconds=settings.mail_backoff_seconds + 5), tick=True):
        second = await deliver_task.fn()
        assert second == {"sent": 0, "retried": MAILS - ACCEPTED_BEFORE_OUTAGE, "failed": 0}
        for m in outbox():
            if m.status == "pending":
                assert m.attempts == 2
                assert as_utc(m.next_attempt_at) >= now() + backoff_delay(2, settings.mail_backoff_seconds) - timedelta(
                    seconds=5
                )
        smtp.handler.recover()  # the relay is back
        assert (await deliver_task.fn())["sent"] == 0  # still within the second backoff

    with time_machine.travel(now() + timedelta(minutes=10), tick=True):
        assert await deliver_until_empty() == MAILS - ACCEPTED_BEFORE_OUTAGE

    messages = outbox()
    assert all(m.status == "sent" and m.last_error is None for m in messages)
    received = smtp.messages
    assert len(received) == MAILS
    by_id = Counter(str(m["Message-ID"]) for m in received)
    by_key = Counter(str(m[DEDUPE_HEADER]) for m in received)
    assert set(by_id.values()) == {1} and set(by_id) == {m.message_id for m in messages}
    assert set(by_key.values()) == {1} and set(by_key) == {m.dedupe_key for m in messages}
    candidates = Counter(a for m in received for a in str(m["To"]).split(", ") if a.startswith("candidat"))
    assert len(candidates) == SIZE and set(candidates.values()) == {1}

    # A later delivery (e.g. the daily sweep) sends nothing again.
    with time_machine.travel(now() + timedelta(hours=1), tick=True):
        assert (await deliver_task.fn())["sent"] == 0
    assert len(smtp.messages) == MAILS
