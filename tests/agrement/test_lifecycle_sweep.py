"""The agrément lifecycle flow: expiry reminders, échéance and expiry with time travel
(time-machine), and the notification of the officer's decisions.

The time-travelled steps run the flow's plain functions (``advance_agrement`` and
``agrements_needing_attention``); the last tests run the Prefect flows for real.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlmodel import select

from certification.audit import timeline
from certification.clock import today
from certification.db import session_scope
from certification.agrement.models import Agrement
from certification.agrement.read_model import agrement_view
from certification.agrement import service as agrement_service
from certification.agrement import lifecycle
from certification.settings import reset_settings_cache
from flows.agrement_lifecycle import (
    advance_agrement,
    agrement_context,
    agrement_lifecycle_flow,
    agrement_lifecycle_sweep_flow,
    agrements_needing_attention,
)
from notifications.models import OutboxMessage
from tests.factories import grant_agrement
from tests.factories import auth, make_users

START, END = date(2026, 1, 1), date(2028, 12, 31)


def at(day: date, hour: int = 6) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def before_end(days: int, hour: int = 6) -> datetime:
    return at(END - timedelta(days=days), hour)


@pytest.fixture
def people():
    return make_users()


@pytest.fixture
def agrement_id(people):
    with time_machine.travel(at(START), tick=False):
        return grant_agrement(people, start=START, end=END)


def mails(aid: int) -> list[str]:
    """The lifecycle e-mails of the agrément, by name (``agrements:<id>:<name>``)."""
    with session_scope() as db:
        rows = db.exec(
            select(OutboxMessage)
            .where(OutboxMessage.entity_type == "agrements", OutboxMessage.entity_id == aid)
            .order_by(OutboxMessage.id)
        )
        return [m.dedupe_key.split(":", 2)[2] for m in rows]


def message(aid: int, name: str) -> OutboxMessage:
    with session_scope() as db:
        return db.exec(select(OutboxMessage).where(OutboxMessage.dedupe_key == f"agrements:{aid}:{name}")).one()


def state(aid: int) -> str:
    with session_scope() as db:
        return db.get(Agrement, aid).state


def sweep_at(when: datetime) -> list[dict]:
    with time_machine.travel(when, tick=False):
        return [advance_agrement(i) for i in agrements_needing_attention()]


def test_reminders_once_each_then_expiring_then_expired(agrement_id, settings):
    assert settings.expiry_reminder_days_before == [90, 30, 7]
    sweep_at(at(START, 12))
    sweep_at(before_end(91))
    assert mails(agrement_id) == [] and state(agrement_id) == "active"

    (outcome,) = sweep_at(before_end(90))
    assert outcome["transitions"] == ["mark_expiring"] and outcome["state"] == "expiring"
    assert outcome["mails"] == ["expiry-reminder:d90"]
    sweep_at(before_end(90, hour=18))  # the sweep runs twice the same day
    sweep_at(before_end(60))
    assert mails(agrement_id) == ["expiry-reminder:d90"]

    sweep_at(before_end(30))
    sweep_at(before_end(30, hour=18))
    sweep_at(before_end(8))
    assert mails(agrement_id) == ["expiry-reminder:d90", "expiry-reminder:d30"]
    sweep_at(before_end(7))
    sweep_at(before_end(7, hour=20))
    sweep_at(before_end(0))  # the end date itself: still in force
    assert mails(agrement_id) == ["expiry-reminder:d90", "expiry-reminder:d30", "expiry-reminder:d7"]
    assert state(agrement_id) == "expiring"

    (outcome,) = sweep_at(at(END + timedelta(days=1)))
    assert outcome["transitions"] == ["expire"] and outcome["mails"] == ["expired"]
    sweep_at(at(END + timedelta(days=1), 18))
    sweep_at(at(END + timedelta(days=40)))
    assert mails(agrement_id)[3:] == ["expired"] and state(agrement_id) == "expired"
    with time_machine.travel(at(END + timedelta(days=41)), tick=False):
        assert agrements_needing_attention() == []  # nothing after expiry

    with session_scope() as db:
        trail = [(e.action, e.actor_role) for e in timeline(db, "agrements", agrement_id)]
    assert [a for a, _ in trail if a in ("mark_expiring", "expire")] == ["mark_expiring", "expire"]
    assert all(role == "system" for a, role in trail if a != "create")
    assert sum(1 for a, _ in trail if a == "mail_queued") == 4

    reminder = message(agrement_id, "expiry-reminder:d30")
    assert reminder.template == "agrement/rappel_echeance_agrement"
    assert reminder.to_addrs == ["aci1@example.org", "helene.dubois@cqp.test"]
    assert "il reste 30 jours" in reminder.body_text and "31 décembre 2028" in reminder.subject
    expired = message(agrement_id, "expired")
    assert expired.template == "agrement/agrement_expire" and expired.cc_addrs == [settings.officers_mailbox]


def test_after_a_long_outage_only_the_latest_reminder_is_sent(agrement_id):
    (outcome,) = sweep_at(before_end(5))  # the sweep did not run for months
    assert outcome["transitions"] == ["mark_expiring"]
    assert mails(agrement_id) == ["expiry-reminder:d7"]
    assert "il reste 5 jours" in message(agrement_id, "expiry-reminder:d7").body_text


def test_an_outage_past_the_end_date_expires_without_reminders(agrement_id):
    (outcome,) = sweep_at(at(END + timedelta(days=20)))
    assert outcome["transitions"] == ["expire"] and mails(agrement_id) == ["expired"]


def test_decisions_are_notified_once_per_transition(people, agrement_id, settings):
    officer = people["officer"]["actor"]
    with time_machine.travel(at(date(2026, 5, 4)), tick=False):
        with session_scope() as db:
            lifecycle.suspend(db, officer, agrement_id, "Absence de <b>grilles</b> d'évaluation.")
        assert advance_agrement(agrement_id)["mails"][0].startswith("suspended:e")
        assert advance_agrement(agrement_id)["mails"] == []
        with session_scope() as db:
            lifecycle.reinstate(db, officer, agrement_id, "Grilles transmises.")
            lifecycle.suspend(db, officer, agrement_id, "Nouveau manquement.")
        advance_agrement(agrement_id)
        with session_scope() as db:
            lifecycle.reinstate(db, officer, agrement_id, "Levée.")
            lifecycle.withdraw(db, officer, agrement_id, "Retrait après contrôle.")
        assert agrements_needing_attention() == [agrement_id]  # the sweep catches up lost runs
        advance_agrement(agrement_id)
        assert agrements_needing_attention() == []
    ids = defaultdict(list)
    with session_scope() as db:
        for e in timeline(db, "agrements", agrement_id):
            ids[e.action].append(e.id)
    s1, s2 = ids["suspend"]
    r1, r2 = ids["reinstate"]
    (w,) = ids["withdraw"]
    assert mails(agrement_id) == [
        f"suspended:e{s1}",
        f"reinstated:e{r1}",
        f"suspended:e{s2}",
        f"reinstated:e{r2}",
        f"withdrawn:e{w}",
    ]
    first = message(agrement_id, f"suspended:e{s1}")
    assert first.template == "agrement/agrement_suspendu" and first.cc_addrs == [settings.officers_mailbox]
    assert "Absence de <b>grilles</b> d'évaluation." in first.body_text
    assert "&lt;b&gt;grilles&lt;/b&gt;" in first.body_html
    assert "Nouveau manquement." in message(agrement_id, f"suspended:e{s2}").body_text
    assert "Retrait après contrôle." in message(agrement_id, f"withdrawn:e{w}").body_text
    assert message(agrement_id, f"reinstated:e{r1}").template == "agrement/agrement_retabli"
    assert message(agrement_id, f"withdrawn:e{w}").template == "agrement/agrement_retire"


def test_no_reminder_while_suspended_and_no_expiry(people, agrement_id):
    with time_machine.travel(before_end(100), tick=False), session_scope() as db:
        lifecycle.suspend(db, people["officer"]["actor"], agrement_id, "Contrôle")
    sweep_at(before_end(100))
    sweep_at(before_end(30))
    sweep_at(at(END + timedelta(days=3)))
    assert [m.split(":")[0] for m in mails(agrement_id)] == ["suspended"] and state(agrement_id) == "suspended"


def test_renewed_agrement_gets_no_more_reminders(people, agrement_id):
    from tests.factories import grant_request

    with time_machine.travel(before_end(120), tick=False):
        with session_scope() as db:
            request = agrement_service.request_renewal(db, people["mandataire"]["actor"], agrement_id)
        new_id = grant_request(request.id, people)
    sweep_at(before_end(90))
    sweep_at(at(END + timedelta(days=2)))
    assert mails(agrement_id) == [] and state(agrement_id) == "renewed"
    with session_scope() as db:
        assert db.get(Agrement, new_id).start_date == END + timedelta(days=1)
    assert mails(new_id) == [] and state(new_id) == "active"


def test_agrement_context(people, agrement_id):
    with time_machine.travel(before_end(30), tick=False), session_scope() as db:
        lifecycle.suspend(db, people["officer"]["actor"], agrement_id, "Motif de suspension")
        ctx = agrement_context(agrement_view(db, db.get(Agrement, agrement_id)))
        assert ctx["today"] == today()
    a = ctx["agrement"]
    assert a["number"].startswith("AGR-SP-") and a["structure_email"] == "aci1@example.org"
    assert (a["certification_code"], a["certification_title"]) == ("CQP_SP", "CQP Salarié Polyvalent")
    assert (a["start_date"], a["end_date"], a["days_left"]) == (START, END, 30)
    assert (a["state"], a["state_label"], a["reason"]) == ("suspended", "suspendu", "Motif de suspension")
    assert ctx["action_url"].endswith(f"/agrements/{agrement_id}") and ctx["recipient_name"] == ""
    assert set(a) >= {"structure_name", "structure_siret"}


# --- real Prefect runs -------------------------------------------------------------------


@pytest.mark.integration
async def test_lifecycle_flows_deliver_the_mails(prefect_server, smtp, people, settings):
    soon = grant_agrement(people, 1, start=today() - timedelta(days=700), end=today() + timedelta(days=20))
    later = grant_agrement(people, 2, start=today(), end=today() + timedelta(days=900))
    result = await agrement_lifecycle_sweep_flow()
    assert result["runs"] == 2 and result["transitions"] == 1 and result["mails"] == 1
    assert result["delivery"]["sent"] == 1
    (reminder,) = smtp.messages
    assert "arrive à échéance" in str(reminder["Subject"])
    assert set(smtp.recipients(0)) == {"aci1@example.org", "helene.dubois@cqp.test"}
    assert state(soon) == "expiring" and state(later) == "active"

    with session_scope() as db:
        lifecycle.suspend(db, people["officer"]["actor"], later, "Manquements constatés lors du contrôle.")
    result = await agrement_lifecycle_flow(later)
    assert result["state"] == "suspended" and result["delivery"]["sent"] == 1
    suspension = smtp.messages[-1]
    assert "Suspension" in str(suspension["Subject"])
    assert "Manquements constatés lors du contrôle." in suspension.get_body(("plain",)).get_content()
    assert settings.officers_mailbox in smtp.recipients(-1)
    again = await agrement_lifecycle_sweep_flow()
    assert again["mails"] == 0 and len(smtp.messages) == 2


def withdraw_inline(people: dict, aid: int, monkeypatch) -> None:
    """The officer withdraws the agrément through the API, flows dispatched inline."""
    from api.app import create_app

    monkeypatch.setenv("CQP_FLOW_DISPATCH", "inline")
    reset_settings_cache()
    with TestClient(create_app()) as client:
        r = client.post(
            f"/agrements/{aid}/withdraw",
            json={"reason": "Retrait décidé après contrôle."},
            headers=auth(people["officer"]),
        )
    assert r.status_code == 200, r.text


@pytest.mark.integration
def test_api_decision_runs_the_lifecycle_flow_inline(prefect_server, smtp, people, monkeypatch):

    aid = grant_agrement(people, start=today(), end=today() + timedelta(days=900))
    withdraw_inline(people, aid, monkeypatch)
    assert [m.split(":")[0] for m in mails(aid)] == ["withdrawn"]
    assert str(smtp.messages[-1]["Subject"]).endswith("Retrait de votre agrément")
    with session_scope() as db:
        assert [e.action for e in timeline(db, "agrements", aid)][-2:] == ["withdraw", "mail_queued"]


@pytest.mark.integration
def test_api_withdrawal_flags_pending_juries_and_tells_the_officer_inline(
    prefect_server, smtp, people, settings, monkeypatch
):
    """The withdrawal owes the flagging of the structure's pending jury sessions: the lifecycle flow
    flags them and runs their flows, so the officer gets « session signalée » without waiting
    for the daily sweep."""
    from certification.jury.models import JurySession
    from tests.factories import deliberated_session, ready_candidates, siret, structure_account

    aid = grant_agrement(people, 1)
    structure_account(people, siret(1))
    sid = deliberated_session(people, ready_candidates(people["structure"], 1), sign=False)
    withdraw_inline(people, aid, monkeypatch)
    with session_scope() as db:
        jury = db.get(JurySession, sid)
        assert "agrément retiré" in jury.flag_reason
    flagged = [m for m in smtp.messages if "signalée : vérification nécessaire" in str(m["Subject"])]
    assert [str(m["Subject"]).split("]")[0] for m in flagged] == [f"[{jury.reference}"]
    assert flagged[0]["To"] == settings.officers_mailbox

    def plain(text: str) -> str:  # the e-mail's typography: non-breaking spaces, folded lines
        return " ".join(text.replace("\xa0", " ").replace("\u202f", " ").split())

    assert plain(jury.flag_reason) in plain(flagged[0].get_body(("plain",)).get_content())
