"""Exports of certified holders to the Caisse des Dépôts (SI CPF « accrochage ») (officers).

``POST /exports/cpf`` writes the next XML flux of a certification (nothing when nothing is
owed); the officer deposits the file on the Caisse des Dépôts portal (and may say on which day:
``POST /exports/cpf/{id}/deposit``), then uploads the processing report (compte rendu, XML or CSV)
with ``POST /exports/cpf/{id}/report``: accepted records are final, rejected ones go in the next
flux once corrected. Until then the records are not declared (overdue past their due date).
"""

from __future__ import annotations

from datetime import date
from typing import Literal

import anyio
from fastapi import APIRouter, Depends, File, Query, UploadFile
from fastapi.responses import JSONResponse
from sqlmodel import Session, select

from api.contract import binary
from api.cpf.schemas import (
    CpfBatchDetailOut,
    CpfBatchOut,
    CpfDepositIn,
    CpfExportIn,
    CpfExportResultOut,
    CpfItemOut,
    CpfRecordOut,
    CpfReportOut,
)
from api.deps import Principal, require
from api.errors import PayloadTooLarge
from api.flow_helpers import cpf as cpf_flow
from api.pagination import Page, Pager, in_range, since_query, until_query
from api.schemas import EventOut, ReasonIn, timeline_page
from api.uploads import file_response
from certification.clock import today
from certification.cpf import queries, service
from certification.cpf.models import CpfExportBatch, CpfRecord
from certification.cpf.states import CPF_STATE_LABELS, CpfState, is_overdue
from certification.db import session_scope
from certification.errors import NotFound
from certification.models import Certification, Role
from certification.settings import get_settings

router = APIRouter(prefix="/exports/cpf", tags=["export Caisse des Dépôts (SI CPF)"])
OFFICER = require(Role.officer)
REPORT_MAX_BYTES = 20 * 1024 * 1024


def _codes(db: Session) -> dict[int, str]:
    return {c.id: c.code for c in db.exec(select(Certification))}


def batch_out(db: Session, batch: CpfExportBatch) -> CpfBatchOut:
    return CpfBatchOut(
        id=batch.id, reference=batch.reference, certification_code=_codes(db)[batch.certification_id],
        registry_type=batch.registry_type, registry_code=batch.registry_code, state=batch.state,
        record_count=batch.record_count, resent_count=batch.resent_count, filename=batch.filename,
        sha256=batch.sha256, size=batch.size, created_at=batch.created_at, deposited_on=batch.deposited_on,
        report_imported_at=batch.report_imported_at, report_filename=batch.report_filename,
        accepted_count=batch.accepted_count, rejected_count=batch.rejected_count,
        file_url=f"{router.prefix}/{batch.id}/file",
    )


def records_out(db: Session, records: list[CpfRecord]) -> list[CpfRecordOut]:
    codes = _codes(db)
    batches = {}
    on = today()
    out = []
    for r in records:
        if r.last_batch_id and r.last_batch_id not in batches:
            batches[r.last_batch_id] = db.get(CpfExportBatch, r.last_batch_id).reference
        out.append(CpfRecordOut(
            id=r.id, technical_id=r.technical_id, certificate_id=r.certificate_id,
            certification_code=codes[r.certification_id], state=r.state, state_label=CPF_STATE_LABELS[r.state],
            issued_on=r.issued_on, due_on=r.due_on, overdue=is_overdue(r, on), sent_count=r.sent_count,
            last_sent_at=r.last_sent_at, last_batch_reference=batches.get(r.last_batch_id),
            accepted_at=r.accepted_at, rejected_at=r.rejected_at, error_message=r.error_message,
            resend_requested=r.resend_requested, held_reason=r.held_reason, held_since=r.held_since,
        ))
    return out


@router.post("", response_model=CpfExportResultOut, status_code=201,
             responses={200: {"model": CpfExportResultOut, "description": "Rien de nouveau à transmettre"}},
             summary="Générer le flux XML d'une certification (nouveaux certifiés, rejets corrigés) (chargé·e)")
async def export(body: CpfExportIn, principal: Principal = Depends(OFFICER)):
    summary = await anyio.to_thread.run_sync(cpf_flow().export_once, body.certification_code, principal.actor)
    with session_scope() as db:
        held = len(queries.list_records(db, principal.actor, certification_code=body.certification_code, held=True))
        note = (f" {held} enregistrement(s) retenu(s) faute de données du titulaire : voir "
                f"{router.prefix}/records?held=true" if held else "")
        if summary is None:
            nothing = "Rien de nouveau à transmettre : aucun flux n'a été généré."
            out = CpfExportResultOut(batch=None, message=nothing + note)
            return JSONResponse(out.model_dump(mode="json"), status_code=200)
        batch = db.get(CpfExportBatch, summary["id"])
        out = CpfExportResultOut(batch=batch_out(db, batch),
                                 message=f"Flux {batch.reference} généré : {batch.record_count} enregistrement(s)."
                                 + note)
    return JSONResponse(out.model_dump(mode="json"), status_code=201)


@router.get("", response_model=Page[CpfBatchOut], summary="Lister les lots d'export (chargé·e ; paginé)")
def list_batches(pager: Pager = Depends(),
                 certification_code: Literal["CQP_SP", "CQP_EPSP"] | None = Query(default=None),
                 since: date | None = since_query("Lots générés"),
                 until: date | None = until_query("Lots générés"),
                 principal: Principal = Depends(OFFICER)):
    with session_scope() as db:
        return pager.page(queries.list_batches(db, principal.actor, certification_code=certification_code),
                          lambda b: batch_out(db, b), text=lambda b: (b.reference,),
                          where=lambda b: in_range(b.created_at, since, until))


