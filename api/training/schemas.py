"""Bodies of the EPSP training and appui pédagogique endpoints."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from api.dossier import ProgressOut
from api.schemas import DocumentOut, Strict
from api.types import Email, UtcDateTime

# --- EPSP training -------------------------------------------------------------------------


class TrainingSessionIn(Strict):
    days: list[date] = Field(min_length=1, max_length=15, description="Journées de formation (AAAA-MM-JJ)")
    place: str = Field(min_length=1, max_length=300)
    formateur_id: int | None = Field(default=None, description="Obligatoire pour un·e chargé·e ; un formateur "
                                                               "programme ses propres sessions")
    title: str = Field(default="", max_length=200)
    hours: str = Field(default="", max_length=100, examples=["9 h – 12 h 30, 13 h 30 – 17 h"])
    hours_per_day: int = Field(default=7, ge=1, le=10)
    capacity: int = Field(default=12, ge=1, le=50)
    notes: str = Field(default="", max_length=5000)


class RescheduleIn(Strict):
    days: list[date] = Field(min_length=1, max_length=15)
    place: str = Field(min_length=1, max_length=300)
    hours: str | None = Field(default=None, max_length=100)
    notes: str | None = Field(default=None, max_length=5000)


class EnrollmentIn(Strict):
    structure_id: int
    last_name: str = Field(min_length=1, max_length=100)
    first_names: str = Field(min_length=1, max_length=150)
    email: Email


class AttendanceIn(Strict):
    day: date
    present: dict[int, bool] = Field(min_length=1, max_length=100,
                                     description="Identifiant d'inscription -> présent (true) ou absent (false)",
                                     json_schema_extra={"propertyNames": {"pattern": "^[0-9]{1,9}$"}})


class OutcomeIn(Strict):
    completed: bool
    reason: str = Field(default="", max_length=5000, description="Obligatoire si la formation n'est pas achevée")


class AttendanceOut(BaseModel):
    day: date
    present: bool | None


class EnrollmentOut(BaseModel):
    id: int
    encadrant_id: int
    structure_id: int
    structure_name: str
    last_name: str
    first_names: str
    email: str
    state: str
    state_label: str
    attendance: list[AttendanceOut]
    outcome_reason: str | None
    completed_at: UtcDateTime | None
    attestation_number: str | None
    attestation: DocumentOut | None
    allowed_actions: list[str]


class TrainingSessionSummary(BaseModel):
    id: int
    reference: str
    title: str
    state: str
    state_label: str
    formateur_id: int
    formateur_name: str
    days: list[date]
    start_date: date
    end_date: date
    place: str
    capacity: int
    enrolled: int
    waiting_for: str | None


class TrainingSessionOut(TrainingSessionSummary):
    progress: ProgressOut = Field(description="Travail du moteur encore dû sur ce dossier")
    hours: str
    hours_per_day: int
    notes: str | None
    cancel_reason: str | None
    closed_at: UtcDateTime | None
    enrollments: list[EnrollmentOut]
    allowed_actions: list[str]


class EncadrantOut(BaseModel):
    id: int
    structure_id: int
    structure_name: str
    last_name: str
    first_names: str
    email: str
    epsp_trained: bool
    epsp_trained_on: date | None
    epsp_enrollment_id: int | None


# --- appuis pédagogiques -------------------------------------------------------------------


class AppuiIn(Strict):
    subject: str = Field(min_length=1, max_length=200)
    need: str = Field(min_length=1, max_length=10000)
    structure_id: int | None = Field(default=None, description="Obligatoire pour un·e chargé·e ; une structure "
                                                               "demande pour elle-même")


class AppuiAssignIn(Strict):
    formateur_id: int


class AppuiReportIn(Strict):
    """The ``metadata`` part of the multipart compte rendu (optional PDF in the ``compte_rendu`` field)."""

    text: str = Field(min_length=1, max_length=20000)


class AppuiFileOut(BaseModel):
    original_name: str
    size: int
    sha256: str
    url: str


class AppuiSummary(BaseModel):
    id: int
    reference: str
    state: str
    state_label: str
    subject: str
    structure_id: int
    structure_name: str
    structure_region: str
    formateur_id: int | None
    formateur_name: str | None
    visit_at: UtcDateTime | None
    reported_at: UtcDateTime | None
    created_at: UtcDateTime
    waiting_for: str | None


class AppuiOut(AppuiSummary):
    progress: ProgressOut = Field(description="Travail du moteur encore dû sur ce dossier")
    need: str
    visit_end: UtcDateTime | None
    visit_place: str | None
    visit_notes: str | None
    report_text: str | None
    report_file: AppuiFileOut | None
    cancel_reason: str | None
    allowed_actions: list[str]
