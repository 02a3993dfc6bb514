"""Export of certified holders to the Caisse des Dépôts (SI CPF accrochage), one XML flux per batch.

A run takes what is owed for one certification (new certificates, rejected records corrected
since), records the batch and writes its XML under ``<data_dir>/exports/cpf/<code>/`` in the same
transaction: the file is written (atomically) before the commit, so a batch on record always has
its file, and a failed commit leaves at most a file whose reference is reused (and the file
overwritten) by the next run. A run with nothing new writes nothing. Two runs at once cannot
send a record twice (compare-and-set on each record).

The processing report (compte rendu) imported by the officer is kept beside the batch file.

``cpf-export-all`` (scheduled by ``cqp serve-flows``, run periodically by ``cqp run``) exports every
certification with an RNCP/RS code, then alerts the officers once (outbox, dedupe key) of what is
still owed near or past its due date, held back for missing data, sent but still without report
past its due date, or of an export that failed; and reminds them of each batch whose processing
report is not imported ``CQP_CPF_REPORT_REMINDER_DAYS`` days after it was produced (then twice
that), once per batch and step.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from datetime import date, timedelta
from typing import Any

import anyio
from prefect import flow, get_run_logger, task
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from certification.audit import SYSTEM, Actor
from certification.clock import today
from certification.db import session_scope
from certification.errors import Conflict, DomainError
from certification.cpf import queries, service
from certification.cpf.models import CpfExportBatch
from certification.cpf.report import parse_report
from certification.cpf.states import (
    AWAITING_REPORT_STATES,
    BATCH_ENTITY,
    CPF_STATE_LABELS,
    REPORT_REMINDER_STEPS,
    paris_today,
    produced_on,
    report_reminder_step,
)
from certification.models import Certification
from certification.jury.models import Certificate
from certification.services.referential import get_certification, parse_registry_code
from certification.settings import get_settings
from documents.storage import write_generated
from flows.common import deliver_task
from flows.context import certification_fields
from flows.effects import Effects


def batch_summary(batch: CpfExportBatch, certification_code: str) -> dict[str, Any]:
    return {
        "id": batch.id,
        "reference": batch.reference,
        "certification_code": certification_code,
        "registry_type": batch.registry_type,
        "registry_code": batch.registry_code,
        "state": batch.state,
        "record_count": batch.record_count,
        "resent_count": batch.resent_count,
        "filename": batch.filename,
        "relative_path": batch.relative_path,
        "sha256": batch.sha256,
        "size": batch.size,
        "created_at": batch.created_at,
    }


def export_once(certification_code: str, actor: Actor = SYSTEM, engine: Engine | None = None) -> dict | None:
    """Record and write the next batch of ``certification_code``; None when nothing is owed."""
    data_dir = get_settings().data_dir
    with session_scope(engine) as db:
        prepared = service.prepare_batch(db, actor, certification_code)
        if prepared is None:
            return None
        batch, data = prepared
        sha256, size = write_generated(data_dir, batch.relative_path, data)
        if (sha256, size) != (batch.sha256, batch.size):  # pragma: no cover - storage corrupted the file
            raise RuntimeError(f"batch file {batch.relative_path} was not written faithfully")
        return batch_summary(batch, certification_code)


def report_path(batch: CpfExportBatch, data: bytes) -> str:
    """Where a processing report of ``batch`` is kept (one file per distinct content)."""
    ext = "xml" if data.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"<") else "csv"
    folder = batch.relative_path.rsplit("/", 1)[0]
    return f"{folder}/{batch.reference}-compte-rendu-{hashlib.sha256(data).hexdigest()[:12]}.{ext}"


def import_report_once(batch_id: int, data: bytes, filename: str, actor: Actor, engine: Engine | None = None) -> dict:
    """Apply a processing report and keep its file beside the batch (same transaction)."""
    data_dir = get_settings().data_dir
    with session_scope(engine) as db:
        batch = queries.get_batch(db, actor, batch_id)
        parse_report(data)  # refuse an unreadable report before storing anything
        stored = report_path(batch, data)
        outcome = service.import_report(db, actor, batch_id, data, filename=filename, stored_path=stored)
        write_generated(data_dir, stored, data)
        return asdict(outcome)


def registered_certifications(engine: Engine | None = None) -> list[str]:
    """Codes of the certifications with an RNCP/RS code (those that must be declared)."""
    with session_scope(engine) as db:
        return [c.code for c in db.exec(select(Certification).order_by(Certification.code)) if c.registry_code.strip()]


# --- alerts to the officers -----------------------------------------------------------------------


def back_office_url() -> str:
    """Where the officers' e-mails about the SI CPF lead: the back-office (its inbox)."""
    return f"{get_settings().public_base_url}/app/"


