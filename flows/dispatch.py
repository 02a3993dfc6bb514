"""How a human action (through the API) triggers the flow of its dossier.

- ``inline``: run the flow now and wait for it (tests, demo, CLI);
- ``background``: run it in this process's event loop after the response, one at a time
  (embedded default: SQLite does not like concurrent writers);
- ``deployment``: ask the Prefect server to run the deployment on a worker (scale-out);
- ``none``: do nothing; the sweep picks the dossier up.

Whatever the mode, a run that is lost (crash, restart) is caught up by the sweep, because the
flows work from the database state.
"""

from __future__ import annotations

import asyncio
import logging

from certification.settings import get_settings

log = logging.getLogger(__name__)

DEPLOYMENTS = {
    "agrement_request": "agrement-request/agrement-request",
}

_background: set[asyncio.Task] = set()
_lock: asyncio.Lock | None = None


def flow_lock() -> asyncio.Lock:
    global _lock
    if _lock is None:
        _lock = asyncio.Lock()
    return _lock


async def _run_agrement_request(request_id: int) -> dict:
    from flows.agrement import agrement_request_flow

    async with flow_lock():
        return await agrement_request_flow(request_id)


async def _background_run(request_id: int) -> None:
    try:
        await _run_agrement_request(request_id)
    except Exception:  # the sweep will retry; never crash the API for a flow
        log.exception("background flow for agrément request %s failed", request_id)


async def agrement_request_changed(request_id: int) -> None:
    mode = get_settings().flow_dispatch
    if mode == "inline":
        await _run_agrement_request(request_id)
    elif mode == "background":
        task = asyncio.get_running_loop().create_task(_background_run(request_id))
        _background.add(task)
        task.add_done_callback(_background.discard)
    elif mode == "deployment":
        from prefect.deployments import run_deployment

        await run_deployment(
            DEPLOYMENTS["agrement_request"], parameters={"request_id": request_id}, timeout=0
        )


async def drain_background() -> None:
    """Wait for the background runs started so far (shutdown, tests)."""
    while _background:
        await asyncio.gather(*list(_background), return_exceptions=True)
