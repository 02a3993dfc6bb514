"""Export of certified holders to the Caisse des Dépôts (SI CPF accrochage), one XML flux per batch.

A run takes what is owed for one certification (new certificates, rejected records corrected
since), records the batch and writes its XML under ``<data_dir>/exports/cpf/<code>/`` in the same
transaction: the file is written (atomically) before the commit, so a batch on record always has
its file, and a failed commit leaves at most a file whose reference is reused (and the file
overwritten) by the next run. A run with nothing new writes nothing. Two runs at once cannot
send a record twice (compare-and-set on each record).

The processing report (compte rendu) imported by the officer is kept beside the batch file.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from typing import Any

import anyio
from prefect import flow, get_run_logger, task
from sqlalchemy.engine import Engine
from sqlmodel import select

from certification.audit import SYSTEM, Actor
from certification.db import session_scope
from certification.models import Certification
from certification.models_reporting import CpfExportBatch
from certification.services import cpf_export as svc
from certification.settings import get_settings
from documents.storage import write_generated


def batch_summary(batch: CpfExportBatch, certification_code: str) -> dict[str, Any]:
    return {
        "id": batch.id, "reference": batch.reference, "certification_code": certification_code,
        "registry_type": batch.registry_type, "registry_code": batch.registry_code, "state": batch.state,
        "record_count": batch.record_count, "resent_count": batch.resent_count, "filename": batch.filename,
        "relative_path": batch.relative_path, "sha256": batch.sha256, "size": batch.size,
        "created_at": batch.created_at,
    }


def export_once(certification_code: str, actor: Actor = SYSTEM, engine: Engine | None = None) -> dict | None:
    """Record and write the next batch of ``certification_code``; None when nothing is owed."""
    data_dir = get_settings().data_dir
    with session_scope(engine) as session:
        prepared = svc.prepare_batch(session, actor, certification_code)
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


def import_report_once(batch_id: int, data: bytes, filename: str, actor: Actor,
                       engine: Engine | None = None) -> dict:
    """Apply a processing report and keep its file beside the batch (same transaction)."""
    data_dir = get_settings().data_dir
    with session_scope(engine) as session:
        batch = svc.get_batch(session, actor, batch_id)
        svc.parse_report(data)  # refuse an unreadable report before storing anything
        stored = report_path(batch, data)
        outcome = svc.import_report(session, actor, batch_id, data, filename=filename, stored_path=stored)
        write_generated(data_dir, stored, data)
        return asdict(outcome)


def registered_certifications(engine: Engine | None = None) -> list[str]:
    """Codes of the certifications with an RNCP/RS code (those that must be declared)."""
    with session_scope(engine) as session:
        return [c.code for c in session.exec(select(Certification).order_by(Certification.code))
                if c.registry_code.strip()]


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
        logger.info("cpf export %s: batch %s, %d records (%d re-sent), %s", certification_code, batch["reference"],
                    batch["record_count"], batch["resent_count"], batch["relative_path"])
    return {"certification_code": certification_code, "batch": batch}


@flow(name="cpf-export-all", log_prints=True)
async def cpf_export_all_flow() -> dict:
    """The export of every certification with an RNCP/RS code (e.g. scheduled monthly)."""
    codes = await anyio.to_thread.run_sync(registered_certifications)
    return {code: await export_cpf_task(code) for code in codes}
