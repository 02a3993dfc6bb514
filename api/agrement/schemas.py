"""Bodies of the agrément endpoints: the requests (submission, instruction, decision, their
pieces) and the agréments granted (renewal). The shared bodies (comment, reason, document, event)
are in :mod:`api.schemas`."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from api.dossier import ProgressOut
from api.schemas import DocumentOut, Strict
from api.types import Email, UtcDateTime


class StructureIn(Strict):
    siret: str = Field(max_length=20, examples=["73282932000074"])
    name: str = Field(min_length=1, max_length=200, examples=["Les Jardins de l'Étang"])
    region: str = Field(default="", max_length=100, examples=["Auvergne-Rhône-Alpes"])
    address: str = Field(default="", max_length=400)
    email: Email | Literal[""] = ""


class SubmissionIn(Strict):
    """The ``metadata`` part of a multipart submission."""

    structure: StructureIn
    certification_code: Literal["CQP_SP", "CQP_EPSP"]
    scope: list[str] = Field(default_factory=list, max_length=20, description="Codes des blocs (vide : tous)")
    motivation: str = Field(default="", max_length=10000)
    previous_agrement_id: int | None = None


class ComplementsIn(Strict):
    comment: str = Field(default="", max_length=10000)


class ComplementsRequestIn(Strict):
    message: str = Field(min_length=1, max_length=10000)
    deadline_days: int | None = Field(default=None, ge=1, le=180)


class AvisIn(Strict):
    avis: Literal["favorable", "defavorable"]
    comment: str = Field(default="", max_length=10000)


class DecisionIn(Strict):
    decision: Literal["grant", "refuse"]
    reason: str = Field(default="", max_length=10000)
    start_date: date | None = None
    end_date: date | None = None
    scope: list[str] | None = Field(default=None, max_length=20)


class PieceOut(BaseModel):
    id: int
    kind: str
    original_name: str
    content_type: str
    size: int
    sha256: str
    round: int
    uploaded_at: UtcDateTime


class AgrementOut(BaseModel):
    id: int
    number: str
    state: str
    state_label: str
    structure_id: int
    certification_code: str
    start_date: date
    end_date: date
    scope: list[str]


class AgrementDetailOut(AgrementOut):
    progress: ProgressOut = Field(description="Travail du moteur encore dû sur ce dossier")
    structure_name: str
    structure_siret: str
    certification_title: str
    request_id: int | None
    renews_agrement_id: int | None = Field(description="Agrément renouvelé par celui-ci")
    renewed_by_agrement_id: int | None = Field(description="Agrément qui renouvelle celui-ci")
    renewal_request_id: int | None = Field(description="Demande de renouvellement en cours")
    days_left: int = Field(description="Jours restants jusqu'à la date de fin (négatif : dépassée)")
    registration_allowed: bool = Field(description="La structure peut inscrire des candidats aujourd'hui")
    allowed_actions: list[str]


class RenewalIn(Strict):
    """The ``metadata`` part of a multipart renewal request (optional)."""

    motivation: str = Field(default="", max_length=10000)


class RequestSummary(BaseModel):
    id: int
    reference: str
    state: str
    state_label: str
    structure_name: str
    structure_siret: str
    certification_code: str
    submitted_at: UtcDateTime
    waiting_for: str | None


class RequestOut(RequestSummary):
    progress: ProgressOut = Field(description="Travail du moteur encore dû sur ce dossier")
    kind: str
    round: int
    mandataire_id: int
    mandataire_name: str
    structure_region: str
    scope: list[str]
    motivation: str
    last_submitted_at: UtcDateTime
    complement_request: str | None
    complements_deadline: date | None
    avis: str | None
    avis_comment: str | None
    avis_deadline: date | None
    decision_reason: str | None
    decided_at: UtcDateTime | None
    agrement: AgrementOut | None
    pieces: list[PieceOut]
    documents: list[DocumentOut]
    allowed_actions: list[str]
