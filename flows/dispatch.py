"""How a human action (through the API) triggers the flow of its dossier.

- ``inline``: run the flow now and wait for it (tests, demo, CLI);
- ``background``: run it in this process's event loop after the response, one at a time
  (embedded default: SQLite does not like concurrent writers);
- ``deployment``: ask the Prefect server to run the deployment on a worker (scale-out);
- ``none``: do nothing; the sweep picks the dossier up.

Whatever the mode, a run that is lost (crash, restart) is caught up by the sweep, because the
flows work from the database state.

Every run started here carries the tag ``<process>:<id>`` (e.g. ``agrement_request:12``), so the
runs of one dossier can be listed in the Prefect UI or API (``api.web.prefect_links``).
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from dataclasses import dataclass

from certification.settings import get_settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Process:
    flow: str  # "module:attribute" of the Prefect flow
    parameter: str  # the flow's id parameter
    deployment: str  # "<flow name>/<deployment name>" served by `cqp serve-flows`


PROCESSES = {
    "agrement_request": Process("flows.agrement:agrement_request_flow", "request_id", "agrement-request/agrement-request"),
    "agrement": Process("flows.lifecycle:agrement_lifecycle_flow", "agrement_id", "agrement-lifecycle/agrement-lifecycle"),
    "controle": Process("flows.controle:controle_flow", "controle_id", "controle/controle"),
    "jury": Process("flows.jury:jury_session_flow", "session_id", "jury-session/jury-session"),
    "certificate": Process("flows.jury:certificate_flow", "certificate_id", "certificate/certificate"),
    "training_session": Process("flows.training:training_session_flow", "session_id", "training-session/training-session"),
    "appui": Process("flows.training:appui_flow", "appui_id", "appui/appui"),
}

_background: set[asyncio.Task] = set()
_lock: asyncio.Lock | None = None


def flow_lock() -> asyncio.Lock:
    global _lock
    if _lock is None:
        _lock = asyncio.Lock()
    return _lock


def load_flow(process: Process):
    module, attribute = process.flow.split(":")
    return getattr(importlib.import_module(module), attribute)


def run_tag(kind: str, entity_id: int) -> str:
    """The Prefect tag of the runs of one dossier: ``<process>:<id>``."""
    return f"{kind}:{entity_id}"


async def _run(kind: str, entity_id: int) -> dict:
    from prefect import tags

    process = PROCESSES[kind]
    async with flow_lock():
        with tags(run_tag(kind, entity_id)):
            return await load_flow(process)(**{process.parameter: entity_id})


async def _background_run(kind: str, entity_id: int) -> None:
    try:
        await _run(kind, entity_id)
    except Exception:  # the sweep will retry; never crash the API for a flow
        log.exception("background flow %s(%s) failed", kind, entity_id)


async def _deployment_run(kind: str, entity_id: int) -> None:
    """Ask the Prefect server for a run of the dossier's deployment; a worker picks it up."""
    from prefect.deployments import run_deployment

    process = PROCESSES[kind]
    try:
        await run_deployment(
            process.deployment, parameters={process.parameter: entity_id}, timeout=0,
            tags=[run_tag(kind, entity_id)],
        )
    except Exception:  # the action is committed: the sweep catches the dossier up
        log.exception("could not start deployment %s for %s", process.deployment, run_tag(kind, entity_id))


async def changed(kind: str, entity_id: int) -> None:
    """Entity ``entity_id`` of process ``kind`` changed: run its flow as configured."""
    if kind not in PROCESSES:
        raise KeyError(f"unknown process {kind!r}")
    mode = get_settings().flow_dispatch
    if mode == "inline":
        await _run(kind, entity_id)
    elif mode == "background":
        task = asyncio.get_running_loop().create_task(_background_run(kind, entity_id))
        _background.add(task)
        task.add_done_callback(_background.discard)
    elif mode == "deployment":
        await _deployment_run(kind, entity_id)


async def agrement_request_changed(request_id: int) -> None:
    await changed("agrement_request", request_id)


async def agrement_changed(agrement_id: int) -> None:
    """A granted agrément changed (suspension, reinstatement, withdrawal): run its lifecycle flow."""
    await changed("agrement", agrement_id)


async def controle_changed(controle_id: int) -> None:
    await changed("controle", controle_id)


async def jury_changed(session_id: int) -> None:
    """A jury session changed (or an appeal against it): run the session's flow."""
    await changed("jury", session_id)


async def certificate_changed(certificate_id: int) -> None:
    """A certificate was duplicated, corrected or revoked: run its flow (new document version)."""
    await changed("certificate", certificate_id)


async def training_session_changed(session_id: int) -> None:
    """An EPSP training session (or one of its enrollments) changed: run the session's flow."""
    await changed("training_session", session_id)


async def appui_changed(appui_id: int) -> None:
    await changed("appui", appui_id)


async def drain_background() -> None:
    """Wait for the background runs started so far (shutdown, tests)."""
    while _background:
        await asyncio.gather(*list(_background), return_exceptions=True)
