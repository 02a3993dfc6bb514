"""Tables of the agrément: the requests of the structures, their pieces, and the agréments granted.

Imported at the bottom of :mod:`certification.models`, so that every import of the models
registers these tables too (the table names are unchanged: ``agrement_requests``, ``pieces``,
``agrements``).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field

from certification.types import Row, Dossier, StoredFile, optional_timestamp_field, timestamp_field

__all__ = ["Agrement", "AgrementRequest", "Piece"]


class AgrementRequest(Dossier, table=True):
    __tablename__ = "agrement_requests"

    structure_id: int = Field(foreign_key="structures.id", index=True)
    certification_id: int = Field(foreign_key="certifications.id")
    mandataire_id: int = Field(foreign_key="users.id", index=True)
    kind: str = Field(default="initial", max_length=20)  # initial | renewal
    previous_agrement_id: int | None = Field(default=None, foreign_key="agrements.id")
    state: str = Field(max_length=20, index=True)
    version: int = 1
    round: int = 1  # submission round: 1, then +1 at each answer to a demande de compléments
    scope: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    motivation: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    submitted_at: datetime = timestamp_field()
    last_submitted_at: datetime = timestamp_field()
    complement_request: str | None = Field(default=None, sa_column=Column(Text))
    complements_requested_at: datetime | None = optional_timestamp_field()
    complements_deadline: date | None = None
    avis_deadline: date | None = None
    avis: str | None = Field(default=None, max_length=20)  # favorable | defavorable
    avis_comment: str | None = Field(default=None, sa_column=Column(Text))
    avis_at: datetime | None = optional_timestamp_field()
    decision_reason: str | None = Field(default=None, sa_column=Column(Text))
    decided_at: datetime | None = optional_timestamp_field()
    decided_by_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()


class Piece(Row, StoredFile, table=True):
    """An uploaded file of a dossier (content-addressed on disk)."""

    __tablename__ = "pieces"

    request_id: int = Field(foreign_key="agrement_requests.id", index=True)
    round: int = 1
    kind: str = Field(max_length=40)


class Agrement(Row, table=True):
    __tablename__ = "agrements"

    number: str = Field(max_length=40, unique=True, index=True)
    structure_id: int = Field(foreign_key="structures.id", index=True)
    certification_id: int = Field(foreign_key="certifications.id")
    request_id: int | None = Field(default=None, unique=True)
    state: str = Field(max_length=20, index=True)
    version: int = 1
    start_date: date
    end_date: date
    scope: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    granted_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()
