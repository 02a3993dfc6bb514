"""French formatting helpers, registered as Jinja2 filters for letters and e-mails.

No locale is used (``locale.setlocale`` is process-wide and depends on the host):
month names and number formats are spelled out here.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timezone, UTC
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from markupsafe import Markup, escape

from certification.clock import as_utc

logger = logging.getLogger(__name__)

MONTHS_FR = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)

try:
    DISPLAY_TZ: timezone | ZoneInfo = ZoneInfo("Europe/Paris")
except ZoneInfoNotFoundError:  # pragma: no cover - host without tz database
    logger.warning("Time zone Europe/Paris unavailable (install tzdata); times are shown in UTC.")
    DISPLAY_TZ = UTC


def to_local(value: datetime) -> datetime:
    """Convert a stored datetime (aware, or naive UTC) to French local time for display."""
    return as_utc(value).astimezone(DISPLAY_TZ)


def date_fr(value: date | datetime | None) -> str:
    """``date(2026, 11, 23)`` -> ``"23 novembre 2026"`` (``"1er"`` for the first day).

    A datetime is first converted to French local time, so that a late-evening UTC
    instant shows the French calendar day.
    """
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_local(value).date()
    day = "1er" if value.day == 1 else str(value.day)
    return f"{day} {MONTHS_FR[value.month - 1]} {value.year}"


def datetime_fr(value: datetime | None) -> str:
    """``datetime(2026, 11, 23, 13, 5, tzinfo=UTC)`` -> ``"23 novembre 2026 à 14 h 05"`` (Paris time)."""
    if value is None:
        return ""
    local = to_local(value)
    return f"{date_fr(local.date())} à {local.hour} h {local.minute:02d}"


def _decimal_fr(number: float) -> str:
    """One decimal with a French comma, without a useless ``,0``."""
    text = f"{number:.1f}"
    if text.endswith(".0"):
        text = text[:-2]
    return text.replace(".", ",")


def filesize(size: int | None) -> str:
    """Human file size in French binary units: ``"512 octets"``, ``"12 ko"``, ``"1,2 Mo"``."""
    if size is None:
        return ""
    if size < 1024:
        return "1 octet" if size == 1 else f"{size} octets"
    value = float(size)
    for unit in ("ko", "Mo", "Go"):
        value /= 1024
        if value < 1024 or unit == "Go":
            break
    return f"{_decimal_fr(value)} {unit}"


def nl2br(value: str | None) -> Markup:
    """Escape a user-supplied text and keep its line breaks as ``<br>`` (HTML output only)."""
    if not value:
        return Markup("")
    lines = str(value).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return Markup("<br>\n").join(escape(line) for line in lines)


def short_hash(value: str | None, length: int = 12) -> str:
    """First characters of a hex digest, as printed on receipts."""
    return (value or "")[:length]


def plural_fr(count: int, singular: str, plural: str | None = None) -> str:
    """``plural_fr(1, "jour")`` -> ``"1 jour"``; 0 and 1 are singular in French."""
    word = singular if abs(count) < 2 else (plural or singular + "s")
    return f"{count} {word}"


AVIS_LABELS = {"favorable": "favorable", "defavorable": "défavorable"}


def avis_label(value: str | None) -> str:
    """Display label of a mandataire's avis code (``"defavorable"`` -> ``"défavorable"``)."""
    return AVIS_LABELS.get(value or "", value or "")


FILTERS = {
    "avis_label": avis_label,
    "plural_fr": plural_fr,
    "date_fr": date_fr,
    "datetime_fr": datetime_fr,
    "filesize": filesize,
    "nl2br": nl2br,
    "short_hash": short_hash,
}
