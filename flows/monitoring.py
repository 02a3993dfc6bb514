"""Flow monitoring: every run of a dossier's flow (and of the sweep) is recorded by the flow itself.

``@monitored("<process>")``, placed under ``@flow``, records a :class:`FlowRunRecord` when the run
starts and its outcome when it ends, in every dispatch mode (inline, background, on a worker).
From these rows come:

* the alerts: a dossier whose flow failed ``alert_flow_failures`` times in a row, or a message
  still undelivered after ``alert_mail_attempts`` attempts, gives the officers' mailbox one e-mail
  per incident (the outbox ``dedupe_key`` names the incident);
* the recovery of runs whose process died (:func:`recover`, at start-up and by the sweep);
* the operations page and the metrics (read functions at the bottom).

Recording never makes a run fail: a recording error is logged and the flow goes on.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import anyio
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from certification.clock import now
from certification.db import session_scope
from certification.models import AuditEvent
from certification.models_monitoring import (
    RUN_COMPLETED,
    RUN_CRASHED,
    RUN_FAILED,
    RUN_RUNNING,
    FlowRunRecord,
)
from certification.settings import get_settings
from notifications.claimer import current_claimer, is_dead
from notifications.models import STATUS_SENT, OutboxMessage
from notifications.outbox import enqueue, reclaim_orphaned

log = logging.getLogger(__name__)

SWEEP = "sweep"
FAILED_STATES = (RUN_FAILED, RUN_CRASHED)
OUTBOX_ENTITY = "outbox_messages"
RESEND_ACTION = "resend"
ALERT_TEMPLATES = ("alerte_flux", "alerte_courriel")


# --- Recording ----------------------------------------------------------------------------


def _prefect_run_id() -> str | None:
    try:
        from prefect.runtime import flow_run

        return str(flow_run.id) if flow_run.id else None
    except Exception:  # noqa: BLE001 - outside a run, or an older runtime
        return None


def start_run(
    process: str, entity_id: int | None, prefect_run_id: str | None = None, engine: Engine | None = None
) -> int:
    with session_scope(engine) as db:
        record = FlowRunRecord(
            process=process, entity_id=entity_id, prefect_run_id=prefect_run_id, runner=current_claimer()
        )
        db.add(record)
        db.flush()
        return record.id


def _previous(db: Session, record: FlowRunRecord) -> FlowRunRecord | None:
    return db.exec(
        select(FlowRunRecord)
        .where(
            FlowRunRecord.process == record.process,
            FlowRunRecord.entity_id == record.entity_id,
            FlowRunRecord.id < record.id,
            FlowRunRecord.state != RUN_RUNNING,
        )
        .order_by(FlowRunRecord.id.desc())
    ).first()


def _close(db: Session, record: FlowRunRecord, state: str, error: str | None = None, result: Any = None) -> None:
    """Final state of ``record``; a failure extends the dossier's streak and may raise its alert."""
    record.state, record.finished_at, record.error, record.result = state, now(), error, result
    if state in FAILED_STATES:
        previous = _previous(db, record)
        if previous is not None and previous.state in FAILED_STATES:
            record.failures_in_a_row = previous.failures_in_a_row + 1
            record.incident_id = previous.incident_id
        else:
            record.failures_in_a_row, record.incident_id = 1, record.id
    else:
        record.failures_in_a_row, record.incident_id = 0, None
    db.add(record)
    db.flush()
    if (
        state in FAILED_STATES
        and record.process != SWEEP
        and record.failures_in_a_row >= get_settings().alert_flow_failures
    ):
        _flow_alert(db, record)


def finish_run(
    record_id: int, *, error: BaseException | None = None, result: Any = None, engine: Engine | None = None
) -> None:
    with session_scope(engine) as db:
        record = db.get(FlowRunRecord, record_id)
        if error is None:
            _close(db, record, RUN_COMPLETED, result=result if record.process == SWEEP else None)
        else:
            _close(db, record, RUN_FAILED, error=f"{type(error).__name__}: {error}"[:4000])
        mail_alerts(db)


def _entity_id(signature: inspect.Signature, args: tuple, kwargs: dict) -> int | None:
    bound = signature.bind_partial(*args, **kwargs).arguments
    value = next(iter(bound.values()), None)
    return value if isinstance(value, int) else None


def monitored(process: str) -> Callable:
    """Decorator (under ``@flow``) of an async flow whose first parameter is the dossier id, or of
    the sweep (``monitored("sweep")``): each run is recorded, its failure counted."""

    def decorate(fn: Callable) -> Callable:
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            entity_id = _entity_id(signature, args, kwargs)
            record_id = None
            try:
                record_id = await anyio.to_thread.run_sync(start_run, process, entity_id, _prefect_run_id())
            except Exception:  # noqa: BLE001 - monitoring never stops a flow
                log.exception("could not record the start of %s(%s)", process, entity_id)
            try:
                result = await fn(*args, **kwargs)
            except BaseException as exc:
                await _finish_quietly(record_id, error=exc)
                raise
            await _finish_quietly(record_id, result=result)
            return result

        return wrapper

    return decorate


