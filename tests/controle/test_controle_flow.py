"""The contrôle flow with a real Prefect server, a real SMTP server, real PDFs and .ics files."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from icalendar import Calendar
from sqlmodel import select

from certification.controle import service as svc
from certification.controle.models import Controle
from certification.db import session_scope
from certification.models import Role
from certification.agrement.models import Agrement
from flows.controle import advance_controle, controle_flow, controles_needing_attention
from notifications.models import OutboxMessage
from tests.factories import add_user, grant_agrement, make_users
from tests.flows.conftest import pdf_text

pytestmark = pytest.mark.integration
FINDINGS = [
    {"criterion": "Encadrants formés à l'EPSP", "status": "conforme", "comment": "Oui"},
    {"criterion": "Suivi des blocs <livret>", "status": "non_conforme", "comment": "Livret absent pour 3 salariés"},
]


@pytest.fixture
def world():
    people = make_users()
    people["controleur2"] = add_user("bruno.lemaitre@cqp.test", "Bruno Lemaître", Role.controleur)
    agrement_id = grant_agrement(people, name="<i>Régie</i> de Quartier l'Envol")
    with session_scope() as db:
        cid = svc.plan_controle(db, people["officer"]["actor"], agrement_id, reason="Contrôle sur demande").id
    return people, agrement_id, cid


def invitation(message) -> Calendar:
    (part,) = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    return Calendar.from_ical(part.get_payload(decode=True))


async def test_controle_to_action_plan(prefect_server, smtp, world, settings):
    people, agrement_id, cid = world
    officer, ctrl = people["officer"]["actor"], people["controleur"]["actor"]
    with session_scope() as db:
        svc.assign(db, officer, cid, ctrl.user_id)
    result = await controle_flow(cid)
    assert result["mails"] == ["mission:u%d" % ctrl.user_id] and smtp.recipients(-1) == ["gaelle.legoff@cqp.test"]

    visit_at = (datetime.now(UTC) + timedelta(days=10)).replace(microsecond=0)
    with session_scope() as db:
        svc.schedule_visit(db, ctrl, cid, visit_at=visit_at, place="12 rue de l'Écluse, Lyon")
    await controle_flow(cid)
    convocation = smtp.messages[-1]
    assert set(smtp.recipients(-1)) == {"aci1@example.org", "gaelle.legoff@cqp.test"}
    event = invitation(convocation).walk("VEVENT")[0]
    assert int(event["SEQUENCE"]) == 0 and event.decoded("DTSTART") == visit_at
    assert str(event["LOCATION"]) == "12 rue de l'Écluse, Lyon"

    with session_scope() as db:  # the visit is moved
        svc.schedule_visit(db, ctrl, cid, visit_at=visit_at + timedelta(days=1), place="12 rue de l'Écluse, Lyon")
    await controle_flow(cid)
    moved = invitation(smtp.messages[-1]).walk("VEVENT")[0]
    assert int(moved["SEQUENCE"]) == 1 and str(moved["UID"]) == str(event["UID"])
    assert "Modification" in str(smtp.messages[-1]["Subject"])

    with time_machine.travel(visit_at + timedelta(days=2), tick=False), session_scope() as db:
        svc.submit_report(db, ctrl, cid, findings=FINDINGS, summary="Suivi des blocs à reprendre.")
    result = await controle_flow(cid)
    assert result["documents"] == ["rapport_controle-v1"] and smtp.recipients(-1) == [settings.officers_mailbox]
    report_pdf = _attachment_pdf(smtp.messages[-1])
    assert "Suivi des blocs <livret>" in report_pdf and "Non conforme" in report_pdf
    assert "<i>Régie</i> de Quartier l'Envol" in report_pdf

    deadline = date.today() + timedelta(days=45)
    with session_scope() as db:
        svc.decide(db, officer, cid, decision="action_plan", reason="Écarts sur le suivi",
                   action_plan_items="Mettre à jour les livrets\nFormer un tuteur", action_plan_deadline=deadline)
    result = await controle_flow(cid)
    assert result["documents"] == ["decision_plan_actions-v1"]
    letter = _attachment_pdf(smtp.messages[-1])
    assert "Mettre à jour les livrets" in letter and "Former un tuteur" in letter

    before = len(smtp.messages)
    again = await controle_flow(cid)
    assert again["mails"] == [] and again["documents"] == [] and len(smtp.messages) == before


def _attachment_pdf(message) -> str:
    (part,) = [p for p in message.iter_attachments() if p.get_content_type() == "application/pdf"]
    return pdf_text(part.get_content())


def test_action_plan_reminders_escalation_and_suspension(world, settings):
    """Plain-function runs under time travel: reminders once each, then escalation after the grace."""
    people, agrement_id, cid = world
    officer, ctrl = people["officer"]["actor"], people["controleur"]["actor"]
    t0 = datetime.now(UTC)
    with session_scope() as db:
        svc.assign(db, officer, cid, ctrl.user_id)
        svc.schedule_visit(db, ctrl, cid, visit_at=t0 + timedelta(days=1), place="Lyon")
    with time_machine.travel(t0 + timedelta(days=2), tick=False), session_scope() as db:
        svc.submit_report(db, ctrl, cid, findings=FINDINGS, summary="Écarts")
    deadline = (t0 + timedelta(days=30)).date()
    with session_scope() as db:
        svc.decide(db, officer, cid, decision="action_plan", reason="Écarts",
                   action_plan_items="Livrets", action_plan_deadline=deadline)

    def sweep(days_after_deadline: int):
        when = datetime.combine(deadline, datetime.min.time(), UTC) + timedelta(days=days_after_deadline, hours=9)
        with time_machine.travel(when, tick=False):
            for i in controles_needing_attention():
                advance_controle(i)

    sweep(-20)
    sweep(-14)
    sweep(-14)
    sweep(-3)
    sweep(1)
    sweep(settings.action_plan_grace_days)
    with session_scope() as db:
        assert db.get(Controle, cid).state == "action_plan"
    sweep(settings.action_plan_grace_days + 1)
    sweep(settings.action_plan_grace_days + 2)
    with session_scope() as db:
        keys = [m.dedupe_key.split(":", 2)[2] for m in db.exec(
            select(OutboxMessage).where(OutboxMessage.entity_type == "controles").order_by(OutboxMessage.id))]
        assert db.get(Controle, cid).state == "escalated"
    assert keys.count("plan-reminder:d14") == 1 and keys.count("plan-reminder:d3") == 1
    assert keys.count("plan-overdue") == 1 and keys[-1] == "plan-escalated"
    assert keys.index("plan-reminder:d14") < keys.index("plan-reminder:d3") < keys.index("plan-overdue")

    # The officer decides the suspension on the escalated plan: contrôle and agrément move together.
    with session_scope() as db:
        svc.decide(db, officer, cid, decision="suspension", reason="Plan d'actions non réalisé")
    result = advance_controle(cid)
    assert result.documents == ["decision_suspension-v1"] and result.mails == ["decision:suspension"]
    with session_scope() as db:
        assert db.get(Controle, cid).state == "suspended"
        assert db.get(Agrement, agrement_id).state == "suspended"
    assert controles_needing_attention() == []
    from flows.agrement_lifecycle import advance_agrement

    assert advance_agrement(agrement_id)["mails"] == []  # the contrôle's letter was the one notice
