"""How a human action (through the API) triggers the flow of its dossier.

- ``inline``: run the flow now and wait for it (tests, demo, CLI);
- ``background``: run it in this process's event loop after the response (embedded default).
  A dossier has at most one run queued and one running: a trigger for a dossier already queued
  merges into that run. Different dossiers run concurrently, up to ``flow_concurrency`` (2 on
  SQLite, whose single writer serialises them anyway; 8 on PostgreSQL), so a big jury being
  issued does not hold up an unrelated request's accusé de réception;
- ``deployment``: ask the Prefect server to run the deployment on a worker (scale-out);
- ``none``: do nothing; the sweep picks the dossier up.

Whatever the mode, a run that is lost (crash, restart) is caught up by the sweep, because what
a dossier is owed is in the database (``certification.effects``).

Every run started here carries the tag ``<process>:<id>`` (e.g. ``agrement_request:12``), so the
runs of one dossier can be listed in the Prefect UI or API (``api.web.prefect_links``).
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from certification.settings import get_settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Process:
    flow: str  # "module:attribute" of the Prefect flow
    parameter: str  # the flow's id parameter
    deployment: str  # "<flow name>/<deployment name>" served by `cqp serve-flows`


PROCESSES = {
    "agrement_request": Process(
        "flows.agrement:agrement_request_flow", "request_id", "agrement-request/agrement-request"
    ),
    "agrement": Process(
        "flows.agrement_lifecycle:agrement_lifecycle_flow", "agrement_id", "agrement-lifecycle/agrement-lifecycle"
    ),
    "controle": Process("flows.controle:controle_flow", "controle_id", "controle/controle"),
    "vae": Process("flows.vae:vae_flow", "dossier_id", "vae/vae"),
    "jury": Process("flows.jury:jury_session_flow", "session_id", "jury-session/jury-session"),
    "certificate": Process("flows.certificates:certificate_flow", "certificate_id", "certificate/certificate"),
    "training_session": Process(
        "flows.training:training_session_flow", "session_id", "training-session/training-session"
    ),
    "appui": Process("flows.training:appui_flow", "appui_id", "appui/appui"),
}

_background: set[asyncio.Task] = set()


class _Dispatcher:
    """Background runs: per dossier, one queued and one running; across dossiers, bounded."""

    def __init__(self, concurrency: int) -> None:
        self.slots = asyncio.Semaphore(concurrency)
        self.queued: set[tuple[str, int]] = set()
        self.locks: dict[tuple[str, int], asyncio.Lock] = {}

    def trigger(self, kind: str, entity_id: int) -> bool:
        """Queue a run of the dossier, unless one is queued already (merged). True if queued."""
        key = (kind, entity_id)
        if key in self.queued:
            return False
        self.queued.add(key)
        task = asyncio.get_running_loop().create_task(self._run(key))
        _background.add(task)
        task.add_done_callback(_background.discard)
        return True

    async def _run(self, key: tuple[str, int]) -> None:
        lock = self.locks.setdefault(key, asyncio.Lock())
        try:
            async with lock, self.slots:  # the dossier's previous run first, then a free slot
                self.queued.discard(key)  # from now on a new trigger queues the next run
                await _background_run(*key)
        finally:
            self.queued.discard(key)
            if not lock.locked() and key not in self.queued:
                self.locks.pop(key, None)


_dispatchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Dispatcher] = weakref.WeakKeyDictionary()


def _concurrency() -> int:
    settings = get_settings()
    if settings.flow_concurrency > 0:
        return settings.flow_concurrency
    return 8 if settings.sqlalchemy_url.startswith("postgresql") else 2


def dispatcher() -> _Dispatcher:
    """This event loop's dispatcher (asyncio primitives belong to one loop)."""
    loop = asyncio.get_running_loop()
    found = _dispatchers.get(loop)
    if found is None:
        found = _dispatchers[loop] = _Dispatcher(_concurrency())
    return found


@asynccontextmanager
async def flow_lock() -> AsyncIterator[None]:
    """A slot among the background runs (the periodic sweep takes one like any run)."""
    async with dispatcher().slots:
        yield


def load_flow(process: Process) -> Any:
    module, attribute = process.flow.split(":")
    return getattr(importlib.import_module(module), attribute)


def run_tag(kind: str, entity_id: int) -> str:
    """The Prefect tag of the runs of one dossier: ``<process>:<id>``."""
    return f"{kind}:{entity_id}"


async def _run(kind: str, entity_id: int) -> dict:
    from prefect import tags

    process = PROCESSES[kind]
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
        await run_deployment(  # type: ignore[misc]  # sync-compatible: awaitable when called in a loop
            process.deployment,
            parameters={process.parameter: entity_id},
            timeout=0,
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
        dispatcher().trigger(kind, entity_id)
    elif mode == "deployment":
        await _deployment_run(kind, entity_id)


def _hook(kind: str) -> Callable[[int], Awaitable[None]]:
    """``<kind>_changed(entity_id)``: entity ``entity_id`` of process ``kind`` changed, run its flow
    (:func:`changed`). The responders look the hooks up by name, and tests replace them by name."""

    async def hook(entity_id: int) -> None:
        await changed(kind, entity_id)

    hook.__name__ = hook.__qualname__ = f"{kind}_changed"
    return hook


# One hook per process: an agrément request; a granted agrément (suspension, reinstatement,
# withdrawal: its lifecycle flow); a contrôle; a dossier de VAE (letters, e-mails); a jury session
# (or an appeal against it); a certificate (duplicated, corrected or revoked: its new document
# version); an EPSP training session (or one of its enrollments); an appui pédagogique.
agrement_request_changed = _hook("agrement_request")
agrement_changed = _hook("agrement")
controle_changed = _hook("controle")
vae_changed = _hook("vae")
jury_changed = _hook("jury")
certificate_changed = _hook("certificate")
training_session_changed = _hook("training_session")
appui_changed = _hook("appui")


async def drain_background() -> None:
    """Wait for the background runs started so far (shutdown, tests)."""
    while _background:
        await asyncio.gather(*list(_background), return_exceptions=True)
