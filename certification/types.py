"""Column types shared by the models."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field

from certification.clock import as_utc, now


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = as_utc(value)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return as_utc(value)


def timestamp_field(**kw: Any) -> Any:
    """A UTC timestamp column that defaults to now (``created_at``, ``updated_at``…)."""
    return Field(default_factory=now, sa_type=UTCDateTime, **kw)


def optional_timestamp_field(**kw: Any) -> Any:
    """A UTC timestamp column, None until it is set."""
    return Field(default=None, sa_type=UTCDateTime, **kw)
