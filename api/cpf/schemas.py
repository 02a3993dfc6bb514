"""Bodies of the SI CPF export endpoints (``/exports/cpf``)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from api.schemas import Strict
from api.types import UtcDateTime


class CpfExportIn(Strict):
    certification_code: Literal["CQP_SP", "CQP_EPSP"]


class CpfDepositIn(Strict):
    deposited_on: date = Field(description="Jour du dépôt du fichier sur la plateforme de la Caisse des Dépôts")


class CpfBatchOut(BaseModel):
    id: int
    reference: str = Field(description="Identifiant du flux (idFlux)")
    certification_code: str
    registry_type: str = Field(description="RNCP ou RS")
    registry_code: str
    state: str = Field(description="generated | report_imported")
    record_count: int
    resent_count: int = Field(description="Dont enregistrements retransmis après rejet")
    filename: str
    sha256: str
    size: int
    created_at: UtcDateTime
    deposited_on: date | None = Field(description="Jour du dépôt sur la plateforme, tel que déclaré par le "
                                                  "chargé·e (null : non déclaré)")
    report_imported_at: UtcDateTime | None
    report_filename: str | None
    accepted_count: int
    rejected_count: int
    file_url: str


class CpfItemOut(BaseModel):
    record_id: int
    technical_id: str
    resend: bool
    outcome: str | None
    message: str | None
    reported_at: UtcDateTime | None


class CpfBatchDetailOut(CpfBatchOut):
    items: list[CpfItemOut]


class CpfExportResultOut(BaseModel):
    batch: CpfBatchOut | None
    message: str


class CpfRecordOut(BaseModel):
    id: int
    technical_id: str = Field(description="Numéro du certificat (idTechnique)")
    certificate_id: int
    certification_code: str
    state: str
    state_label: str
    issued_on: date
    due_on: date = Field(description="Date limite de transmission (3 mois après la délivrance)")
    overdue: bool
    sent_count: int
    last_sent_at: UtcDateTime | None
    last_batch_reference: str | None
    accepted_at: UtcDateTime | None
    rejected_at: UtcDateTime | None
    error_message: str | None
    resend_requested: bool
    held_reason: str | None = Field(description="Retenu faute de données du titulaire (sexe, date de naissance…) : "
                                                "ce qu'il faut corriger ; transmis au lot suivant une fois corrigé")
    held_since: UtcDateTime | None


class CpfReportOut(BaseModel):
    batch: CpfBatchOut
    accepted: list[str]
    rejected: list[str]
    unchanged: list[str]
    superseded: list[str] = Field(description="Retransmis depuis dans un lot plus récent : statut inchangé")
    ignored: list[str] = Field(description="Contredit un résultat définitif déjà enregistré")
    unknown: list[str] = Field(description="Absents de ce lot")
