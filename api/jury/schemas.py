"""Bodies of the jury session and certificate endpoints."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from api.certification_schemas import BlocResult, CertificationCode, Sex
from api.dossier import ProgressOut
from api.schemas import DocumentOut, EventOut, Strict
from api.types import UtcDateTime


# --- jury sessions ---------------------------------------------------------------------------


class JuryPlanIn(Strict):
    certification_code: CertificationCode
    scheduled_at: UtcDateTime = Field(description="Date et heure avec fuseau, ex. 2027-03-02T09:00:00+01:00")
    place: str | None = Field(default=None, max_length=300)
    video_link: str | None = Field(default=None, max_length=500, description="Lien https:// de visioconférence")
    quorum: int = Field(default=3, ge=3, le=20)
    duration_minutes: int = Field(default=240, ge=30, le=720)


class MemberIn(Strict):
    user_id: int
    college: Literal["employeur", "salarie"]
    is_president: bool = False


class JuryCandidatesIn(Strict):
    candidate_ids: list[int] = Field(min_length=1, max_length=200)


class AttendanceIn(Strict):
    present: dict[int, bool] = Field(min_length=1, description="Présence de chaque membre : {user_id: true|false}",
                                     json_schema_extra={"propertyNames": {"pattern": "^[0-9]{1,9}$"}})


class ResultsIn(Strict):
    candidate_id: int
    results: dict[str, BlocResult] = Field(min_length=1, max_length=20,
                                           description="Résultat par bloc évalué : {\"SP-B1\": \"validated\"}")
    comment: str = Field(default="", max_length=10000)


class JuryMemberOut(BaseModel):
    user_id: int
    full_name: str
    college: str
    college_label: str
    is_president: bool
    present: bool | None


class JuryCandidateOut(BaseModel):
    candidate_id: int
    reference: str
    last_name: str
    first_names: str
    structure_id: int
    structure_name: str
    blocs: list[str] = Field(description="Blocs évalués à cette session (ceux qui n'étaient pas encore acquis)")
    results: dict[str, str] = Field(description="Résultats enregistrés par bloc")
    outcome: str | None
    outcome_label: str | None
    certification_version: str | None = Field(
        default=None, description="Version du référentiel du candidat (celle en vigueur à son inscription)")
    bloc_titles: dict[str, str] = Field(
        default_factory=dict, description="Intitulés des blocs du candidat, dans sa version du référentiel")


class JurySummary(BaseModel):
    id: int
    reference: str
    state: str
    state_label: str
    certification_code: str
    scheduled_at: UtcDateTime
    duration_minutes: int
    place: str | None
    video_link: str | None
    quorum: int
    members_count: int
    candidates_count: int
    flag_reason: str | None


class JuryOut(JurySummary):
    progress: ProgressOut = Field(description="Travail du moteur encore dû sur ce dossier")
    certification_title: str
    pv_version: int
    pv_signed_at: UtcDateTime | None
    results_notified_at: UtcDateTime | None
    members: list[JuryMemberOut]
    candidates: list[JuryCandidateOut]
    composition_problems: list[str] = Field(description="Ce qui empêche de délibérer (président, collèges, quorum…)")
    missing_results: list[str] = Field(description="Candidats dont un résultat manque")
    documents: list[DocumentOut]
    allowed_actions: list[str]


# --- certificates ----------------------------------------------------------------------------


class CorrectionIn(Strict):
    reason: str = Field(min_length=1, max_length=10000)
    last_name: str | None = Field(default=None, max_length=100)
    first_names: str | None = Field(default=None, max_length=150)
    birth_date: date | None = None
    sex: Sex = Field(default=None, description="M ou F (déclaré à la Caisse des Dépôts, non imprimé : "
                                                      "pas de nouvelle version du document)")


class CertificateSummary(BaseModel):
    id: int
    number: str
    kind: str
    kind_label: str
    state: str
    state_label: str
    certification_code: str
    candidate_id: int
    candidate_reference: str
    session_id: int
    session_reference: str
    holder_last_name: str
    holder_first_names: str
    holder_birth_date: date
    holder_sex: str | None
    issued_on: date
    version: int
    blocs: list[str]


class CertificateOut(CertificateSummary):
    progress: ProgressOut = Field(description="Travail du moteur encore dû sur ce dossier")
    revoked_at: UtcDateTime | None
    revoked_reason: str | None
    verification_url: str
    documents: list[DocumentOut]
    history: list[EventOut]
    allowed_actions: list[str]
