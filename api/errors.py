"""Error responses: every error is JSON ``{"error": {"code", "message", "details"}}`` in French."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic_core import PydanticCustomError
from sqlalchemy.exc import DataError, DBAPIError, DisconnectionError, InvalidatePoolError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from certification.errors import DomainError
from certification.settings import get_settings

log = logging.getLogger(__name__)


class Unauthorized(DomainError):
    status_code = 401
    code = "unauthorized"


class PayloadTooLarge(DomainError):
    status_code = 413
    code = "payload_too_large"


class UnsupportedMediaType(DomainError):
    status_code = 415
    code = "unsupported_media_type"


def french_error(kind: str, message: str) -> PydanticCustomError:
    """A validation error of a request body whose (French) message the 422 answer quotes."""
    return PydanticCustomError(kind, message, {"fr": True})


def error_response(status: int, code: str, message: str, details=None, headers=None) -> JSONResponse:
    return JSONResponse(
        status_code=status,
        content={"error": {"code": code, "message": message, "details": details or {}}},
        headers=headers,
    )


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot be reached (server stopped, connection lost, pool
    invalidated, SQLite file unreadable or locked too long) rather than a bug or bad input."""
    try:
        import psycopg
        driver_errors: tuple[type[BaseException], ...] = (psycopg.OperationalError,)
    except ImportError:  # pragma: no cover - psycopg is a dependency
        driver_errors = ()
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, (OperationalError, DisconnectionError, InvalidatePoolError, *driver_errors)):
            return True
        if isinstance(exc, DBAPIError) and exc.connection_invalidated:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def unavailable_response() -> JSONResponse:
    seconds = get_settings().db_retry_after_seconds
    return error_response(
        503, "database_unavailable",
        "Service momentanément indisponible (base de données injoignable). Réessayez dans quelques instants.",
        headers={"Retry-After": str(seconds)},
    )


def _field(loc) -> str:
    return ".".join(str(p) for p in loc if p not in ("body", "query", "path", "header"))


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(_request: Request, exc: DomainError):
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        if exc.status_code == 429 and "retry_after_seconds" in (exc.details or {}):
            headers = {"Retry-After": str(exc.details["retry_after_seconds"])}
        return error_response(exc.status_code, exc.code, exc.message, exc.details, headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError):
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return error_response(400, "malformed_json", "Le corps de la requête n'est pas un JSON valide.")
        fields = [
            {"field": _field(e.get("loc", ())), "message": e.get("msg", ""), "type": e.get("type", "")}
            for e in errors
        ]
        names = ", ".join(f["field"] or "corps" for f in fields)
        # Errors raised with a French message (``french_error``) are quoted in the message itself.
        said = [f"{_field(e.get('loc', ())) or 'corps'} — {e.get('msg', '')}" for e in errors
                if (e.get("ctx") or {}).get("fr")]
        message = f"Données invalides : {names}." + (" " + " ; ".join(said) if said else "")
        return error_response(422, "invalid_input", message, {"fields": fields})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException):
        messages = {404: "Ressource introuvable.", 405: "Méthode non autorisée.", 413: "Requête trop volumineuse."}
        message = exc.detail if isinstance(exc.detail, str) and exc.status_code not in messages else None
        return error_response(
            exc.status_code, f"http_{exc.status_code}", message or messages.get(exc.status_code, str(exc.detail)),
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def out_of_range(_request: Request, exc: Exception):
        # A number too large for the database (an id of 2**70: OverflowError on SQLite, « integer
        # out of range » on PostgreSQL) or a value it cannot store: the input is wrong, not the server.
        log.info("value refused by the database: %s", str(exc).splitlines()[0][:200])
        return error_response(422, "invalid_input", "Données invalides : valeur hors des limites acceptées.")

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, exc: Exception):
        if database_unavailable(exc):
            return await unavailable(request, exc)
        log.exception("database error", exc_info=exc)
        return error_response(500, "internal_error", "Erreur interne ; l'incident est journalisé.")

    @app.exception_handler(OperationalError)
    @app.exception_handler(DisconnectionError)
    @app.exception_handler(InvalidatePoolError)
    async def unavailable(_request: Request, exc: Exception):
        log.warning("database unavailable: %s", str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__)
        return unavailable_response()

    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        pass
    else:
        app.add_exception_handler(psycopg.OperationalError, unavailable)

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception):
        if database_unavailable(exc):  # a DBAPI disconnect, or a driver error SQLAlchemy did not wrap
            log.warning("database unavailable: %s", type(exc).__name__)
            return unavailable_response()
        log.exception("unhandled error", exc_info=exc)
        return error_response(500, "internal_error", "Erreur interne ; l'incident est journalisé.")
