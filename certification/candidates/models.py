"""Tables of the candidates: the candidate (one registration of a person for a certification) and
his evaluations per bloc de compétences.

Imported at the bottom of :mod:`certification.models`, so that every import of the models
registers these tables too (the table names are unchanged: ``candidates``, ``evaluations``).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field

from certification.types import Row, Dossier, timestamp_field as _ts

__all__ = ["Candidate", "Evaluation"]


class Candidate(Dossier, table=True):
    """A salarié in insertion registered by a structure for a CQP."""

    __tablename__ = "candidates"

    structure_id: int = Field(foreign_key="structures.id", index=True)
    certification_id: int = Field(foreign_key="certifications.id", index=True)
    # The version of the référentiel in force at registration (certification/referentiel/).
    certification_version_id: int | None = Field(default=None, foreign_key="certification_versions.id", index=True)
    agrement_id: int = Field(foreign_key="agrements.id")
    last_name: str = Field(max_length=100)
    first_names: str = Field(max_length=150)
    birth_date: date
    birth_place: str = Field(default="", max_length=150)
    sex: str | None = Field(default=None, max_length=1)  # M | F, « sexe » of the SI CPF (None: not collected)
    email: str = Field(default="", max_length=254)
    contract_type: str = Field(max_length=40)
    contract_start: date
    contract_end: date | None = None
    blocs: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # The pathway of access: « formation » (evaluations in training) or « vae » (certification/vae/).
    pathway: str = Field(default="formation", max_length=20, index=True)
    state: str = Field(max_length=20, index=True)
    version: int = 1
    registered_by_id: int = Field(foreign_key="users.id")
    registered_at: datetime = _ts()
    updated_at: datetime = _ts()


class Evaluation(Row, table=True):
    """An evaluation of a candidate on one bloc de compétences, with its evidence."""

    __tablename__ = "evaluations"

    candidate_id: int = Field(foreign_key="candidates.id", index=True)
    bloc_code: str = Field(max_length=20)
    evaluated_on: date
    result: str = Field(max_length=20)  # acquis | en_cours | non_acquis
    evaluator_name: str = Field(max_length=200)
    comment: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    files: list[dict] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_by_id: int = Field(foreign_key="users.id")
    created_at: datetime = _ts()
