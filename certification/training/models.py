"""Tables of the EPSP training of structure supervisors (encadrants) and of the appuis pédagogiques.

Imported at the bottom of :mod:`certification.models`, so that every import of the models
registers these tables too (the table names are unchanged: ``encadrants``, ``training_sessions``,
``training_enrollments``, ``appuis``).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field

from certification.types import Row, Dossier, VisitPlanning, optional_timestamp_field as _opt_ts, timestamp_field as _ts

__all__ = ["Appui", "Encadrant", "TrainingEnrollment", "TrainingSession"]


class Encadrant(Row, table=True):
    """A supervisor of a structure; EPSP-trained once an enrollment of his is completed."""

    __tablename__ = "encadrants"
    __table_args__ = (UniqueConstraint("structure_id", "email", name="uq_encadrant_email"),)

    structure_id: int = Field(foreign_key="structures.id", index=True)
    last_name: str = Field(max_length=100)
    first_names: str = Field(max_length=150)
    email: str = Field(max_length=254)
    epsp_trained_on: date | None = None  # last day of the first training he completed
    epsp_enrollment_id: int | None = None  # that enrollment (training_enrollments.id)
    created_by_id: int = Field(foreign_key="users.id")
    created_at: datetime = _ts()


class TrainingSession(Dossier, table=True):
    """A session of the EPSP training, run by one formateur on given days at one place."""

    __tablename__ = "training_sessions"

    formateur_id: int = Field(foreign_key="users.id", index=True)
    title: str = Field(max_length=200)
    days: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # ISO dates, sorted
    start_date: date = Field(index=True)
    end_date: date
    hours: str = Field(default="", max_length=100)  # e.g. « 9 h – 12 h 30, 13 h 30 – 17 h »
    hours_per_day: int = 7
    place: str = Field(max_length=300)
    capacity: int = 12
    notes: str | None = Field(default=None, sa_column=Column(Text))
    state: str = Field(max_length=20, index=True)
    version: int = 1
    schedule_sequence: int = 0  # +1 at each change of dates or place (a new convocation is owed)
    cancel_reason: str | None = Field(default=None, sa_column=Column(Text))
    closed_at: datetime | None = _opt_ts()
    created_by_id: int = Field(foreign_key="users.id")
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class TrainingEnrollment(Row, table=True):
    """An encadrant registered in a session: attendance per day and outcome."""

    __tablename__ = "training_enrollments"
    __table_args__ = (UniqueConstraint("session_id", "encadrant_id", name="uq_training_enrollment"),)

    session_id: int = Field(foreign_key="training_sessions.id", index=True)
    encadrant_id: int = Field(foreign_key="encadrants.id", index=True)
    structure_id: int = Field(foreign_key="structures.id", index=True)
    state: str = Field(max_length=20, index=True)
    version: int = 1
    attendance: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # ISO day -> bool
    outcome_reason: str | None = Field(default=None, sa_column=Column(Text))
    completed_at: datetime | None = _opt_ts()
    attestation_number: str | None = Field(default=None, max_length=40, unique=True)
    registered_by_id: int = Field(foreign_key="users.id")
    registered_at: datetime = _ts()
    updated_at: datetime = _ts()


class Appui(Dossier, VisitPlanning, table=True):
    """An appui pédagogique: a formateur's visit to a structure, on its request."""

    __tablename__ = "appuis"

    structure_id: int = Field(foreign_key="structures.id", index=True)
    subject: str = Field(max_length=200)
    need: str = Field(sa_column=Column(Text, nullable=False))
    requested_by_id: int = Field(foreign_key="users.id")
    state: str = Field(max_length=20, index=True)
    version: int = 1
    formateur_id: int | None = Field(default=None, foreign_key="users.id", index=True)
    report_text: str | None = Field(default=None, sa_column=Column(Text))
    # {"original_name", "content_type", "size", "sha256", "relative_path"} of the optional PDF
    report_file: dict | None = Field(default=None, sa_column=Column(JSON))
    reported_at: datetime | None = _opt_ts(index=True)
    cancel_reason: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
