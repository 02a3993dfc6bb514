"""Table of the VAE pathway: one dossier per VAE candidate (table ``vae_dossiers``).

Imported at the bottom of :mod:`certification.models`, so that every import of the models
registers it too.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field

from certification.types import Dossier, optional_timestamp_field, timestamp_field

__all__ = ["VaeDossier"]


class VaeDossier(Dossier, table=True):
    """The dossier de VAE of a candidate: request, recevabilité, accompaniment, livret 2, interview."""

    __tablename__ = "vae_dossiers"

    candidate_id: int = Field(foreign_key="candidates.id", unique=True, index=True)
    structure_id: int = Field(foreign_key="structures.id", index=True)
    requested_blocs: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    experience: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    state: str = Field(max_length=20, index=True)
    version: int = 1
    filed_by_id: int = Field(foreign_key="users.id")
    filed_at: datetime = timestamp_field()
    recevabilite_due_on: date
    decision_reason: str | None = Field(default=None, sa_column=Column(Text))
    decided_at: datetime | None = optional_timestamp_field()
    decided_by_id: int | None = Field(default=None, foreign_key="users.id")
    livret2_due_on: date | None = None
    accompanist_name: str | None = Field(default=None, max_length=200)
    accompanist_organisation: str | None = Field(default=None, max_length=200)
    accompaniment_hours: int | None = None
    livret2_name: str | None = Field(default=None, max_length=200)
    livret2_content_type: str | None = Field(default=None, max_length=100)
    livret2_size: int | None = None
    livret2_sha256: str | None = Field(default=None, max_length=64)
    livret2_path: str | None = Field(default=None, max_length=300)
    livret2_deposited_at: datetime | None = optional_timestamp_field()
    interview_session_id: int | None = Field(default=None, foreign_key="jury_sessions.id")
    interview_at: datetime | None = optional_timestamp_field()
    interview_notes: str | None = Field(default=None, sa_column=Column(Text))
    interview_recorded_by_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()
