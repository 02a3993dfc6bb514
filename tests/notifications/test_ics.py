"""Calendar invitations (.ics): built, parsed back with icalendar, attached and delivered by SMTP."""

from __future__ import annotations

from datetime import date, datetime, timedelta, UTC
from zoneinfo import ZoneInfo

import pytest
import time_machine
from icalendar import Calendar

from certification.db import session_scope
from documents.samples import sample_controle_context
from notifications.ics import PRODID, build_invitation, day_spans, ics_attachment
from notifications.models import OutboxMessage
from notifications.outbox import DeliveryReport, build_email, deliver_pending, enqueue
from notifications.transport import SmtpTransport

START = datetime(2026, 3, 12, 8, 30, tzinfo=UTC)  # 9 h 30 in Paris
END = datetime(2026, 3, 12, 11, 30, tzinfo=UTC)
UID = "controle-1-visite@cqp-engine.local"
STAMP = datetime(2026, 2, 20, 10, 15, 42, tzinfo=UTC)


def invitation(**overrides) -> bytes:
    args = dict(
        uid=UID,
        sequence=0,
        start=START,
        end=END,
        summary="Visite de contrôle CTL-2026-0001 – <script>alert('x')</script> & Fils",
        location="Atelier de l'Église, 12 rue de l'Église, 69007 Lyon",
        description="Contrôle périodique de l'agrément AGR-CQP_SP-2026-0001.\nAccès par la cour ; merci.",
        organizer="certification@cqp-aci.example.org",
        attendees=["contact@aci-exemple.fr", "François Lefèvre-N'Diaye <francois.lefevre@controleurs.example.org>"],
    )
    args.update(overrides)
    return build_invitation(**args)


def event_of(data: bytes):
    calendar = Calendar.from_ical(data)
    [event] = calendar.walk("VEVENT")
    return calendar, event


def test_invitation_round_trips_through_icalendar() -> None:
    with time_machine.travel(STAMP, tick=False):
        data = invitation(sequence=2)

    calendar, event = event_of(data)
    assert str(calendar["PRODID"]) == PRODID == "-//Organisme certificateur CQP//cqp-engine//FR"
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["METHOD"]) == "REQUEST"
    assert str(event["UID"]) == UID
    assert int(event["SEQUENCE"]) == 2
    assert event["DTSTAMP"].dt == STAMP
    assert event["DTSTART"].dt == START and event["DTSTART"].dt.utcoffset() == timedelta(0)
    assert event["DTEND"].dt == END
    assert str(event["SUMMARY"]) == "Visite de contrôle CTL-2026-0001 – <script>alert('x')</script> & Fils"
    assert str(event["LOCATION"]) == "Atelier de l'Église, 12 rue de l'Église, 69007 Lyon"
    assert str(event["DESCRIPTION"]).endswith("AGR-CQP_SP-2026-0001.\nAccès par la cour ; merci.")
    assert str(event["ORGANIZER"]) == "mailto:certification@cqp-aci.example.org"
    attendees = event["ATTENDEE"]
    assert [str(a) for a in attendees] == [
        "mailto:contact@aci-exemple.fr",
        "mailto:francois.lefevre@controleurs.example.org",
    ]
    assert all(a.params["ROLE"] == "REQ-PARTICIPANT" for a in attendees)
    assert attendees[1].params["CN"] == "François Lefèvre-N'Diaye"
    assert str(event["STATUS"]) == "CONFIRMED"
    # Raw form: UTC times, CRLF line ends, lines folded at 75 octets.
    assert b"DTSTART:20260312T083000Z\r\n" in data
    assert b"DTEND:20260312T113000Z\r\n" in data
    assert b"DTSTAMP:20260220T101542Z\r\n" in data
    assert all(len(line) <= 75 for line in data.split(b"\r\n"))


def test_local_times_are_written_in_utc() -> None:
    paris = ZoneInfo("Europe/Paris")
    data = invitation(start=datetime(2026, 7, 2, 9, 0, tzinfo=paris), end=datetime(2026, 7, 2, 12, 0, tzinfo=paris))

    _, event = event_of(data)
    assert b"DTSTART:20260702T070000Z\r\n" in data
    assert event["DTEND"].dt == datetime(2026, 7, 2, 10, 0, tzinfo=UTC)


def test_only_dtstamp_changes_between_builds() -> None:
    with time_machine.travel(STAMP, tick=False):
        first = invitation()
        second = invitation()
    with time_machine.travel(STAMP + timedelta(hours=1), tick=False):
        later = invitation()

    assert first == second
    assert later != first
    assert later.replace(b"DTSTAMP:20260220T111542Z", b"DTSTAMP:20260220T101542Z") == first


def test_a_cancellation() -> None:
    data = invitation(sequence=3, method="CANCEL", cancelled=True)

    calendar, event = event_of(data)
    assert str(calendar["METHOD"]) == "CANCEL"
    assert str(event["STATUS"]) == "CANCELLED"
    assert int(event["SEQUENCE"]) == 3


@pytest.mark.parametrize(
    "overrides",
    [
        {"end": START},
        {"end": START - timedelta(hours=1)},
        {"method": "INVITE"},
        {"sequence": -1},
        {"uid": ""},
        {"uid": "a\r\nATTENDEE:mailto:intrus@example.org"},
        {"organizer": "pas une adresse"},
        {"attendees": ["contact@aci-exemple.fr\r\nATTENDEE:mailto:intrus@example.org"]},
    ],
)
def test_invalid_invitations_are_refused(overrides) -> None:
    with pytest.raises(ValueError):
        invitation(**overrides)


