"""The FastAPI application."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager, suppress

from fastapi import Depends, FastAPI

from api import metrics, web
from api.contract import install_contract, strict_query
from api.agrement import router as agrement_requests
from api.agrement import router_agrements as agrements
from api.appeals import router as appeals
from api.candidates import router as candidates
from api.reporting import router as reports
from api.controle import router as controles
from api.cpf import router as exports
from api.jury import router as juries
from api.jury import router_certificates as certificates
from api.vae import router as vae_dossiers
from api.errors import install_error_handlers, unavailable_response
from api.routers import (
    auth,
    certifications,
    credentials,
    structures,
    users,
    verification,
    webhooks,
)
from api.security import SecurityHeaders
from api.training import router as training
from api.training import router_appuis as appuis
from certification.settings import get_settings
from flows import dispatch

log = logging.getLogger(__name__)

DESCRIPTION = """
API du moteur de processus de l'organisme certificateur (CQP SP, CQP EPSP).

Authentification : `POST /auth/token` avec e-mail et mot de passe, puis en-tête
`Authorization: Bearer <jeton>`. Chaque route vérifie le rôle côté serveur ; un utilisateur
ne voit que ses propres dossiers. Les erreurs sont au format RFC 9457 (`application/problem+json` : `type`, `title`, `status`,
`detail`, `code`, `errors` par champ avec un pointeur JSON, `details`).
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
    """The flows the embedded mode runs periodically: the deadline sweep, the export of certified
    holders to the Caisse des Dépôts and the backup (each unless its interval is 0)."""
    from flows.cpf import cpf_export_all_flow
    from flows.sweep import daily_sweep_flow

    settings = get_settings()
    flows = [(settings.sweep_interval_seconds, "sweep", daily_sweep_flow)]
    if settings.cpf_export_interval_seconds > 0:
        flows.append((settings.cpf_export_interval_seconds, "cpf export", cpf_export_all_flow))
    if settings.backup_interval_seconds > 0:
        flows.append((settings.backup_interval_seconds, "backup", _scheduled_backup))
    return flows


async def _scheduled_backup() -> str:
    from api.backup import scheduled_backup

    archive = await asyncio.to_thread(scheduled_backup)
    log.info("backup written: %s", archive)
    return str(archive)


def create_app(*, sweeper: bool = False, ready: Callable[[], Awaitable[None]] | None = None) -> FastAPI:
    """``sweeper``: run the periodic flows in this process (embedded mode), once ``ready()`` returned
    (``cqp run``: the local Prefect server answers); the API answers meanwhile."""

    async def periodic() -> None:
        if ready is not None:
            await ready()
        await asyncio.gather(*(_every(*spec) for spec in periodic_flows()))

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        tasks = [asyncio.create_task(periodic())] if sweeper else []
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
    metrics.install(app)
    install_contract(app)
    for module in (
        auth,
        users,
        structures,
        agrement_requests,
        agrements,
        controles,
        candidates,
        vae_dossiers,
        juries,
        certificates,
        appeals,
        training,
        appuis,
        reports,
        certifications,
        exports,
        credentials,
        verification,
        webhooks,
    ):
        app.include_router(module.router, dependencies=[Depends(strict_query)])
    app.mount("/app/static", web.static_files(), name="web-static")  # before the pages' catch-all
    app.include_router(web.router)

    app.add_middleware(SecurityHeaders)

    @app.get("/health", tags=["supervision"], summary="Vivacité du processus (sans la base de données)")
    def health() -> dict:
        return {"status": "ok"}

    @app.get(
        "/health/ready",
        tags=["supervision"],
        summary="Disponibilité : la base de données répond",
        responses={503: {"model": dict, "description": "Base de données injoignable"}},
    )
    def readiness():
        from sqlalchemy import text

        from certification.db import get_engine

        try:
            with get_engine().connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:  # any failure to reach the database: not ready
            log.warning("readiness: database unreachable: %s", type(exc).__name__)
            return unavailable_response()
        return {"status": "ok", "database": "ok"}

    return app
