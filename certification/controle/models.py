"""Tables of the contrôle d'agrément: the contrôle itself and its files.

Imported at the bottom of :mod:`certification.models`, so that every import of the models
registers these tables too (the table names are unchanged: ``controles``, ``controle_files``).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field

from certification.types import Row, Dossier, StoredFile, VisitPlanning, optional_timestamp_field, timestamp_field

__all__ = ["Controle", "ControleFile"]


class Controle(Dossier, VisitPlanning, table=True):
    """A contrôle d'agrément (audit of an approved structure)."""

    __tablename__ = "controles"

    agrement_id: int = Field(foreign_key="agrements.id", index=True)
    structure_id: int = Field(foreign_key="structures.id", index=True)
    kind: str = Field(max_length=20)  # periodic | sampled | on_demand
    reason: str | None = Field(default=None, sa_column=Column(Text))
    state: str = Field(max_length=20, index=True)
    version: int = 1
    controleur_id: int | None = Field(default=None, foreign_key="users.id", index=True)
    findings: list[dict] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    report_summary: str | None = Field(default=None, sa_column=Column(Text))
    report_submitted_at: datetime | None = optional_timestamp_field()
    decision: str | None = Field(default=None, max_length=20)
    decision_reason: str | None = Field(default=None, sa_column=Column(Text))
    decided_at: datetime | None = optional_timestamp_field()
    decided_by_id: int | None = Field(default=None, foreign_key="users.id")
    action_plan_items: str | None = Field(default=None, sa_column=Column(Text))
    action_plan_deadline: date | None = None
    closed_at: datetime | None = optional_timestamp_field()
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()


class ControleFile(Row, StoredFile, table=True):
    """A file of a contrôle: the contrôleur's report or the structure's evidence."""

    __tablename__ = "controle_files"

    controle_id: int = Field(foreign_key="controles.id", index=True)
    kind: str = Field(max_length=20)  # rapport | evidence
