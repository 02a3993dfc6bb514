"""The FastAPI application."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager, suppress

from fastapi import FastAPI

from api import web
from api.errors import install_error_handlers
from api.routers import (
    agrement_requests,
    agrements,
    appeals,
    appuis,
    auth,
    candidates,
    certificates,
    certifications,
    controles,
    credentials,
    exports,
    juries,
    reports,
    structures,
    training,
    users,
    verification,
)
from certification.settings import get_settings
from flows import dispatch

log = logging.getLogger(__name__)

DESCRIPTION = """
API du moteur de processus de l'organisme certificateur (CQP SP, CQP EPSP).

Authentification : `POST /auth/token` avec e-mail et mot de passe, puis en-tête
`Authorization: Bearer <jeton>`. Chaque route vérifie le rôle côté serveur ; un utilisateur
ne voit que ses propres dossiers. Les erreurs sont au format
`{"error": {"code", "message", "details"}}`.
"""


async def _every(interval: int, name: str, run_flow: Callable[[], Awaitable[object]]) -> None:
    """Run ``run_flow`` now, then every ``interval`` seconds, one flow at a time in this process."""
    while True:
        try:
            async with dispatch.flow_lock():
                await run_flow()
        except Exception:  # keep going; each failure is logged and retried next time
            log.exception("%s failed", name)
        await asyncio.sleep(interval)


def periodic_flows() -> list[tuple[int, str, Callable[[], Awaitable[object]]]]:
    """The flows the embedded mode runs periodically: the deadline sweep, and the export of
    certified holders to the Caisse des Dépôts (unless its interval is 0)."""
    from flows.cpf_export import cpf_export_all_flow
    from flows.sweep import daily_sweep_flow

    settings = get_settings()
    flows = [(settings.sweep_interval_seconds, "sweep", daily_sweep_flow)]
    if settings.cpf_export_interval_seconds > 0:
        flows.append((settings.cpf_export_interval_seconds, "cpf export", cpf_export_all_flow))
    return flows


def create_app(*, sweeper: bool = False) -> FastAPI:
    """``sweeper``: run the periodic flows in this process (embedded mode)."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        tasks = [asyncio.create_task(_every(*spec)) for spec in periodic_flows()] if sweeper else []
        yield
        for task in tasks:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        await dispatch.drain_background()

    app = FastAPI(
        title="Moteur de certification CQP",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    install_error_handlers(app)
    for module in (auth, users, structures, agrement_requests, agrements, controles, candidates, juries,
                   certificates, appeals, training, appuis, reports, certifications, exports, credentials,
                   verification):
        app.include_router(module.router)
    app.mount("/app/static", web.static_files(), name="web-static")  # before the pages' catch-all
    app.include_router(web.router)

    @app.get("/health", tags=["supervision"], summary="État du service")
    def health() -> dict:
        return {"status": "ok"}

    return app
