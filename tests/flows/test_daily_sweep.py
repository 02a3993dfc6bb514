"""The daily sweep as a real Prefect flow: run twice (or after a crash), each reminder goes once."""

from __future__ import annotations

import pytest
from sqlmodel import select

from certification.db import session_scope
from certification.agrement import service as svc
from flows.sweep import daily_sweep_flow
from notifications.models import OutboxMessage
from tests.factories import grant_agrement, make_users, submit_request

pytestmark = pytest.mark.integration


async def test_daily_sweep_twice_sends_each_reminder_once(prefect_server, smtp):
    people = make_users()
    grant_agrement(people, 2)
    rid = submit_request(people["mandataire"]["actor"], 1)
    with session_scope() as db:  # deadline in 5 days: the 5-day reminder is due today
        svc.request_complements(db, people["officer"]["actor"], rid, "Statuts manquants", deadline_days=5)

    first = await daily_sweep_flow()
    assert first["agrement_requests"]["runs"] == 2 and first["agrement_requests"]["mails"] >= 3
    assert first["agrements"]["runs"] == 1
    second = await daily_sweep_flow()
    processes = [p for p in second if p not in ("orphan_uploads", "retention", "recovery")]
    assert len(processes) == 7  # the six processes with a sweep and the dossiers de VAE
    assert second["retention"] == {}  # nothing past its retention period
    assert second["recovery"] == {"messages": 0, "runs": 0}
    assert all(second[p]["mails"] == 0 and second[p]["delivery"]["sent"] == 0 for p in processes)
    assert second["orphan_uploads"] == {"removed": 0}

    with session_scope() as db:
        keys = [m.dedupe_key for m in db.exec(select(OutboxMessage))]
    assert keys.count(f"agrement_requests:{rid}:complements-reminder:r1:d5") == 1
    assert len(smtp.messages) == len(keys) == len(set(keys))
