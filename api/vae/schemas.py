"""Bodies of the VAE endpoints."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from api.certification_schemas import CandidateDossierOut
from api.dossier import ProgressOut
from api.schemas import DocumentOut, Strict
from api.types import UtcDateTime


class VaeRequestIn(Strict):
    """The VAE request of a candidate registered on the VAE pathway."""

    candidate_id: int
    requested_blocs: list[str] | None = Field(
        default=None, max_length=20, description="Codes des blocs demandés (vide : tous ceux que le candidat ne détient pas)")
    experience: str = Field(default="", max_length=10000, description="Expérience en rapport avec les blocs demandés")


class RecevabiliteIn(Strict):
    decision: Literal["recevable", "non_recevable"]
    reason: str = Field(default="", max_length=10000, description="Motifs (obligatoires pour une non-recevabilité)")


class AccompanimentIn(Strict):
    accompanist_name: str = Field(min_length=1, max_length=200)
    organisation: str = Field(default="", max_length=200)
    hours: int | None = Field(default=None, ge=1, le=1000)


class InterviewIn(Strict):
    interview_at: UtcDateTime
    notes: str = Field(default="", max_length=10000)


class BlocOut(BaseModel):
    code: str
    title: str


class Livret2Out(BaseModel):
    original_name: str
    size: int
    sha256: str
    deposited_at: UtcDateTime
    url: str


class VaeSummary(CandidateDossierOut):
    structure_id: int
    structure_name: str
    recevabilite_due_on: date
    waiting_for: str | None


class VaeOut(VaeSummary):
    progress: ProgressOut = Field(description="Travail du moteur encore dû sur ce dossier")
    requested_blocs: list[BlocOut]
    experience: str
    filed_at: UtcDateTime
    decision_reason: str | None
    decided_at: UtcDateTime | None
    livret2_due_on: date | None
    accompanist_name: str | None
    accompanist_organisation: str | None
    accompaniment_hours: int | None
    livret2: Livret2Out | None
    interview_at: UtcDateTime | None
    interview_session_id: int | None
    interview_notes: str | None
    documents: list[DocumentOut]
    allowed_actions: list[str]
