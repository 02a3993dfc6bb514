"""Types shared by every API schema: timestamps always serialised as timezone-aware UTC
(``2026-11-30T17:27:10.949855Z``); dates stay ISO dates (``2026-11-30``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import PlainSerializer, WithJsonSchema


def utc_iso(value: datetime) -> str:
    """``value`` in UTC, ISO 8601 with a ``Z``; a naive value is taken as UTC (how SQLite returns them)."""
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return aware.isoformat().replace("+00:00", "Z")


UtcDateTime = Annotated[
    datetime,
    PlainSerializer(utc_iso, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time", "description": "Horodatage UTC (ISO 8601, suffixe Z)"},
                   mode="serialization"),
]