async def _finish_quietly(record_id: int | None, **outcome: Any) -> None:
    if record_id is None:
        return
    try:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(functools.partial(finish_run, record_id, **outcome))
    except Exception:  # noqa: BLE001
        log.exception("could not record the end of run %s", record_id)


# --- Alerts -------------------------------------------------------------------------------


def flow_alert_key(record: FlowRunRecord) -> str:
    return f"alerts:flow:{record.process}:{record.entity_id}:{record.incident_id}"


def _alert(
    db: Session, key: str, template: str, reference: str, alert: dict[str, Any], entity: tuple[str, int]
) -> None:
    """An alert e-mail to the officers' mailbox, once per ``key``, about ``entity`` (type, id)."""
    context = {"mail_reference": reference, "alert": alert}
    to = [get_settings().officers_mailbox]
    enqueue(db, dedupe_key=key, to=to, template=template, context=context, entity_type=entity[0], entity_id=entity[1])


def _flow_alert(db: Session, record: FlowRunRecord) -> None:
    alert = {
        "process": record.process,
        "process_label": PROCESS_LABELS.get(record.process, record.process),
        "entity_id": record.entity_id,
        "failures": record.failures_in_a_row,
        "error": record.error,
        "since": _incident_start(db, record),
    }
    reference = f"{record.process}:{record.entity_id}"
    _alert(db, flow_alert_key(record), "alerte_flux", reference, alert, ("flow_run_records", record.incident_id))


def _incident_start(db: Session, record: FlowRunRecord) -> datetime:
    first = db.get(FlowRunRecord, record.incident_id)
    return first.started_at if first is not None else record.started_at


def resends(db: Session, message_id: int) -> int:
    return _count(
        db,
        AuditEvent,
        AuditEvent.entity_type == OUTBOX_ENTITY,
        AuditEvent.entity_id == message_id,
        AuditEvent.action == RESEND_ACTION,
    )


def _count(db: Session, model: Any, *conditions: Any) -> int:
    return db.exec(select(func.count()).select_from(model).where(*conditions)).one()


def undeliverable(db: Session) -> list[OutboxMessage]:
    """Messages not sent after ``alert_mail_attempts`` attempts (alerts themselves excluded)."""
    return list(
        db.exec(
            select(OutboxMessage)
            .where(
                OutboxMessage.status != STATUS_SENT,
                OutboxMessage.attempts >= get_settings().alert_mail_attempts,
                OutboxMessage.template.not_in(ALERT_TEMPLATES) | OutboxMessage.template.is_(None),
            )
            .order_by(OutboxMessage.id)
        ).all()
    )


def mail_alerts(db: Session) -> int:
    """One alert per undeliverable message and per incident (a resend starts a new one)."""
    messages = undeliverable(db)
    for message in messages:
        alert = {
            "subject": message.subject,
            "attempts": message.attempts,
            "error": message.last_error,
            "status": message.status,
            "created_at": message.created_at,
        }
        key = f"alerts:mail:{message.id}:{resends(db, message.id)}"
        _alert(db, key, "alerte_courriel", f"courriel {message.id}", alert, (OUTBOX_ENTITY, message.id))
    return len(messages)


# --- Recovery -----------------------------------------------------------------------------


def crashed_runs(engine: Engine | None = None) -> list[tuple[str, int]]:
    """Runs left 'running' by a process gone from this host become 'crashed'; returns their dossiers."""
    with session_scope(engine) as db:
        running = db.exec(select(FlowRunRecord).where(FlowRunRecord.state == RUN_RUNNING)).all()
        dossiers = []
        for record in running:
            if is_dead(record.runner):
                _close(db, record, RUN_CRASHED, error="Processus arrêté pendant le traitement")
                if record.process != SWEEP and record.entity_id is not None:
                    dossiers.append((record.process, record.entity_id))
        return dossiers


def prefect_server_configured() -> bool:
    """A Prefect server outside this process (``cqp run``'s local one, or the scale-out one)."""
    try:
        from prefect.settings import PREFECT_API_URL

        return bool(PREFECT_API_URL.value())
    except Exception:  # noqa: BLE001
        return False


async def recover() -> dict:
    """Start-up and sweep: reclaim the messages and runs of dead processes, run their dossiers' flows."""
    from flows import dispatch

    messages = await anyio.to_thread.run_sync(reclaim_orphaned)
    dossiers = set(await anyio.to_thread.run_sync(crashed_runs))
    if prefect_server_configured():
        try:
            from flows.prefect_runs import crash_abandoned_runs

            dossiers |= set(await crash_abandoned_runs())
        except Exception:  # noqa: BLE001 - Prefect unreachable: the next sweep tries again
            log.exception("could not check the runs left running on the Prefect server")
    dossiers = sorted(dossiers)
    for kind, entity_id in dossiers:
        if kind in dispatch.PROCESSES:
            try:
                await dispatch.changed(kind, entity_id)
            except Exception:  # noqa: BLE001 - recorded as a failed run; the next sweep tries again
                log.exception("catching up %s:%s failed", kind, entity_id)
    return {"messages": len(messages), "runs": len(dossiers)}


