"""Time source of the domain (UTC, timezone-aware). Tests travel in time with time-machine."""

from __future__ import annotations

from datetime import UTC, date, datetime


def now() -> datetime:
    return datetime.now(UTC)


def today() -> date:
    return now().date()


def as_utc(value: datetime | None) -> datetime | None:
    """Normalize a datetime read back from any backend to aware UTC (SQLite returns naive)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