@router.get("/records", response_model=Page[CpfRecordOut],
            summary="Suivi par certifié : état de la transmission, échéance (3 mois), rejets (chargé·e ; paginé)")
def list_records(
    pager: Pager = Depends(),
    certification_code: Literal["CQP_SP", "CQP_EPSP"] | None = Query(default=None),
    state: CpfState | None = Query(default=None),
    overdue: bool = Query(default=False, description="Seulement ceux non déclarés après l'échéance : à transmettre, "
                                                     "rejetés, ou transmis sans compte rendu importé"),
    held: bool | None = Query(default=None, description="true : seulement ceux retenus faute de données du "
                                                        "titulaire (avec le motif) ; false : les autres"),
    since: date | None = since_query("Certifiés délivrés"),
    until: date | None = until_query("Certifiés délivrés"),
    principal: Principal = Depends(OFFICER),
):
    with session_scope() as db:
        rows = queries.list_records(db, principal.actor, certification_code=certification_code, state=state,
                                overdue=overdue, held=held)
        return pager.page(rows, lambda r: records_out(db, [r])[0], text=lambda r: (r.technical_id,),
                          where=lambda r: in_range(r.issued_on, since, until))


@router.get("/overdue", response_model=Page[CpfRecordOut],
            summary="Certifiés non déclarés avec succès 3 mois après la délivrance (chargé·e ; paginé)")
def overdue(pager: Pager = Depends(), certification_code: Literal["CQP_SP", "CQP_EPSP"] | None = Query(default=None),
            principal: Principal = Depends(OFFICER)):
    with session_scope() as db:
        return pager.page(queries.overdue_records(db, principal.actor, certification_code=certification_code),
                          lambda r: records_out(db, [r])[0], text=lambda r: (r.technical_id,))


@router.post("/records/{record_id}/resend", response_model=CpfRecordOut,
             summary="Retransmettre un enregistrement rejeté sans modification (chargé·e, motif)")
def resend(record_id: int, body: ReasonIn, principal: Principal = Depends(OFFICER)):
    with session_scope() as db:
        record = service.request_resend(db, principal.actor, record_id, body.reason)
        return records_out(db, [record])[0]


@router.get("/{batch_id}", response_model=CpfBatchDetailOut, summary="Consulter un lot et ses enregistrements")
def read(batch_id: int, principal: Principal = Depends(OFFICER)):
    with session_scope() as db:
        batch = queries.get_batch(db, principal.actor, batch_id)
        return CpfBatchDetailOut(
            **batch_out(db, batch).model_dump(),
            items=[CpfItemOut(record_id=i.record_id, technical_id=i.technical_id, resend=i.resend, outcome=i.outcome,
                              message=i.message, reported_at=i.reported_at) for i in queries.items_of(db, batch.id)],
        )


@router.get("/{batch_id}/timeline", response_model=Page[EventOut],
            summary="Historique du lot : génération, dépôt déclaré, rappels, compte rendu (chargé·e ; paginé)")
def read_timeline(batch_id: int, pager: Pager = Depends(), principal: Principal = Depends(OFFICER)):
    with session_scope() as db:
        return timeline_page(pager, queries.batch_timeline(db, principal.actor, batch_id))


@router.post("/{batch_id}/deposit", response_model=CpfBatchOut,
             summary="Déclarer le jour du dépôt du fichier sur la plateforme de la Caisse des Dépôts (chargé·e)")
def declare_deposit(batch_id: int, body: CpfDepositIn, principal: Principal = Depends(OFFICER)):
    with session_scope() as db:
        return batch_out(db, service.declare_deposit(db, principal.actor, batch_id, body.deposited_on))


@router.get("/{batch_id}/file", summary="Télécharger le flux XML du lot (à déposer sur le portail)",
            responses=binary("application/xml"))
def download(batch_id: int, principal: Principal = Depends(OFFICER)):
    with session_scope() as db:
        batch = queries.get_batch(db, principal.actor, batch_id)
    path = get_settings().data_dir / batch.relative_path
    if not path.is_file():
        raise NotFound("Fichier du lot introuvable sur le stockage.", code="file_missing")
    return file_response(path, batch.filename, "application/xml")


@router.post("/{batch_id}/report", response_model=CpfReportOut,
             summary="Importer le compte rendu de traitement (XML ou CSV) du lot (chargé·e)")
async def import_report(batch_id: int, report: UploadFile = File(description="Compte rendu (XML ou CSV)"),
                        principal: Principal = Depends(OFFICER)):
    data = await report.read(REPORT_MAX_BYTES + 1)
    if len(data) > REPORT_MAX_BYTES:
        raise PayloadTooLarge(f"Compte rendu trop volumineux (au plus {REPORT_MAX_BYTES // 1024 // 1024} Mo).")
    outcome = await anyio.to_thread.run_sync(
        cpf_flow().import_report_once, batch_id, data, report.filename or "", principal.actor)
    with session_scope() as db:
        batch = db.get(CpfExportBatch, batch_id)
        return CpfReportOut(batch=batch_out(db, batch),
                            **{k: v for k, v in outcome.items() if k != "batch_id"})