def certification_context(cert: Certification) -> dict[str, Any]:
    parsed = parse_registry_code(cert.registry_code)
    return {**certification_fields(cert), "registry_code": parsed[1] if parsed else None}


def alert_rows(db: Session, records: list, on: date, horizon_days: int) -> list[dict[str, Any]]:
    certificates = (
        {c.id: c for c in db.exec(select(Certificate).where(Certificate.id.in_([r.certificate_id for r in records])))}
        if records
        else {}
    )
    batch_ids = {r.last_batch_id for r in records if r.state in AWAITING_REPORT_STATES}
    batches = (
        {b.id: b for b in db.exec(select(CpfExportBatch).where(CpfExportBatch.id.in_(batch_ids)))} if batch_ids else {}
    )
    rows = []
    for r in records:
        c = certificates[r.certificate_id]
        batch = batches.get(r.last_batch_id) if r.state in AWAITING_REPORT_STATES else None
        rows.append(
            {
                "technical_id": r.technical_id,
                "holder": f"{c.holder_first_names} {c.holder_last_name.upper()}",
                "issued_on": r.issued_on,
                "due_on": r.due_on,
                "days_left": (r.due_on - on).days,
                "overdue": r.due_on < on,
                "state_label": CPF_STATE_LABELS[r.state],
                "held_reason": r.held_reason,
                "error_message": r.error_message,
                "awaiting_report": batch is not None,
                "batch": batch.reference if batch else None,
                "batch_produced_on": produced_on(batch) if batch else None,
                "batch_deposited_on": batch.deposited_on if batch else None,
                "stage": "overdue" if r.due_on < on else "due_soon" if (r.due_on - on).days <= horizon_days else "held",
            }
        )
    return sorted(rows, key=lambda row: (row["due_on"], row["technical_id"]))


def alert_once(certification_code: str, export_error: str | None = None, engine: Engine | None = None) -> list[str]:
    """E-mail the officers' mailbox about the records of ``certification_code`` that need them
    (overdue or due within ``CQP_CPF_ALERT_DAYS_BEFORE`` days and still owed, or held back) and
    about a failed export, and about the records sent whose batch has no imported report once they
    are overdue (not declared yet). One e-mail per distinct situation: the same records at the same
    stage (held back, due soon, overdue) in the same state with the same reasons and error are never
    announced twice; a record that reaches the next stage is, with the others still owed."""
    settings = get_settings()
    on = today()
    with session_scope(engine) as db:
        cert = get_certification(db, certification_code)
        records = queries.attention_records(
            db, SYSTEM, certification_code, on=on, days_before=settings.cpf_alert_days_before
        )
        if not records and not export_error:
            return []
        rows = alert_rows(db, records, on, settings.cpf_alert_days_before)
        situation = [
            [r["technical_id"], r["stage"], r["state_label"], r["held_reason"] or "", r["error_message"] or ""]
            for r in rows
        ] + [export_error or ""]
        digest = hashlib.sha256(json.dumps(situation, ensure_ascii=False).encode()).hexdigest()[:16]
        context = {
            "cpf": {
                **certification_context(cert),
                "days_before": settings.cpf_alert_days_before,
                "overdue_count": sum(r["overdue"] for r in rows),
                "held_count": sum(bool(r["held_reason"]) for r in rows),
                "awaiting_count": sum(r["awaiting_report"] for r in rows),
                "owed_count": sum(not r["awaiting_report"] for r in rows),
                "export_error": export_error,
                "records": rows,
            },
            "action_url": back_office_url(),
        }
        fx = Effects(db, Certification.__tablename__, cert.id, cert.code)
        fx.mail(context, f"cpf-alert:{digest}", "cpf/alerte", [settings.officers_mailbox])
        return fx.mails


