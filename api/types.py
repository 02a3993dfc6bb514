"""Types shared by every API schema: timestamps always serialised as timezone-aware UTC
(``2026-11-30T17:27:10.949855Z``); dates stay ISO dates (``2026-11-30``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, PlainSerializer, WithJsonSchema


def utc_iso(value: datetime) -> str:
    """``value`` in UTC, ISO 8601 with a ``Z``; a naive value is taken as UTC (how SQLite returns them)."""
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return aware.isoformat().replace("+00:00", "Z")


UtcDateTime = Annotated[
    datetime,
    PlainSerializer(utc_iso, return_type=str, when_used="json"),
    WithJsonSchema(
        {"type": "string", "format": "date-time", "description": "Horodatage UTC (ISO 8601, suffixe Z)"},
        mode="serialization",
    ),
]


def _email(value: str) -> str:
    """A syntactically valid address; test and local domains are accepted (no deliverability check)."""
    try:
        return validate_email(
            value, check_deliverability=False, globally_deliverable=False, test_environment=True
        ).normalized
    except EmailNotValidError:
        raise ValueError("adresse e-mail invalide") from None


Email = Annotated[str, AfterValidator(_email), WithJsonSchema({"type": "string", "format": "email"})]
