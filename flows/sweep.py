"""The daily sweep: every process instance whose deadline, reminder or lost run is due.

Safe to run twice or to kill midway: every step works from the database state and every side
effect is keyed, so each reminder is sent once. ``cqp run`` runs it every few minutes in the
embedded mode; ``cqp serve-flows`` serves it as a scheduled deployment (daily by default).
"""

from __future__ import annotations

import anyio
from prefect import flow

from flows.agrement import advance_task, deliver_task, requests_needing_attention
from flows.controle import advance_controle_task, controles_needing_attention, plan_periodic
from flows.lifecycle import advance_agrement_task, agrements_needing_attention


@flow(name="daily-sweep", log_prints=True)
async def daily_sweep_flow() -> dict:
    """Plan the periodic contrôles, advance every dossier that needs it, deliver the outbox."""
    planned = await anyio.to_thread.run_sync(plan_periodic)
    summary: dict[str, dict] = {}
    for name, find, advance in (
        ("agrement_requests", requests_needing_attention, advance_task),
        ("agrements", agrements_needing_attention, advance_agrement_task),
        ("controles", controles_needing_attention, advance_controle_task),
    ):
        ids = await anyio.to_thread.run_sync(find)
        outcomes = [await advance(i) for i in ids]
        summary[name] = {
            "runs": len(ids),
            "transitions": sum(len(o["transitions"]) for o in outcomes),
            "documents": sum(len(o.get("documents", ())) for o in outcomes),
            "mails": sum(len(o["mails"]) for o in outcomes),
        }
    return {"periodic_controles_planned": len(planned), **summary, "delivery": await deliver_task()}
