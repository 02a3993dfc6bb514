"""Bodies of the appeals' (recours) endpoints: filing, the officer's decision, the appeal read."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from api.certification_schemas import BlocResult, CandidateDossierOut
from api.dossier import ProgressOut
from api.schemas import DocumentOut, Strict
from api.types import UtcDateTime


class AppealIn(Strict):
    candidate_id: int
    session_id: int
    grounds: str = Field(min_length=1, max_length=20000)


class UpholdIn(Strict):
    results: dict[str, BlocResult] = Field(min_length=1, max_length=20,
                                           description="Nouveaux résultats des blocs évalués")
    reason: str = Field(min_length=1, max_length=10000)


class AppealOut(CandidateDossierOut):
    progress: ProgressOut = Field(description="Travail du moteur encore dû sur ce dossier")
    session_id: int
    session_reference: str
    grounds: str
    decision_reason: str | None
    filed_at: UtcDateTime
    deadline: date | None = Field(description="Fin du délai de recours (2 mois après la notification)")
    documents: list[DocumentOut]
    allowed_actions: list[str]
