"""Chronology rules of the domain: what may not happen before what.

The services call these before they change anything, so that the API, the back-office, the flows
and the demo all get the same refusal (409 for a step tried too early, 422 for a date out of
range). Dates shown in messages are French calendar days (Europe/Paris).
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from certification.clock import as_utc, now
from certification.errors import Conflict, ValidationFailed

PARIS = ZoneInfo("Europe/Paris")


def local_date(value: datetime) -> date:
    """The French calendar day of a stored instant."""
    return as_utc(value).astimezone(PARIS).date()


def _fr(day: date) -> str:
    return f"{day:%d/%m/%Y}"


def _fr_time(value: datetime) -> str:
    local = as_utc(value).astimezone(PARIS)
    return f"{local:%d/%m/%Y} à {local.hour} h {local.minute:02d}"


def check_evaluation_date(
    evaluated_on: date, *, registered_at: datetime, agrement_start: date, agrement_end: date
) -> None:
    """An evaluation is dated on or after the candidate's registration, within the agrément."""
    registered = as_utc(registered_at).date()  # the domain's calendar (clock.today) is UTC
    if evaluated_on < registered:
        raise ValidationFailed(
            f"Une évaluation ne peut pas être antérieure à l'inscription du candidat ({_fr(registered)}).",
            code="evaluation_before_registration",
        )
    if not agrement_start <= evaluated_on <= agrement_end:
        raise ValidationFailed(
            f"La date d'évaluation doit se situer dans la période de validité de l'agrément "
            f"(du {_fr(agrement_start)} au {_fr(agrement_end)}).",
            code="evaluation_outside_agrement",
        )


def check_session_started(scheduled_at: datetime, what: str) -> None:
    """Attendance, deliberation and the PV signature happen at or after the jury's date and time.

    ``what``: the step, as the subject of the French message (« La délibération »).
    """
    if now() < as_utc(scheduled_at):
        raise Conflict(
            f"{what} ne peut pas avoir lieu avant la séance du jury, fixée au {_fr_time(scheduled_at)}.",
            code="before_jury_date",
        )


def issue_date(scheduled_at: datetime, pv_signed_at: datetime | None) -> date:
    """Certificates and attestations are dated from the signed PV, never before the jury.

    UTC calendar days, like :func:`certification.clock.today` (a PV signed after 23:00 UTC is dated
    the UTC day, one day before the Paris day printed on the PV: the whole domain uses UTC dates).
    """
    day = as_utc(scheduled_at).date()
    return max(day, as_utc(pv_signed_at).date()) if pv_signed_at is not None else day