# --- Reading (operations page, inbox, metrics) --------------------------------------------

PROCESS_LABELS = {
    "agrement_request": "Demande d'agrément",
    "agrement": "Agrément",
    "controle": "Contrôle",
    "vae": "Dossier de VAE",
    "jury": "Session de jury",
    "certificate": "Certificat",
    "training_session": "Formation EPSP",
    "appui": "Appui pédagogique",
    SWEEP: "Balayage",
}


def last_runs(db: Session) -> list[FlowRunRecord]:
    """The latest finished run of each dossier (and of the sweep)."""
    latest = (
        select(func.max(FlowRunRecord.id))
        .where(FlowRunRecord.state != RUN_RUNNING)
        .group_by(FlowRunRecord.process, FlowRunRecord.entity_id)
    )
    return list(db.exec(select(FlowRunRecord).where(FlowRunRecord.id.in_(latest))).all())


def open_flow_incidents(db: Session) -> list[FlowRunRecord]:
    """Dossiers whose last run failed ``alert_flow_failures`` times in a row or more (alerted)."""
    threshold = get_settings().alert_flow_failures
    return sorted(
        (
            r
            for r in last_runs(db)
            if r.state in FAILED_STATES and r.process != SWEEP and r.failures_in_a_row >= threshold
        ),
        key=lambda r: r.id,
        reverse=True,
    )


def failed_runs(db: Session, limit: int = 20) -> list[FlowRunRecord]:
    return list(
        db.exec(
            select(FlowRunRecord)
            .where(FlowRunRecord.state.in_(FAILED_STATES))
            .order_by(FlowRunRecord.id.desc())
            .limit(limit)
        ).all()
    )


def last_sweep(db: Session) -> FlowRunRecord | None:
    return db.exec(
        select(FlowRunRecord).where(FlowRunRecord.process == SWEEP).order_by(FlowRunRecord.id.desc())
    ).first()


@dataclass
class Waiting:
    process: str
    entity_id: int
    since: datetime | None
    pending_mails: int


def _finders() -> dict[str, Callable[[], list[int]]]:
    from flows.agrement import requests_needing_attention
    from flows.controle import controles_needing_attention
    from flows.jury import juries_needing_attention
    from flows.agrement_lifecycle import agrements_needing_attention
    from flows.training import appuis_needing_attention, training_sessions_needing_attention
    from flows.vae import vae_needing_attention

    return {
        "agrement_request": requests_needing_attention,
        "agrement": agrements_needing_attention,
        "controle": controles_needing_attention,
        "jury": juries_needing_attention,
        "training_session": training_sessions_needing_attention,
        "appui": appuis_needing_attention,
        "vae": vae_needing_attention,
    }


def waiting_dossiers(db: Session) -> list[Waiting]:
    """Dossiers with automatic work the sweep would do, and since when (their last change)."""
    from certification.controle.models import Controle
    from certification.jury.models import JurySession
    from certification.agrement.models import Agrement, AgrementRequest
    from certification.training.models import Appui, TrainingSession
    from certification.vae.models import VaeDossier

    models = {
        "agrement_request": AgrementRequest,
        "agrement": Agrement,
        "controle": Controle,
        "jury": JurySession,
        "training_session": TrainingSession,
        "appui": Appui,
        "vae": VaeDossier,
    }
    waiting = []
    for process, find in _finders().items():
        model = models[process]
        for entity_id in find():
            entity = db.get(model, entity_id)
            waiting.append(
                Waiting(
                    process,
                    entity_id,
                    getattr(entity, "updated_at", None),
                    _pending_for(db, model.__tablename__, entity_id),
                )
            )
    return sorted(waiting, key=lambda w: (w.since is None, w.since or now()))


def _pending_for(db: Session, entity_type: str, entity_id: int) -> int:
    return _count(
        db,
        OutboxMessage,
        OutboxMessage.entity_type == entity_type,
        OutboxMessage.entity_id == entity_id,
        OutboxMessage.status != STATUS_SENT,
    )


def mail_queue(db: Session, limit: int = 50) -> list[OutboxMessage]:
    """Messages pending, being sent or failed, the oldest first."""
    return list(
        db.exec(
            select(OutboxMessage)
            .where(OutboxMessage.status != STATUS_SENT)
            .order_by(OutboxMessage.created_at, OutboxMessage.id)
            .limit(limit)
        ).all()
    )
