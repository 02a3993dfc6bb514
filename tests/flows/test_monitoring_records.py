"""Run records, streaks and incidents, mail alerts, the « Renvoyer » action, and the recovery of
runs left 'running' by a dead process (no Prefect server needed: the decorator wraps any coroutine)."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlmodel import select

from api.app import create_app
from certification.clock import now as utcnow
from certification.db import get_engine, session_scope
from certification.models import AuditEvent
from certification.models_monitoring import FlowRunRecord
from certification.settings import reset_settings_cache
from documents.samples import sample_context
from flows import monitoring
from notifications.models import OutboxMessage
from notifications.outbox import deliver_pending, enqueue
from tests.factories import make_users
from tests.web.conftest import csrf_of, signed_in


class Failing:
    async def send(self, msg):
        raise ConnectionRefusedError("Connexion refusée par le relais")


def records() -> list[tuple[str, int | None, str, int, int | None]]:
    with session_scope() as db:
        return [
            (r.process, r.entity_id, r.state, r.failures_in_a_row, r.incident_id)
            for r in db.exec(select(FlowRunRecord).order_by(FlowRunRecord.id))
        ]


async def test_streaks_and_incidents_per_dossier():
    outcomes = iter([True, False, False, True, False])

    @monitoring.monitored("jury")
    async def fake_flow(session_id: int) -> dict:
        if not next(outcomes):
            raise OSError("disque plein")
        return {"state": "ok"}

    for _ in range(5):
        try:
            await fake_flow(7)
        except OSError:
            pass
    ids = [r[4] for r in records()]
    assert [r[:4] for r in records()] == [
        ("jury", 7, "completed", 0),
        ("jury", 7, "failed", 1),
        ("jury", 7, "failed", 2),
        ("jury", 7, "completed", 0),
        ("jury", 7, "failed", 1),
    ]
    with session_scope() as db:
        first_streak = db.exec(select(FlowRunRecord).where(FlowRunRecord.id == 2)).one()
    assert ids[1] == ids[2] == first_streak.id and ids[4] not in (None, ids[1])
    with session_scope() as db:
        assert "OSError: disque plein" in monitoring.failed_runs(db)[0].error


async def test_a_flow_failing_n_times_in_a_row_alerts_once(monkeypatch):
    monkeypatch.setenv("CQP_ALERT_FLOW_FAILURES", "2")
    reset_settings_cache()

    @monitoring.monitored("appui")
    async def broken(appui_id: int) -> dict:
        raise RuntimeError("gabarit introuvable")

    for _ in range(4):
        with pytest.raises(RuntimeError):
            await broken(appui_id=3)
    with session_scope() as db:
        alerts = db.exec(select(OutboxMessage).where(OutboxMessage.template == "alerte_flux")).all()
        assert len(alerts) == 1 and "Appui pédagogique n° 3" in alerts[0].subject
        assert "gabarit introuvable" in alerts[0].body_text
        [incident] = monitoring.open_flow_incidents(db)
        assert (incident.process, incident.entity_id, incident.failures_in_a_row) == ("appui", 3, 4)


def test_a_run_left_running_by_a_dead_process_is_crashed_and_its_dossier_returned():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    with session_scope() as db:
        db.add(FlowRunRecord(process="jury", entity_id=5, runner=f"{socket.gethostname()}|{proc.pid}|x"))
        db.add(FlowRunRecord(process="jury", entity_id=6, runner=f"other-host|{proc.pid}|x"))
        db.add(FlowRunRecord(process="sweep", runner=f"{socket.gethostname()}|{proc.pid}|x"))
    assert monitoring.crashed_runs() == [("jury", 5)]
    assert [r[:3] for r in records()] == [("jury", 5, "crashed"), ("jury", 6, "running"), ("sweep", None, "crashed")]
    assert monitoring.crashed_runs() == []
    result = asyncio.run(monitoring.recover())
    assert result == {"messages": 0, "runs": 0}


async def test_an_undeliverable_mail_alerts_once_per_incident_and_the_officer_resends_it(monkeypatch):
    monkeypatch.setenv("CQP_ALERT_MAIL_ATTEMPTS", "2")
    monkeypatch.setenv("CQP_MAIL_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("CQP_FLOW_DISPATCH", "none")
    reset_settings_cache()
    people = make_users()
    with session_scope() as db:
        message = enqueue(
            db,
            dedupe_key="k:1",
            to=["structure@example.org"],
            template="agrement/accuse_reception",
            context=sample_context(),
        )
        db.flush()
        message_id = message.id

    async def fail_until_given_up() -> None:
        start = utcnow()
        for hours in (0, 1):
            await deliver_pending(get_engine(), Failing(), now=start + timedelta(hours=hours))
        with session_scope() as db:
            monitoring.mail_alerts(db)
            monitoring.mail_alerts(db)  # the next sweep: nothing new

    await fail_until_given_up()
    with session_scope() as db:
        assert db.get(OutboxMessage, message_id).status == "failed"
        alerts = db.exec(select(OutboxMessage.dedupe_key).where(OutboxMessage.template == "alerte_courriel")).all()
    assert alerts == [f"alerts:mail:{message_id}:0"]

    with signed_in(create_app(), people["officer"]) as officer:
        page = officer.get("/app/operations")
        assert f'id="resend-{message_id}"' in page.text and "Connexion refusée par le relais" in page.text
        csrf = csrf_of(page.text)
        shown = officer.post(f"/app/operations/courriels/{message_id}/renvoyer", data={"csrf_token": csrf})
        assert shown.status_code == 200 and 'id="confirm"' in shown.text and "structure@example.org" in shown.text
        done = officer.post(
            f"/app/operations/courriels/{message_id}/renvoyer", data={"csrf_token": csrf, "confirm": "1"}
        )
        assert done.status_code == 303
        again = officer.post(
            f"/app/operations/courriels/{message_id}/renvoyer", data={"csrf_token": csrf, "confirm": "1"}
        )
        assert again.status_code == 409 and "pas en échec" in again.text
        assert (
            officer.post(
                f"/app/operations/courriels/{message_id}/renvoyer", data={"csrf_token": "faux", "confirm": "1"}
            ).status_code
            == 403
        )
    with signed_in(create_app(), people["mandataire"]) as mandataire:
        assert mandataire.get("/app/operations").status_code == 403
        assert (
            mandataire.post(
                f"/app/operations/courriels/{message_id}/renvoyer", data={"csrf_token": csrf, "confirm": "1"}
            ).status_code
            == 403
        )
    with session_scope() as db:
        message = db.get(OutboxMessage, message_id)
        assert (message.status, message.attempts) == ("pending", 0)
        [event] = db.exec(select(AuditEvent).where(AuditEvent.action == "resend")).all()
        assert (event.entity_id, event.from_state, event.to_state, event.actor_id) == (
            message_id,
            "failed",
            "pending",
            people["officer"]["id"],
        )

    await fail_until_given_up()  # fails again: a new incident, a second alert
    with session_scope() as db:
        alerts = db.exec(
            select(OutboxMessage.dedupe_key)
            .where(OutboxMessage.template == "alerte_courriel")
            .order_by(OutboxMessage.id)
        ).all()
    assert alerts == [f"alerts:mail:{message_id}:0", f"alerts:mail:{message_id}:1"]
