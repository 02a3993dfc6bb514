"""Time source of the domain (UTC, timezone-aware). Tests travel in time with time-machine.

:func:`shifted` moves the domain's clock for the demo only (``cqp run`` on first start tells a
story that began weeks ago); production code never shifts it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import overload

_offset = timedelta(0)


def now() -> datetime:
    return datetime.now(UTC) + _offset


def today() -> date:
    return now().date()


def wall_clock() -> datetime:
    """The machine's clock (UTC), never shifted: what leases and retry schedules between
    processes are kept in. A claim taken while the demo's clock read weeks ago must not look
    expired to a sender that reads the present (it would send the message a second time)."""
    return datetime.now(UTC)


@contextmanager
def shifted(to: datetime) -> Iterator[None]:
    """The domain's clock reads ``to`` (then runs on) inside the block; restored afterwards.

    Process-wide: only for the demo, which runs before the server accepts requests.
    """
    global _offset
    previous = _offset
    _offset = to - datetime.now(UTC)
    try:
        yield
    finally:
        _offset = previous


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: None) -> None: ...
@overload
def as_utc(value: datetime | None) -> datetime | None: ...
def as_utc(value: datetime | None) -> datetime | None:
    """Normalize a datetime read back from any backend to aware UTC (SQLite returns naive)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