def remind_reports_once(certification_code: str, engine: Engine | None = None) -> list[str]:
    """Remind the officers' mailbox of each batch of ``certification_code`` whose processing report
    is not imported ``CQP_CPF_REPORT_REMINDER_DAYS`` days after it was produced, then twice that
    (one e-mail per batch and step, dedupe key ``cpf_export_batches:<id>:report-reminder-<step>``;
    after a long pause only the latest step is sent). None once the report is imported."""
    settings = get_settings()
    every = settings.cpf_report_reminder_days
    on = paris_today()
    sent = []
    with session_scope(engine) as db:
        cert = get_certification(db, certification_code)
        for batch in queries.batches_awaiting_report(db, SYSTEM, cert.id):
            step = report_reminder_step(batch, on, every)
            if not step:
                continue
            records = queries.awaiting_records(db, batch)
            produced = produced_on(batch)
            context = {
                "cpf": {
                    **certification_context(cert),
                    "batch_id": batch.id,
                    "reference": batch.reference,
                    "filename": batch.filename,
                    "relative_path": batch.relative_path,
                    "record_count": batch.record_count,
                    "resent_count": batch.resent_count,
                    "awaiting_count": len(records),
                    "produced_on": produced,
                    "days_since": (on - produced).days,
                    "deposited_on": batch.deposited_on,
                    "step": step,
                    "last": step == REPORT_REMINDER_STEPS,
                    "next_on": produced + timedelta(days=every * (step + 1)),
                    "earliest_due_on": records[0].due_on if records else None,
                },
                "action_url": back_office_url(),
            }
            fx = Effects(db, BATCH_ENTITY, batch.id, batch.reference)
            fx.mail(context, f"report-reminder-{step}", "cpf/rappel_compte_rendu", [settings.officers_mailbox])
            sent += [f"{batch.reference}:{name}" for name in fx.mails]
    return sent


def export_and_alert(certification_code: str, engine: Engine | None = None) -> dict[str, Any]:
    """The scheduled step of one certification: export what is owed, then alert the officers and
    remind them of the batches without report. An export refused (a flux the schema rejects, a
    registry code gone) is reported, not raised."""
    error = None
    try:
        batch = export_once(certification_code, SYSTEM, engine)
    except Conflict:  # an officer's export took the records at the same moment: nothing to say
        batch = None
    except DomainError as exc:
        batch, error = None, exc.message
    return {
        "batch": batch,
        "error": error,
        "alerts": alert_once(certification_code, error, engine),
        "reminders": remind_reports_once(certification_code, engine),
    }


# --- Prefect -------------------------------------------------------------------------------------


@task(name="export-cpf-batch", retries=1, retry_delay_seconds=2)
async def export_cpf_task(certification_code: str) -> dict | None:
    return await anyio.to_thread.run_sync(export_once, certification_code)


@flow(name="cpf-export", log_prints=True)
async def cpf_export_flow(certification_code: str) -> dict:
    """Write the next SI CPF flux of ``certification_code`` (nothing when nothing is owed)."""
    batch = await export_cpf_task(certification_code)
    logger = get_run_logger()
    if batch is None:
        logger.info("cpf export %s: nothing to send", certification_code)
    else:
        logger.info(
            "cpf export %s: batch %s, %d records (%d re-sent), %s",
            certification_code,
            batch["reference"],
            batch["record_count"],
            batch["resent_count"],
            batch["relative_path"],
        )
    return {"certification_code": certification_code, "batch": batch}


@task(name="export-and-alert-cpf", retries=1, retry_delay_seconds=2)
async def export_and_alert_task(certification_code: str) -> dict:
    return await anyio.to_thread.run_sync(export_and_alert, certification_code)


@flow(name="cpf-export-all", log_prints=True)
async def cpf_export_all_flow() -> dict:
    """The export of every certification with an RNCP/RS code, then the officers' alerts (served
    with a cron schedule by ``cqp serve-flows``, run every ``CQP_CPF_EXPORT_INTERVAL_SECONDS`` by
    ``cqp run``)."""
    codes = await anyio.to_thread.run_sync(registered_certifications)
    logger = get_run_logger()
    out: dict[str, Any] = {}
    for code in codes:
        out[code] = result = await export_and_alert_task(code)
        if result["error"]:
            logger.warning("cpf export %s refused: %s", code, result["error"])
    return {"certifications": out, "delivery": await deliver_task()}
