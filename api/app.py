"""The FastAPI application."""

from __future__ import annotations

import asyncio
import logging
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


async def _sweep_forever(interval: int) -> None:
    from flows.sweep import daily_sweep_flow

    while True:
        try:
            async with dispatch.flow_lock():
                await daily_sweep_flow()
        except Exception:  # keep sweeping; each failure is logged and retried next time
            log.exception("sweep failed")
        await asyncio.sleep(interval)


def create_app(*, sweeper: bool = False) -> FastAPI:
    """``sweeper``: run the periodic sweep in this process (embedded mode)."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        task = None
        if sweeper:
            task = asyncio.create_task(_sweep_forever(get_settings().sweep_interval_seconds))
        yield
        if task:
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
                   certificates, appeals, training, appuis, reports, certifications, exports, verification):
        app.include_router(module.router)
    app.mount("/app/static", web.static_files(), name="web-static")  # before the pages' catch-all
    app.include_router(web.router)

    @app.get("/health", tags=["supervision"], summary="État du service")
    def health() -> dict:
        return {"status": "ok"}

    return app
