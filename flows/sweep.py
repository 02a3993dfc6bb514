"""The daily sweep: every process instance whose deadline, reminder or lost run is due.

Safe to run twice or to kill midway: every step works from the database state and every side
effect is keyed, so each reminder is sent once. ``cqp run`` runs it every few minutes in the
embedded mode; ``cqp serve-flows`` serves it as a scheduled deployment (daily by default).
"""

from __future__ import annotations

from prefect import flow

from flows.agrement import agrement_sweep_flow
from flows.common import collect_orphan_uploads_task
from flows.controle import controle_sweep_flow
from flows.jury import jury_sweep_flow
from flows.agrement_lifecycle import agrement_lifecycle_sweep_flow
from flows.retention import apply_retention_task
from flows.training import appui_sweep_flow, training_sweep_flow
from flows.vae import vae_sweep_flow
from flows.monitoring import monitored, recover


@flow(name="daily-sweep", log_prints=True)
@monitored("sweep")
async def daily_sweep_flow() -> dict:
    """Recovery of what dead processes left (messages, runs), then the per-process sweeps (subflows)."""
    return {
        "recovery": await recover(),
        "agrement_requests": await agrement_sweep_flow(),
        "agrements": await agrement_lifecycle_sweep_flow(),
        "controles": await controle_sweep_flow(),
        "vae_dossiers": await vae_sweep_flow(),
        "juries": await jury_sweep_flow(),
        "training_sessions": await training_sweep_flow(),
        "appuis": await appui_sweep_flow(),
        "retention": await apply_retention_task(),  # before the collector, which then finds fewer files
        "orphan_uploads": await collect_orphan_uploads_task(),
    }
