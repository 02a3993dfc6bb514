"""Column types shared by the models, and the columns that several tables share: a table's key
(:class:`Row`), a dossier's (:class:`Dossier`), a stored file (:class:`StoredFile`), a visit on site
(:class:`VisitPlanning`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

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


class StoredFile(SQLModel):
    """The columns of an uploaded file stored content-addressed (``uploads/ab/cd/<sha256>.pdf``,
    relative to the data directory), shared by the tables that keep one file a row (the agrément's
    pieces, the contrôle's files)."""

    original_name: str = Field(max_length=200)
    content_type: str = Field(max_length=100)
    size: int
    sha256: str = Field(max_length=64)
    relative_path: str = Field(max_length=300)
    uploaded_by_id: int = Field(foreign_key="users.id")
    uploaded_at: datetime = timestamp_field()


class VisitPlanning(SQLModel):
    """The planning fields of a dossier with a visit on site (a contrôle, an appui pédagogique),
    written by :func:`certification.visits.schedule`."""

    visit_at: datetime | None = optional_timestamp_field()
    visit_end: datetime | None = optional_timestamp_field()
    visit_place: str | None = Field(default=None, max_length=300)
    visit_notes: str | None = Field(default=None, sa_type=Text)
    visit_sequence: int = -1  # 0 at the first scheduling, +1 at each change (iCalendar SEQUENCE)


class Row(SQLModel):
    """The surrogate key of a table, ``id``: its first column, or the first after a shared group's
    (a stored file's, a visit's planning)."""

    id: int | None = Field(default=None, primary_key=True)


class Dossier(Row):
    """The first columns of a dossier that officers, letters and e-mails name by its reference
    (``DA-2026-00001``…): an agrément request, a contrôle, a candidate, an appeal, a VAE dossier, a
    jury or training session, an appui."""

    reference: str = Field(max_length=30, unique=True, index=True)
