"""The EPSP training and appui flows with a real Prefect server, a real SMTP server, the attestation
PDF read back with pypdf and the .ics invitations with icalendar."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from icalendar import Calendar
from sqlmodel import func, select

from certification.clock import today
from certification.db import session_scope
from certification.models import Role
from certification.training import appuis as ap
from certification.training import service as tr
from certification.services.files import PieceIn
from documents.models import GeneratedDocument
from documents.storage import store_upload
from flows.training import (
    advance_appui,
    advance_training_session,
    appui_flow,
    appui_sweep_flow,
    appuis_needing_attention,
    training_session_flow,
    training_sessions_needing_attention,
    training_sweep_flow,
)
from notifications.models import OutboxMessage
from tests.factories import (
    add_structure,
    add_user,
    enroll_encadrant,
    make_users,
    plan_training,
    siret,
    structure_account,
)
from tests.flows.conftest import pdf_text

pytestmark = pytest.mark.integration
STRUCTURE = "<b>Régie</b> de Quartier l'Envol"


@pytest.fixture
def world():
    people = make_users()
    structure_id = add_structure(1, name=STRUCTURE)
    structure_account(people, siret(1), "structure")
    return people, structure_id


def _noon(d) -> datetime:
    return datetime.combine(d, time(12), tzinfo=UTC)


def _pdf_attachment(message) -> tuple[str, str]:
    (part,) = [p for p in message.iter_attachments() if p.get_content_type() == "application/pdf"]
    return part.get_filename(), pdf_text(part.get_content())


def invitation(message) -> Calendar:
    (part,) = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    return Calendar.from_ical(part.get_payload(decode=True))


async def test_completed_training_with_real_prefect_and_smtp(prefect_server, smtp, world):
    people, structure_id = world
    formateur = people["formateur"]["actor"]
    days = [today() - timedelta(days=1), today()]
    with time_machine.travel(_noon(today() - timedelta(days=7))):
        sid = plan_training(people, days=days, hours="9 h – 17 h")
        eid = enroll_encadrant(
            people, sid, structure_id, first_names="Zoé", last_name="<i>L'Hôpital</i>", email="zoe@envol.example.org"
        )

    # First run: the session opens on its first day, the encadrant gets his convocation.
    result = await training_session_flow(sid)
    assert result["transitions"] == ["start"] and result["mails"] == ["convocation:s0"]
    assert result["state"] == "in_progress" and result["delivery"]["sent"] == 1
    assert set(smtp.recipients(-1)) == {"zoe@envol.example.org", "aci1@example.org"}
    convocation = smtp.messages[-1]
    assert "Convocation à la formation EPSP" in str(convocation["Subject"])
    html = convocation.get_body(("html",)).get_content()
    assert "&lt;i&gt;L&#39;Hôpital&lt;/i&gt;" in html and "<i>L'Hôpital</i>" not in html

    with session_scope() as db:
        for day in days:
            tr.record_attendance(db, formateur, sid, day=day, present={eid: True})
        tr.record_outcome(db, formateur, sid, eid, completed=True)
        number = db.get(tr.TrainingEnrollment, eid).attestation_number

    result = await training_session_flow(sid)
    assert result["documents"] == ["attestation_formation_epsp-v1"] and result["mails"] == ["attestation"]
    message = smtp.messages[-1]
    assert set(smtp.recipients(-1)) == {"zoe@envol.example.org", "aci1@example.org"}
    assert number in str(message["Subject"])
    filename, text = _pdf_attachment(message)
    assert filename == f"{number}-attestation_formation_epsp-v1.pdf"
    assert "Attestation de formation" in text and number in text
    assert "Zoé <i>L'Hôpital</i>" in text and STRUCTURE in text  # escaped, shown as typed
    assert "Océane Perrin" in text and "14 heures" in text

    # Run again (and close the session): nothing is produced or sent twice.
    with session_scope() as db:
        tr.close(db, formateur, sid)
    before = len(smtp.messages)
    again = await training_session_flow(sid)
    assert again["mails"] == [] and again["documents"] == [] and again["state"] == "closed"
    assert len(smtp.messages) == before
    with session_scope() as db:
        documents = db.exec(
            select(func.count())
            .select_from(GeneratedDocument)
            .where(GeneratedDocument.entity_type == "training_enrollments")
        ).one()
        assert documents == 1
        keys = db.exec(
            select(OutboxMessage.dedupe_key).where(OutboxMessage.entity_type == "training_enrollments")
        ).all()
        assert sorted(keys) == sorted(
            [f"training_enrollments:{eid}:convocation:s0", f"training_enrollments:{eid}:attestation"]
        )
    assert training_sessions_needing_attention() == []
    swept = await training_sweep_flow()
    assert swept["runs"] == 0 and swept["delivery"]["sent"] == 0


def test_reschedule_convocations_cancellation_and_sweep(world):
    """Plain-function runs: a new convocation after a change, the cancellation notice once."""
    people, structure_id = world
    d1 = today() + timedelta(days=10)
    sid = plan_training(people, days=[d1], place="Lorient")
    eid = enroll_encadrant(people, sid, structure_id)
    assert training_sessions_needing_attention() == [sid]
    assert advance_training_session(sid).mails == ["convocation:s0"]
    assert advance_training_session(sid).mails == []
    with session_scope() as db:
        tr.reschedule(db, people["formateur"]["actor"], sid, days=[d1 + timedelta(days=1)], place="Lorient, salle 2")
    assert advance_training_session(sid).mails == ["convocation:s1"]
    late = enroll_encadrant(people, sid, structure_id, first_names="Marc", last_name="Rémy", email="marc@example.org")
    with session_scope() as db:
        tr.withdraw(db, people["formateur"]["actor"], sid, late, "Inscrit par erreur")
    with session_scope() as db:
        tr.cancel(db, people["officer"]["actor"], sid, "Formateur indisponible")
    assert sid in training_sessions_needing_attention()
    # Marc's registration owed his convocation, whatever happened next (as for a client who waits
    # between steps); the cancellation goes to the encadrant still enrolled when it came.
    assert advance_training_session(sid).mails == ["convocation:s1", "cancelled"]
    assert training_sessions_needing_attention() == []
    with session_scope() as db:
        messages = db.exec(
            select(OutboxMessage).where(OutboxMessage.entity_type == "training_enrollments").order_by(OutboxMessage.id)
        ).all()
    assert [(m.entity_id, m.dedupe_key.split(":", 2)[2]) for m in messages] == [
        (eid, "convocation:s0"),
        (eid, "convocation:s1"),
        (late, "convocation:s1"),
        (eid, "cancelled"),
    ]
    assert "Modification" in messages[1].subject and "Formateur indisponible" in messages[3].body_text


async def test_appui_flow_with_invitations_and_report(prefect_server, smtp, world, settings, pdf_bytes):
    people, structure_id = world
    structure, officer, formateur = (
        people["structure"]["actor"],
        people["officer"]["actor"],
        people["formateur"]["actor"],
    )
    with session_scope() as db:
        aid = ap.request_appui(
            db, structure, subject="Évaluation <en situation>", need="Aider nos encadrants à évaluer les blocs."
        ).id
    result = await appui_flow(aid)
    assert result["mails"] == ["requested"] and smtp.recipients(-1) == [settings.officers_mailbox, "aci1@example.org"]

    with session_scope() as db:
        ap.assign(db, officer, aid, formateur.user_id)
    result = await appui_flow(aid)
    assert result["mails"] == [f"mission:u{formateur.user_id}"] and smtp.recipients(-1) == ["oceane.perrin@cqp.test"]

    visit_at = (datetime.now(UTC) + timedelta(days=6)).replace(microsecond=0)
    with session_scope() as db:
        ap.schedule_visit(db, formateur, aid, visit_at=visit_at, place="Atelier de l'Envol, Lorient")
    await appui_flow(aid)
    assert set(smtp.recipients(-1)) == {"aci1@example.org", "oceane.perrin@cqp.test"}
    event = invitation(smtp.messages[-1]).walk("VEVENT")[0]
    assert int(event["SEQUENCE"]) == 0 and event.decoded("DTSTART") == visit_at
    assert str(event["LOCATION"]) == "Atelier de l'Envol, Lorient"
    with session_scope() as db:  # moved
        ap.schedule_visit(
            db, formateur, aid, visit_at=visit_at + timedelta(days=1), place="Atelier de l'Envol, Lorient"
        )
    await appui_flow(aid)
    moved = invitation(smtp.messages[-1]).walk("VEVENT")[0]
    assert int(moved["SEQUENCE"]) == 1 and str(moved["UID"]) == str(event["UID"])
    assert "Modification" in str(smtp.messages[-1]["Subject"])

    stored = store_upload(
        pdf_bytes, "compte rendu.pdf", allowed=("application/pdf",), max_bytes=10**7, root=settings.uploads_dir
    )
    relative = str((settings.uploads_dir / stored.relative_path).relative_to(settings.data_dir))
    piece = PieceIn("compte_rendu", stored.original_name, stored.content_type, stored.size, stored.sha256, relative)
    with time_machine.travel(visit_at + timedelta(days=1, hours=4)), session_scope() as db:
        ap.report(db, formateur, aid, text="Grille d'évaluation <remise>.\nSuivi dans 3 mois.", file=piece)
    result = await appui_flow(aid)
    assert result["mails"] == ["report"] and result["state"] == "reported"
    report = smtp.messages[-1]
    assert smtp.recipients(-1)[0] == "aci1@example.org"
    assert settings.officers_mailbox in smtp.recipients(-1)
    filename, text = _pdf_attachment(report)
    assert filename == "compte rendu.pdf"
    assert "Grille d'évaluation <remise>." in report.get_body(("plain",)).get_content()

    before = len(smtp.messages)
    again = await appui_flow(aid)
    assert again["mails"] == [] and len(smtp.messages) == before
    assert appuis_needing_attention() == []
    assert (await appui_sweep_flow())["runs"] == 0


def test_appui_cancelled_after_scheduling_sends_a_cancel_invitation(world, settings):
    people, structure_id = world
    people["formateur2"] = add_user("yann.kerleau@cqp.test", "Yann Kerléau", Role.formateur)
    officer, formateur = people["officer"]["actor"], people["formateur"]["actor"]
    with session_scope() as db:
        aid = ap.request_appui(db, officer, subject="Tutorat", need="Former un tuteur", structure_id=structure_id).id
        ap.assign(db, officer, aid, formateur.user_id)
    with session_scope() as db:
        ap.schedule_visit(db, formateur, aid, visit_at=datetime.now(UTC) + timedelta(days=3), place="Lorient")
    assert advance_appui(aid).mails == ["requested", f"mission:u{formateur.user_id}", "visit:s0"]
    with session_scope() as db:
        ap.cancel(db, officer, aid, "La structure a fermé")
    assert aid in appuis_needing_attention()
    assert advance_appui(aid).mails == ["cancelled"]
    assert advance_appui(aid).mails == [] and appuis_needing_attention() == []
    with session_scope() as db:
        message = db.exec(select(OutboxMessage).where(OutboxMessage.dedupe_key == f"appuis:{aid}:cancelled")).one()
    (ics,) = [a for a in message.attachments if a["content_type"].startswith("text/calendar")]
    assert "method=CANCEL" in ics["content_type"]
    calendar = Calendar.from_ical((settings.data_dir / ics["relative_path"]).read_bytes())
    event = calendar.walk("VEVENT")[0]
    assert str(calendar["METHOD"]) == "CANCEL" and int(event["SEQUENCE"]) == 1 and str(event["STATUS"]) == "CANCELLED"
    assert "La structure a fermé" in message.body_text


async def test_convocation_invitations_follow_the_session_moved_then_cancelled(prefect_server, smtp, world, settings):
    """The encadrant's .ics: whole days, a higher SEQUENCE when moved, METHOD:CANCEL when cancelled,
    each sent once (real SMTP, parsed back with icalendar)."""
    people, structure_id = world
    d1 = today() + timedelta(days=20)
    sid = plan_training(people, days=[d1, d1 + timedelta(days=1)], place="Lorient, salle Groix", hours="9 h – 17 h")
    eid = enroll_encadrant(
        people, sid, structure_id, first_names="Zoé", last_name="<i>L'Hôpital</i>", email="zoe@envol.example.org"
    )
    with session_scope() as db:
        reference = db.get(tr.TrainingSession, sid).reference
    uid = f"{reference}-I{eid}@cqp-engine.local"

    assert (await training_session_flow(sid))["mails"] == ["convocation:s0"]
    first = smtp.messages[-1]
    (part,) = [p for p in first.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert part.get_filename() == "invitation.ics" and part.get_param("method") == "REQUEST"
    calendar = invitation(first)
    (event,) = calendar.walk("VEVENT")
    assert str(calendar["METHOD"]) == "REQUEST" and str(event["UID"]) == uid and int(event["SEQUENCE"]) == 0
    assert event.decoded("DTSTART") == d1 and event.decoded("DTEND") == d1 + timedelta(days=2)  # both days
    assert "RDATE" not in event and str(event["STATUS"]) == "CONFIRMED"
    assert str(event["LOCATION"]) == "Lorient, salle Groix"
    assert str(event["ATTENDEE"]) == "mailto:zoe@envol.example.org"  # his own event (the structure in copy)
    assert "Zoé <i>L'Hôpital</i>" in str(event["SUMMARY"]) and "9 h – 17 h" in str(event["DESCRIPTION"])
    assert "invitation.ics" in first.get_body(("plain",)).get_content()
    assert (await training_session_flow(sid))["mails"] == [] and len(smtp.messages) == 1

    # Moved to two days a week apart: same UID, SEQUENCE 1, the second day as a further occurrence.
    moved_days = [d1 + timedelta(days=7), d1 + timedelta(days=14)]
    with session_scope() as db:
        tr.reschedule(db, people["formateur"]["actor"], sid, days=moved_days, place="Lorient, salle Belle-Île")
    assert (await training_session_flow(sid))["mails"] == ["convocation:s1"]
    (moved,) = invitation(smtp.messages[-1]).walk("VEVENT")
    assert str(moved["UID"]) == uid and int(moved["SEQUENCE"]) == 1
    assert moved.decoded("DTSTART") == moved_days[0] and moved.decoded("DTEND") == moved_days[0] + timedelta(days=1)
    assert [d.dt for d in moved["RDATE"].dts] == [moved_days[1]]
    assert str(moved["LOCATION"]) == "Lorient, salle Belle-Île"
    assert "met à jour" in smtp.messages[-1].get_body(("plain",)).get_content()

    # Cancelled: METHOD:CANCEL with the same UID and a higher SEQUENCE, once.
    with session_scope() as db:
        tr.cancel(db, people["officer"]["actor"], sid, "Formateur indisponible")
    assert (await training_session_flow(sid))["mails"] == ["cancelled"]
    (part,) = [p for p in smtp.messages[-1].iter_attachments() if p.get_content_type() == "text/calendar"]
    assert part.get_param("method") == "CANCEL"
    calendar = invitation(smtp.messages[-1])
    (cancel,) = calendar.walk("VEVENT")
    assert str(calendar["METHOD"]) == "CANCEL" and str(cancel["STATUS"]) == "CANCELLED"
    assert str(cancel["UID"]) == uid and int(cancel["SEQUENCE"]) == 2
    assert (await training_session_flow(sid))["mails"] == [] and len(smtp.messages) == 3
    assert (await training_sweep_flow())["runs"] == 0

    folder = settings.data_dir / "generated" / "training_enrollments" / str(eid)
    assert sorted(p.name for p in folder.glob("*.ics")) == [
        "annulation-s2.ics",
        "convocation-s0.ics",
        "convocation-s1.ics",
    ]
