"""What the officers may read of the SI CPF export (nobody else may): the records and where
their declaration stands (brought up to date first), those that need attention, the batches,
their items and audit trail, and the batches still awaiting their processing report."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TypeVar

from sqlmodel import Session, select

from certification.audit import Actor, timeline
from certification.clock import today
from certification.cpf.models import CpfBatchItem, CpfExportBatch, CpfRecord
from certification.cpf.records import refresh_holds, sync_records
from certification.cpf.states import (
    AWAITING_REPORT_STATES,
    BATCH_ENTITY,
    BATCH_GENERATED,
    OWED_STATES,
    UNDECLARED_STATES,
    CpfState,
)
from certification.errors import Forbidden, NotFound, ValidationFailed
from certification.models import AuditEvent, Role
from certification.services.referential import get_certification
from certification.settings import get_settings

_Row = TypeVar("_Row", CpfRecord, CpfExportBatch)


def officer_only(actor: Actor) -> None:
    """The SI CPF export is the certifier's (the officers and the system) alone."""
    if actor.role not in (Role.officer, Role.system):
        raise Forbidden("Les exports vers la Caisse des Dépôts sont réservés au certificateur.",
                        code="role_not_allowed")


def list_records(db: Session, actor: Actor, *, certification_code: str | None = None,
                 state: str | None = None, overdue: bool = False, held: bool | None = None,
                 on: date | None = None) -> list[CpfRecord]:
    """Records (created for any certificate not followed yet, holds brought up to date), optionally
    only the overdue ones: not declared yet (pending, rejected, or sent and awaiting the processing
    report) after their due date (3 months after issue); ``held``: only those held back (True) or
    not (False)."""
    officer_only(actor)
    cert_id = get_certification(db, certification_code).id if certification_code else None
    sync_records(db, cert_id)
    refresh_holds(db, cert_id)
    query = select(CpfRecord).order_by(CpfRecord.due_on, CpfRecord.technical_id)
    if held is not None:
        query = query.where(CpfRecord.held_reason.is_not(None) if held else CpfRecord.held_reason.is_(None))
    if cert_id is not None:
        query = query.where(CpfRecord.certification_id == cert_id)
    if state:
        if state not in CpfState.__members__:
            raise ValidationFailed(f"État inconnu : {state}.", code="unknown_state")
        query = query.where(CpfRecord.state == state)
    if overdue:
        query = query.where(CpfRecord.state.in_([s.value for s in UNDECLARED_STATES]),
                            CpfRecord.due_on < (on or today()))
    return list(db.exec(query))


def overdue_records(db: Session, actor: Actor, *, certification_code: str | None = None,
                    on: date | None = None) -> list[CpfRecord]:
    return list_records(db, actor, certification_code=certification_code, overdue=True, on=on)


def attention_records(db: Session, actor: Actor, certification_code: str, *, on: date | None = None,
                      days_before: int | None = None) -> list[CpfRecord]:
    """What the officers must hear of: records still owed (pending or rejected) that are overdue or
    due within ``days_before`` days, every record held back for missing data, and the records sent
    whose batch has no imported report once they are overdue (before that, the batch's own
    reminders follow them: :func:`report_reminder_step`)."""
    on = on or today()
    days = get_settings().cpf_alert_days_before if days_before is None else days_before
    horizon = on + timedelta(days=days)
    return [r for r in list_records(db, actor, certification_code=certification_code)
            if (CpfState(r.state) in OWED_STATES and (r.due_on <= horizon or r.held_reason))
            or (CpfState(r.state) in AWAITING_REPORT_STATES and r.due_on < on)]


def _officer_get(db: Session, actor: Actor, model: type[_Row], row_id: int, missing: str, code: str) -> _Row:
    """The row ``row_id`` of ``model`` for an officer (404 ``code`` with ``missing`` when absent)."""
    officer_only(actor)
    row = db.get(model, row_id)
    if row is None:
        raise NotFound(missing, code=code)
    return row


def get_record(db: Session, actor: Actor, record_id: int) -> CpfRecord:
    return _officer_get(db, actor, CpfRecord, record_id, "Enregistrement introuvable.", "cpf_record_not_found")


def list_batches(db: Session, actor: Actor, *, certification_code: str | None = None) -> list[CpfExportBatch]:
    officer_only(actor)
    query = select(CpfExportBatch).order_by(CpfExportBatch.id.desc())
    if certification_code:
        query = query.where(CpfExportBatch.certification_id == get_certification(db, certification_code).id)
    return list(db.exec(query))


def get_batch(db: Session, actor: Actor, batch_id: int) -> CpfExportBatch:
    return _officer_get(db, actor, CpfExportBatch, batch_id, "Lot d'export introuvable.", "cpf_batch_not_found")


def batch_timeline(db: Session, actor: Actor, batch_id: int) -> list[AuditEvent]:
    """Generation, declared deposit, reminders, imported reports of a batch (its audit trail)."""
    return timeline(db, BATCH_ENTITY, get_batch(db, actor, batch_id).id)


def items_of(db: Session, batch_id: int) -> list[CpfBatchItem]:
    return list(db.exec(select(CpfBatchItem).where(CpfBatchItem.batch_id == batch_id)
                             .order_by(CpfBatchItem.technical_id)))


def batches_awaiting_report(db: Session, actor: Actor, certification_id: int) -> list[CpfExportBatch]:
    officer_only(actor)
    return list(db.exec(select(CpfExportBatch).where(
        CpfExportBatch.certification_id == certification_id, CpfExportBatch.state == BATCH_GENERATED,
    ).order_by(CpfExportBatch.id)))


def awaiting_records(db: Session, batch: CpfExportBatch) -> list[CpfRecord]:
    """The records whose last flux is ``batch`` and that wait for its report, earliest due first."""
    return list(db.exec(select(CpfRecord).where(
        CpfRecord.last_batch_id == batch.id, CpfRecord.state.in_([s.value for s in AWAITING_REPORT_STATES]),
    ).order_by(CpfRecord.due_on, CpfRecord.technical_id)))
