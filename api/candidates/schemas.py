"""Bodies of the candidates' endpoints: registration, evaluations with their evidence, the
candidate's dossier (blocs held, juries, allowed actions)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from api.certification_schemas import CertificationCode, Sex
from api.dossier import ProgressOut
from api.schemas import Strict
from api.types import Email, UtcDateTime


class CandidateIn(Strict):
    """Identity and contract of the candidate (salarié en parcours d'insertion)."""

    last_name: str = Field(min_length=1, max_length=100, examples=["N'Guessan"])
    first_names: str = Field(min_length=1, max_length=150, examples=["Aïssatou Marie"])
    birth_date: date
    birth_place: str = Field(default="", max_length=150, examples=["Saint-Étienne (42)"])
    sex: Sex = Field(default=None, description="M ou F : obligatoire pour déclarer le certifié à la Caisse "
                                                      "des Dépôts (sans lui, la déclaration est retenue)")
    email: Email | Literal[""] = ""
    contract_type: Literal["CDDI", "CDD", "CDI", "contrat aidé", "autre"]
    contract_start: date
    contract_end: date | None = None
    certification_code: CertificationCode
    blocs: list[str] | None = Field(default=None, max_length=20,
                                    description="Codes des blocs préparés (vide : tous ceux de l'agrément)")
    structure_id: int | None = Field(default=None, description="Structure (chargé·e de certification seulement)")
    pathway: Literal["formation", "vae"] = Field(
        default="formation", description="Voie d'accès : formation, ou validation des acquis de l'expérience (vae)")


class EvaluationIn(Strict):
    """The ``metadata`` part of a multipart evaluation (PDF evidence in the ``evidence`` field)."""

    bloc_code: str = Field(min_length=1, max_length=20)
    evaluated_on: date
    result: Literal["acquis", "en_cours", "non_acquis"]
    evaluator_name: str = Field(min_length=1, max_length=200)
    comment: str = Field(default="", max_length=10000)


class EvidenceFileOut(BaseModel):
    index: int
    original_name: str
    content_type: str
    size: int
    sha256: str
    url: str


class EvaluationOut(BaseModel):
    id: int
    bloc_code: str
    evaluated_on: date
    result: str
    result_label: str
    evaluator_name: str
    comment: str
    files: list[EvidenceFileOut]
    created_at: UtcDateTime


class HeldBlocOut(BaseModel):
    bloc_code: str
    title: str
    acquired_on: date
    valid_until: date = Field(description="Acquis conservé 5 ans")
    session_id: int


class CandidateJuryOut(BaseModel):
    session_id: int
    session_reference: str
    scheduled_at: UtcDateTime
    blocs: list[str]
    outcome: str | None
    outcome_label: str | None


class CandidateSummary(BaseModel):
    id: int
    reference: str
    state: str
    state_label: str
    last_name: str
    first_names: str
    birth_date: date
    structure_id: int
    structure_name: str
    certification_code: str
    registered_at: UtcDateTime
    pathway: str = Field(description="Voie d'accès : formation ou vae")


class CandidateOut(CandidateSummary):
    progress: ProgressOut = Field(description="Travail du moteur encore dû sur ce dossier")
    vae_dossier_id: int | None = Field(default=None, description="Dossier de VAE (candidat inscrit en VAE)")
    birth_place: str
    sex: str | None
    email: str
    contract_type: str
    contract_start: date
    contract_end: date | None
    certification_title: str
    certification_version: str | None = Field(description="Version du référentiel en vigueur à l'inscription")
    agrement_id: int
    agrement_number: str
    blocs: list[str]
    evaluations: list[EvaluationOut]
    held_blocs: list[HeldBlocOut]
    missing_blocs: list[str] = Field(description="Blocs préparés et pas encore détenus (à présenter au jury)")
    juries: list[CandidateJuryOut]
    timeline_url: str
    allowed_actions: list[str]
