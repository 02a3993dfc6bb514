"""Flow runs left « Running » on the Prefect server by a process that died (a killed worker, a
crashed API in the embedded mode): marked Crashed through the Prefect client, their dossiers
returned so that their flows run again (``flows.monitoring.recover``, at start-up and each sweep).

A run is abandoned when our own record of it (``flow_run_records.prefect_run_id``) shows that its
process is gone (dead on this host, or already closed as crashed), or, for a run of another host,
when the server has heard nothing of it for ``flow_run_stale_after_seconds``.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import anyio
from sqlmodel import select

from certification.clock import as_utc, now
from certification.db import session_scope
from certification.models_monitoring import RUN_RUNNING, FlowRunRecord
from certification.settings import get_settings
from notifications.claimer import is_dead, is_local

log = logging.getLogger(__name__)


def _process_flow_names() -> dict[str, str]:
    from flows.dispatch import PROCESSES, load_flow

    return {load_flow(process).name: kind for kind, process in PROCESSES.items()}


def _local_verdicts(run_ids: list[str]) -> dict[str, bool]:
    """Prefect run id -> True when our record says its process is gone (closed, or dead on this
    host), False when it lives on this host; runs of other hosts are left out (unknown here)."""
    verdicts = {}
    with session_scope() as db:
        for r in db.exec(select(FlowRunRecord).where(FlowRunRecord.prefect_run_id.in_(run_ids))):
            if r.state != RUN_RUNNING or is_dead(r.runner):
                verdicts[r.prefect_run_id] = True
            elif is_local(r.runner):
                verdicts[r.prefect_run_id] = False
    return verdicts


def _dossier(tags: list[str], names: set[str]) -> tuple[str, int] | None:
    for tag in tags:
        kind, _, raw = tag.partition(":")
        if kind in names and raw.isdigit():
            return kind, int(raw)
    return None


async def crash_abandoned_runs() -> list[tuple[str, int]]:
    """Mark Crashed the abandoned runs of our processes; returns their dossiers ``(kind, id)``."""
    from prefect import get_client
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.runtime import flow_run as current_run
    from prefect.states import Crashed

    flows = _process_flow_names()
    stale_before = now() - timedelta(seconds=get_settings().flow_run_stale_after_seconds)
    async with get_client() as client:
        runs = await client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=sorted(flows))),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.RUNNING]))
            ),
            limit=200,
        )
        verdicts = await anyio.to_thread.run_sync(_local_verdicts, [str(r.id) for r in runs])
        dossiers = []
        for run in runs:
            if str(run.id) == str(current_run.id or ""):
                continue
            gone = verdicts.get(str(run.id))
            if gone is None:  # not ours to judge from here: only silence for too long
                gone = run.updated is not None and as_utc(run.updated) < stale_before
            if not gone:
                continue
            await client.set_flow_run_state(
                run.id, Crashed(message="Processus arrêté pendant l'exécution (constaté par le balayage)"), force=True
            )
            log.warning("flow run %s (%s) marked crashed: its process is gone", run.id, run.name)
            dossier = _dossier(run.tags, set(flows.values()))
            if dossier is not None:
                dossiers.append(dossier)
        return dossiers
