"""Table of the appeals (recours): a candidate's challenge of a jury's decision.

Imported at the bottom of :mod:`certification.models`, so that every import of the models
registers this table too (the table name is unchanged: ``appeals``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field

from certification.types import Dossier, timestamp_field

__all__ = ["Appeal"]


class Appeal(Dossier, table=True):
    """A recours of a candidate against a jury's decision (within 2 months)."""

    __tablename__ = "appeals"

    candidate_id: int = Field(foreign_key="candidates.id", index=True)
    session_id: int = Field(foreign_key="jury_sessions.id", index=True)
    grounds: str = Field(sa_column=Column(Text, nullable=False))
    state: str = Field(max_length=20, index=True)
    version: int = 1
    decision_reason: str | None = Field(default=None, sa_column=Column(Text))
    filed_by_id: int = Field(foreign_key="users.id")
    filed_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()