def test_whole_days_make_one_span_or_single_days_with_rdate() -> None:
    d = date(2026, 3, 16)
    assert day_spans([d + timedelta(days=2), d, d + timedelta(days=1)]) == {
        "start": d,
        "end": d + timedelta(days=3),
        "rdates": [],
    }
    assert day_spans([d]) == {"start": d, "end": d + timedelta(days=1), "rdates": []}
    apart = [d, d + timedelta(days=1), d + timedelta(days=8)]
    assert day_spans(apart) == {"start": d, "end": d + timedelta(days=1), "rdates": apart[1:]}
    with pytest.raises(ValueError):
        day_spans([])

    data = invitation(**day_spans(apart))
    _, event = event_of(data)
    assert b"DTSTART;VALUE=DATE:20260316\r\n" in data and b"DTEND;VALUE=DATE:20260317\r\n" in data
    assert b"RDATE;VALUE=DATE:20260317,20260324\r\n" in data
    assert event.decoded("DTSTART") == d and [x.dt for x in event["RDATE"].dts] == apart[1:]
    _, span = event_of(invitation(**day_spans(apart[:2])))
    assert span.decoded("DTEND") == d + timedelta(days=2) and "RDATE" not in span


@pytest.mark.parametrize(
    "overrides",
    [
        {"start": date(2026, 3, 16), "end": END},  # a date and a time
        {"start": date(2026, 3, 16), "end": date(2026, 3, 16)},  # ends when it starts
        {"start": date(2026, 3, 16), "end": date(2026, 3, 17), "rdates": [date(2026, 3, 16)]},
        {"rdates": [date(2026, 3, 20)]},  # further days of a timed event
    ],
)
def test_invalid_whole_day_invitations_are_refused(overrides) -> None:
    with pytest.raises(ValueError):
        invitation(**overrides)


def test_ics_attachment_writes_the_file_and_describes_it(settings) -> None:
    data = invitation()
    attachment = ics_attachment(settings.data_dir, "generated/controles/1/visite-s0.ics", data)

    assert attachment == {
        "filename": "invitation.ics",
        "relative_path": "generated/controles/1/visite-s0.ics",
        "content_type": "text/calendar; charset=utf-8; method=REQUEST",
    }
    assert (settings.data_dir / "generated/controles/1/visite-s0.ics").read_bytes() == data
    assert not list((settings.data_dir / "generated/controles/1").glob(".tmp-*"))
    with pytest.raises(ValueError):
        ics_attachment(settings.data_dir, "../outside.ics", data)


def queue_convocation(engine, settings, *, sequence: int = 0) -> tuple[int, bytes]:
    context = sample_controle_context(visit_sequence=sequence)
    data = invitation(sequence=sequence)
    attachment = ics_attachment(settings.data_dir, f"generated/controles/1/visite-s{sequence}.ics", data)
    with session_scope(engine) as db:
        msg = enqueue(
            db,
            dedupe_key=f"controles:1:convocation:s{sequence}",
            to=["contact@aci-exemple.fr"],
            cc=["francois.lefevre@controleurs.example.org"],
            template="controle/convocation_visite",
            context=context,
            attachments=[attachment],
            entity_type="controles",
            entity_id=1,
        )
        db.flush()
        return msg.id, data


def test_build_email_attaches_a_calendar_part(engine, settings) -> None:
    message_id, data = queue_convocation(engine, settings)
    with session_scope(engine) as db:
        email = build_email(db.get(OutboxMessage, message_id), settings.data_dir)

    [part] = list(email.iter_attachments())
    assert part.get_content_type() == "text/calendar"
    assert part.get_param("method") == "REQUEST"
    assert part.get_param("charset") == "utf-8"
    assert part.get_filename() == "invitation.ics"
    assert part.get_payload(decode=True) == data
    assert email.as_bytes().isascii()


async def test_convocation_with_invitation_is_delivered_by_smtp(engine, settings, smtp_server) -> None:
    smtp_server.start()
    _, data = queue_convocation(engine, settings, sequence=1)

    report = await deliver_pending(engine, SmtpTransport(host="127.0.0.1", port=smtp_server.port, timeout=5))

    assert report == DeliveryReport(sent=1)
    assert sorted(smtp_server.recipients(0)) == [
        "contact@aci-exemple.fr",
        "francois.lefevre@controleurs.example.org",
    ]
    [received] = smtp_server.messages
    assert received["Subject"].startswith("[CTL-2026-0001] Modification de la date de visite")
    assert received["Cc"] == "francois.lefevre@controleurs.example.org"
    body = received.get_body(("plain",)).get_content()
    assert "le 12 mars 2026 de 9 h 30 à 12 h 30 (heure de Paris)" in body
    assert "Pièce jointe\u00a0: invitation.ics" in body
    [part] = list(received.iter_attachments())
    assert part.get_content_type() == "text/calendar"
    assert part.get_param("method") == "REQUEST"
    assert part.get_filename() == "invitation.ics"
    assert part.get_payload(decode=True) == data
    calendar, event = event_of(part.get_payload(decode=True))
    assert str(calendar["METHOD"]) == "REQUEST"
    assert str(event["UID"]) == UID
    assert int(event["SEQUENCE"]) == 1
    assert event["DTSTART"].dt == START
    assert part.get_content().startswith("BEGIN:VCALENDAR")  # decoded as UTF-8 text
    assert "Église" in part.get_content()
