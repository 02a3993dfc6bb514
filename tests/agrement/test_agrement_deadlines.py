"""Reminders and deadlines of the agrément request, with time travel (time-machine).

The steps run as the flow's plain function (``advance_request``); the Prefect wrapping is
covered by test_agrement_flow.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlmodel import select

from certification.audit import timeline
from certification.db import session_scope
from certification.agrement.models import AgrementRequest
from certification.agrement import service as svc
from documents.models import GeneratedDocument
from flows.agrement import advance_request, requests_needing_attention
from notifications.models import OutboxMessage
from tests.factories import make_users, submit_request
from tests.flows.conftest import pdf_text

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def mail_keys(rid: int) -> list[str]:
    with session_scope() as db:
        rows = db.exec(select(OutboxMessage).where(OutboxMessage.entity_id == rid).order_by(OutboxMessage.id))
        return [m.dedupe_key.split(":", 2)[2] for m in rows]


def sweep_at(when: datetime) -> None:
    with time_machine.travel(when, tick=False):
        for rid in requests_needing_attention():
            advance_request(rid)


@pytest.fixture
def incomplete_request():
    people = make_users()
    with time_machine.travel(START, tick=False):
        rid = submit_request(people["mandataire"]["actor"])
        with session_scope() as db:
            svc.request_complements(
                db,
                people["officer"]["actor"],
                rid,
                "Merci de joindre les statuts <à jour> de l'association.",
                deadline_days=30,
            )
        advance_request(rid)
    return rid, people


def test_complements_reminders_are_sent_once_each_then_the_request_is_closed(incomplete_request, settings):
    rid, _ = incomplete_request
    assert mail_keys(rid) == ["ack:r1", "complements:r1"]
    with session_scope() as db:
        letter = db.exec(select(GeneratedDocument).where(GeneratedDocument.kind == "demande_complements")).one()
        assert db.get(AgrementRequest, rid).complements_deadline == (START + timedelta(days=30)).date()
    text = pdf_text((settings.data_dir / letter.relative_path).read_bytes())
    assert (
        "Merci de joindre les statuts <à jour> de l'association." in text and "au plus tard le 1er avril 2026" in text
    )

    sweep_at(START + timedelta(days=10))  # 20 days left: nothing due yet
    assert mail_keys(rid) == ["ack:r1", "complements:r1"]
    sweep_at(START + timedelta(days=15))  # 15 days left
    sweep_at(START + timedelta(days=15, hours=5))  # the sweep runs twice the same day
    assert mail_keys(rid)[2:] == ["complements-reminder:r1:d15"]
    sweep_at(START + timedelta(days=26))
    sweep_at(START + timedelta(days=27))
    assert mail_keys(rid)[2:] == ["complements-reminder:r1:d15", "complements-reminder:r1:d5"]
    sweep_at(START + timedelta(days=30))  # the deadline day itself: still open
    with session_scope() as db:
        assert db.get(AgrementRequest, rid).state == "incomplete"

    sweep_at(START + timedelta(days=31))
    sweep_at(START + timedelta(days=32))
    with session_scope() as db:
        request = db.get(AgrementRequest, rid)
        assert request.state == "closed"
        last = [e for e in timeline(db, "agrement_requests", rid) if e.to_state == "closed"]
        assert [(e.action, e.actor_role) for e in last] == [("close_unanswered", "system")]
        assert "01/04/2026" in last[0].reason
    assert mail_keys(rid)[-1] == "closed"
    assert mail_keys(rid).count("closed") == 1
    assert requests_needing_attention() == []


def test_late_sweep_sends_only_the_latest_reminder(incomplete_request):
    rid, _ = incomplete_request
    sweep_at(START + timedelta(days=28))  # the sweep did not run for four weeks
    assert mail_keys(rid)[2:] == ["complements-reminder:r1:d5"]


def test_answer_before_deadline_stops_the_reminders(incomplete_request):
    rid, people = incomplete_request
    with time_machine.travel(START + timedelta(days=3), tick=False), session_scope() as db:
        svc.provide_complements(db, people["mandataire"]["actor"], rid, comment="Statuts joints")
    sweep_at(START + timedelta(days=3))
    sweep_at(START + timedelta(days=40))
    with session_scope() as db:
        assert db.get(AgrementRequest, rid).state == "submitted"
    assert mail_keys(rid) == ["ack:r1", "complements:r1", "ack:r2"]


def test_avis_is_reminded_before_and_after_its_deadline_once_each(settings):
    people = make_users()
    with time_machine.travel(START, tick=False):
        rid = submit_request(people["mandataire"]["actor"])
        with session_scope() as db:
            svc.declare_admissible(db, people["officer"]["actor"], rid)
        advance_request(rid)
    assert mail_keys(rid) == ["ack:r1", "avis-request"]
    days = settings.avis_deadline_days
    sweep_at(START + timedelta(days=days - settings.avis_reminder_days_before - 1))
    assert mail_keys(rid) == ["ack:r1", "avis-request"]
    sweep_at(START + timedelta(days=days - settings.avis_reminder_days_before))
    sweep_at(START + timedelta(days=days))
    assert mail_keys(rid) == ["ack:r1", "avis-request", "avis-reminder"]
    sweep_at(START + timedelta(days=days + 1))
    sweep_at(START + timedelta(days=days + 8))
    assert mail_keys(rid) == ["ack:r1", "avis-request", "avis-reminder", "avis-overdue"]
    with session_scope() as db:
        overdue = db.exec(select(OutboxMessage).where(OutboxMessage.dedupe_key.endswith("avis-overdue"))).one()
        assert overdue.cc_addrs == [settings.officers_mailbox]
        assert "Avis en retard" in overdue.subject
        assert "est dépassée de 1 jour." in overdue.body_text
        reminder = db.exec(select(OutboxMessage).where(OutboxMessage.dedupe_key.endswith("avis-reminder"))).one()
        assert f"Il reste {settings.avis_reminder_days_before} jours" in reminder.body_text
        assert db.get(AgrementRequest, rid).state == "under_review"  # an avis is never skipped
