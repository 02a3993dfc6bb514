"""Calendar invitations (iCalendar, RFC 5545 / iTIP RFC 5546) attached to convocations.

One VEVENT per invitation, times in UTC (no VTIMEZONE needed; calendar clients show them in
their own zone). The UID stays the same for the life of an appointment and SEQUENCE grows at
each change, so that a client updates the event it already has instead of adding another one.
Apart from DTSTAMP (the time the invitation is built), the output depends only on the arguments.

A cancellation is ``method="CANCEL", cancelled=True`` with the same UID and a higher SEQUENCE.

An event on whole days (a training) has ``date`` bounds (``DTSTART;VALUE=DATE``, ``DTEND`` the day
after the last one); days apart from the first span are further occurrences (``RDATE``), since an
iTIP message holds one UID: :func:`day_spans` turns a list of days into those arguments.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from email.utils import parseaddr
from pathlib import Path

from icalendar import Calendar, Event, vCalAddress

from certification import clock
from documents.storage import DocumentStore

PRODID = "-//Organisme certificateur CQP//cqp-engine//FR"
METHODS = frozenset({"REQUEST", "CANCEL", "PUBLISH"})
INVITATION_FILENAME = "invitation.ics"


def _calendar_address(address: str, *, role: str | None = None) -> vCalAddress:
    """``mailto:`` calendar address of ``"a@b.fr"`` or ``"Nom <a@b.fr>"`` (the name becomes CN)."""
    if any(ord(c) < 32 or ord(c) == 127 for c in address):
        raise ValueError(f"Invalid e-mail address for a calendar invitation: {address!r}")
    name, email = parseaddr(address)
    if not email or email.count("@") != 1 or any(c in email for c in ' <>":;,'):
        raise ValueError(f"Invalid e-mail address for a calendar invitation: {address!r}")
    cal_address = vCalAddress(f"mailto:{email}")
    name = " ".join(name.replace('"', "'").split())  # a parameter value cannot hold DQUOTE or breaks
    if name:
        cal_address.params["CN"] = name
    if role:
        cal_address.params["ROLE"] = role
        cal_address.params["PARTSTAT"] = "NEEDS-ACTION"
    return cal_address


def day_spans(days: Sequence[date]) -> dict:
    """``start``, ``end`` and ``rdates`` of :func:`build_invitation` for whole ``days``.

    Consecutive days make one event from the first to the last; otherwise each day is an
    occurrence of one day (the first as DTSTART, the others as RDATE).
    """
    days = sorted(set(days))
    if not days:
        raise ValueError("An event needs at least one day")
    if days[-1] - days[0] == timedelta(days=len(days) - 1):
        return {"start": days[0], "end": days[-1] + timedelta(days=1), "rdates": []}
    return {"start": days[0], "end": days[0] + timedelta(days=1), "rdates": days[1:]}


def _all_day(value: date | datetime) -> bool:
    return not isinstance(value, datetime)


def build_invitation(
    *,
    uid: str,
    sequence: int,
    start: datetime | date,
    end: datetime | date,
    summary: str,
    location: str,
    description: str,
    organizer: str,
    attendees: list[str],
    method: str = "REQUEST",
    cancelled: bool = False,
    rdates: Sequence[date] = (),
) -> bytes:
    """An iCalendar invitation (UTF-8 bytes, CRLF line ends) for one event.

    ``start`` and ``end`` are aware datetimes (naive ones are taken as UTC, like the stored
    ones), written in UTC; or two dates for an event on whole days (``end`` excluded, as in
    RFC 5545), which may recur on the days ``rdates``. ``organizer`` and ``attendees`` are e-mail
    addresses, optionally ``"Nom <adresse>"``; every attendee is a required participant.
    """
    if method not in METHODS:
        raise ValueError(f"Unknown iTIP method: {method!r}")
    if not uid or any(c in uid for c in "\r\n"):
        raise ValueError(f"Invalid UID: {uid!r}")
    if sequence < 0:
        raise ValueError("SEQUENCE must be >= 0")
    if _all_day(start) != _all_day(end) or (rdates and not _all_day(start)):
        raise ValueError("Dates and times cannot be mixed in one event")
    if _all_day(start):
        dtstart, dtend = start, end
        if any(not _all_day(d) or d <= start for d in rdates):
            raise ValueError("Further days must be dates after the first one")
    else:
        dtstart, dtend = clock.as_utc(start).replace(microsecond=0), clock.as_utc(end).replace(microsecond=0)
    if dtend <= dtstart:
        raise ValueError("The event must end after it starts")

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)

    event = Event()
    event.add("uid", uid)
    event.add("sequence", sequence)
    event.add("dtstamp", clock.now().replace(microsecond=0))
    event.add("dtstart", dtstart)
    event.add("dtend", dtend)
    if rdates:
        event.add("rdate", sorted(set(rdates)))
    event.add("summary", summary)
    if location:
        event.add("location", location)
    if description:
        event.add("description", description)
    event.add("organizer", _calendar_address(organizer))
    for attendee in attendees:
        event.add("attendee", _calendar_address(attendee, role="REQ-PARTICIPANT"))
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "OPAQUE")
    calendar.add_component(event)
    return calendar.to_ical()


def ics_attachment(
    data_dir: Path,
    relative_path: str,
    data: bytes,
    *,
    filename: str = INVITATION_FILENAME,
    method: str = "REQUEST",
) -> dict:
    """Write ``data`` atomically at ``data_dir/relative_path``; returns the outbox attachment entry.

    The content type carries the iTIP method (``text/calendar; charset=utf-8; method=REQUEST``)
    as mail clients expect for an invitation. Key ``relative_path`` by UID and SEQUENCE
    (e.g. ``generated/controles/12/visite-s1.ics``): a message already in the outbox keeps
    pointing at the invitation it was queued with.
    """
    if method not in METHODS:
        raise ValueError(f"Unknown iTIP method: {method!r}")
    DocumentStore(Path(data_dir)).write(relative_path, data)
    return {
        "filename": filename,
        "relative_path": relative_path,
        "content_type": f"text/calendar; charset=utf-8; method={method}",
    }
