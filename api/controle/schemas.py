"""Bodies of the contrôle endpoints (the visit, shared with the appuis, is in :mod:`api.schemas`)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from api.dossier import ProgressOut
from api.schemas import DocumentOut, Strict
from api.types import UtcDateTime


class ControlePlanIn(Strict):
    agrement_id: int
    reason: str = Field(min_length=1, max_length=5000)


class SampleIn(Strict):
    count: int = Field(ge=1, le=500)
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1)


class AssignIn(Strict):
    controleur_id: int



class FindingIn(Strict):
    criterion: str = Field(min_length=1, max_length=500)
    status: Literal["conforme", "non_conforme", "observation"]
    comment: str = Field(default="", max_length=5000)


class ReportIn(Strict):
    """The ``metadata`` part of the multipart report (PDF in the ``rapport`` field)."""

    findings: list[FindingIn] = Field(min_length=1, max_length=100)
    summary: str = Field(min_length=1, max_length=20000)


class ControleDecisionIn(Strict):
    decision: Literal["compliant", "action_plan", "suspension", "withdrawal"]
    reason: str = Field(default="", max_length=10000)
    action_plan_items: str = Field(default="", max_length=10000)
    action_plan_deadline: date | None = None


class EvidenceIn(Strict):
    comment: str = Field(default="", max_length=5000)



class ControleFileOut(BaseModel):
    id: int
    kind: str
    original_name: str
    size: int
    sha256: str
    uploaded_at: UtcDateTime


class ControleSummary(BaseModel):
    id: int
    reference: str
    kind: str
    state: str
    state_label: str
    agrement_id: int
    agrement_number: str
    structure_id: int
    structure_name: str
    controleur_id: int | None
    controleur_name: str | None
    visit_at: UtcDateTime | None
    action_plan_deadline: date | None
    waiting_for: str | None


class ControleOut(ControleSummary):
    progress: ProgressOut = Field(description="Travail du moteur encore dû sur ce dossier")
    reason: str | None
    visit_end: UtcDateTime | None
    visit_place: str | None
    visit_notes: str | None
    findings: list[dict]
    report_summary: str | None
    report_submitted_at: UtcDateTime | None
    decision: str | None
    decision_reason: str | None
    action_plan_items: str | None
    files: list[ControleFileOut]
    documents: list[DocumentOut]
    allowed_actions: list[str]
