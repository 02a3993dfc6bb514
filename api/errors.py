"""Error responses as RFC 9457 problem details (``application/problem+json``), in French:
``{"type", "title", "status", "detail", "code", "errors": [...], "details": {...}}``.

``code`` is the stable machine-readable reason; ``errors`` lists the invalid fields of a 422, each
with a JSON pointer into its location (``/structure/siret`` in the body, ``/limit`` in the query)
and a French message; ``details`` carries the domain's extra data (e.g. ``retry_after_seconds``)."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from pydantic_core import PydanticCustomError
from sqlalchemy.exc import DataError, DBAPIError, DisconnectionError, InvalidatePoolError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from certification.errors import DomainError
from certification.settings import get_settings

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
TITLES = {
    400: "Requête invalide",
    401: "Authentification requise",
    403: "Action non autorisée",
    404: "Ressource introuvable",
    405: "Méthode non autorisée",
    406: "Format de réponse non disponible",
    409: "Conflit avec l'état du dossier",
    413: "Requête trop volumineuse",
    415: "Type de contenu non pris en charge",
    422: "Données invalides",
    429: "Trop de requêtes",
    500: "Erreur interne",
}


class Unauthorized(DomainError):
    status_code = 401
    code = "unauthorized"


class PayloadTooLarge(DomainError):
    status_code = 413
    code = "payload_too_large"


class UnsupportedMediaType(DomainError):
    status_code = 415
    code = "unsupported_media_type"


class FieldError(BaseModel):
    location: str = Field(description="body, query, path ou header")
    pointer: str = Field(description="Pointeur JSON (RFC 6901) du champ dans sa source, ex. /structure/siret")
    message: str = Field(description="Message en français")
    type: str = Field(description="Type d'erreur (stable)")


class Problem(BaseModel):
    """An error (RFC 9457 problem details)."""

    type: str = Field(description="URI du type de problème : urn:cqp:problem:<code>")
    title: str
    status: int
    detail: str = Field(description="Explication en français")
    code: str = Field(description="Raison stable, lisible par un programme")
    errors: list[FieldError] = Field(default_factory=list, description="Champs invalides (422)")
    details: dict[str, Any] = Field(default_factory=dict, description="Données complémentaires")


def french_error(kind: str, message: str) -> PydanticCustomError:
    """A validation error of a request body whose (French) message the 422 answer quotes."""
    return PydanticCustomError(kind, message, {"fr": True})


def problem_response(
    status: int,
    code: str,
    detail: str,
    *,
    errors: list[dict] | None = None,
    details: dict | None = None,
    headers: dict | None = None,
) -> JSONResponse:
    body = {
        "type": f"urn:cqp:problem:{code}",
        "title": TITLES.get(status, "Erreur"),
        "status": status,
        "detail": detail,
        "code": code,
        "errors": errors or [],
        "details": details or {},
    }
    return JSONResponse(status_code=status, content=body, headers=headers, media_type=PROBLEM_JSON)


def error_response(status: int, code: str, message: str, details=None, headers=None) -> JSONResponse:
    return problem_response(status, code, message, details=details, headers=headers)


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
        503,
        "database_unavailable",
        "Service momentanément indisponible (base de données injoignable). Réessayez dans quelques instants.",
        headers={"Retry-After": str(seconds)},
    )


# --- validation errors in French -------------------------------------------------------------

MESSAGES = {
    "missing": "champ obligatoire",
    "missing_argument": "champ obligatoire",
    "extra_forbidden": "champ inconnu",
    "repeated": "paramètre donné plusieurs fois",
    "string_type": "une chaîne de caractères est attendue",
    "string_too_short": "au moins {min_length} caractère(s)",
    "string_too_long": "au plus {max_length} caractère(s)",
    "string_pattern_mismatch": "format invalide",
    "string_unicode": "texte invalide (UTF-8 attendu)",
    "int_type": "un nombre entier est attendu",
    "int_parsing": "un nombre entier est attendu",
    "int_from_float": "un nombre entier est attendu",
    "float_type": "un nombre est attendu",
    "float_parsing": "un nombre est attendu",
    "finite_number": "un nombre fini est attendu",
    "bool_type": "un booléen (true ou false) est attendu",
    "bool_parsing": "un booléen (true ou false) est attendu",
    "date_type": "une date AAAA-MM-JJ est attendue",
    "date_parsing": "une date AAAA-MM-JJ est attendue",
    "date_from_datetime_parsing": "une date AAAA-MM-JJ est attendue",
    "date_from_datetime_inexact": "une date sans heure est attendue",
    "datetime_type": "une date et heure ISO 8601 est attendue",
    "datetime_parsing": "une date et heure ISO 8601 est attendue",
    "datetime_from_date_parsing": "une date et heure ISO 8601 est attendue",
    "timezone_aware": "une date et heure avec fuseau horaire est attendue",
    "greater_than": "doit être supérieur à {gt}",
    "greater_than_equal": "doit être supérieur ou égal à {ge}",
    "less_than": "doit être inférieur à {lt}",
    "less_than_equal": "doit être inférieur ou égal à {le}",
    "multiple_of": "doit être un multiple de {multiple_of}",
    "enum": "valeur non reconnue ; valeurs possibles : {expected}",
    "literal_error": "valeur non reconnue ; valeurs possibles : {expected}",
    "list_type": "une liste est attendue",
    "set_type": "une liste est attendue",
    "tuple_type": "une liste est attendue",
    "dict_type": "un objet JSON est attendu",
    "model_type": "un objet JSON est attendu",
    "model_attributes_type": "un objet JSON est attendu",
    "too_short": "au moins {min_length} élément(s)",
    "too_long": "au plus {max_length} élément(s)",
    "url_parsing": "adresse URL invalide",
    "url_scheme": "adresse URL invalide (http ou https)",
    "url_type": "adresse URL invalide",
    "uuid_parsing": "identifiant UUID invalide",
    "json_invalid": "JSON invalide",
    "union_tag_invalid": "type non reconnu",
    "bytes_too_long": "contenu trop volumineux",
    "value_error": "valeur invalide",
    "assertion_error": "valeur invalide",
}


def french_message(error: dict) -> str:
    """The French message of one Pydantic error, chosen by its type (messages we raised in French
    with ``french_error`` or a French ``ValueError`` are kept)."""
    kind, ctx = error.get("type", ""), error.get("ctx") or {}
    if ctx.get("fr"):
        return error.get("msg", "")
    if kind == "value_error":
        reason = str(ctx.get("error", "")) or error.get("msg", "").removeprefix("Value error, ")
        if "mail" in reason.lower():
            return "adresse e-mail invalide"
        return reason if _looks_french(reason) else MESSAGES["value_error"]
    template = MESSAGES.get(kind)
    if template is None:
        return "valeur invalide"
    try:
        return template.format(**{k: str(v).replace("' or '", "', '") for k, v in ctx.items()})
    except (KeyError, IndexError):
        return template.split(" ;")[0].split(" (")[0]


def _looks_french(text: str) -> bool:
    return any(c in text for c in "éèàùçêâîôÉ«") or text.startswith(("Le ", "La ", "Les ", "L'", "Un ", "Une "))


def _escape(part: Any) -> str:
    return str(part).replace("~", "~0").replace("/", "~1")


# How Pydantic names the member of a union that failed (``function-after[_email(), constrained-str]``,
# ``literal['']``, ``str``): not a field, so not a step of the JSON pointer.
_UNION_MEMBER = re.compile(
    r"^(?:[a-z][a-z0-9-]*\[.*\]|[a-z]+(?:-[a-z]+)+|str|int|float|bool|bytes|none|date|datetime)$", re.S
)


def _union_member(part: Any, index: int, error: dict) -> bool:
    last_extra = error.get("type") == "extra_forbidden" and index == len(error.get("loc", ())) - 1
    return isinstance(part, str) and not last_extra and bool(_UNION_MEMBER.match(part))


def field_error(error: dict) -> dict:
    loc = [
        p for i, p in enumerate(error.get("loc", ())) if p != "[key]" and not _union_member(p, i, error)
    ]  # a dict key's own error points at the key
    location = str(loc[0]) if loc and loc[0] in ("body", "query", "path", "header", "cookie") else "body"
    parts = loc[1:] if loc and loc[0] == location else loc
    return {
        "location": location,
        "pointer": "".join(f"/{_escape(p)}" for p in parts),
        "message": french_message(error),
        "type": error.get("type", ""),
    }


def _summary(fields: list[dict]) -> str:
    said = " ; ".join(f"{f['pointer'].lstrip('/').replace('/', '.') or 'corps'} — {f['message']}" for f in fields)
    return f"Données invalides : {said}."


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(_request: Request, exc: DomainError):
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        if exc.status_code == 429 and "retry_after_seconds" in (exc.details or {}):
            headers = {"Retry-After": str(exc.details["retry_after_seconds"])}
        return problem_response(exc.status_code, exc.code, exc.message, details=exc.details, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError):
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return problem_response(400, "malformed_json", "Le corps de la requête n'est pas un JSON valide.")
        fields: list[dict] = []
        for field in map(field_error, errors):  # a union: one error per member, the first one said
            if not any(f["location"] == field["location"] and f["pointer"] == field["pointer"] for f in fields):
                fields.append(field)
        return problem_response(422, "invalid_input", _summary(fields), errors=fields)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException):
        messages = {404: "Ressource introuvable.", 405: "Méthode non autorisée.", 413: "Requête trop volumineuse."}
        message = exc.detail if isinstance(exc.detail, str) and exc.status_code not in messages else None
        return problem_response(
            exc.status_code,
            f"http_{exc.status_code}",
            message or messages.get(exc.status_code, str(exc.detail)),
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def out_of_range(_request: Request, exc: Exception):
        # A number too large for the database (an id of 2**70: OverflowError on SQLite, « integer
        # out of range » on PostgreSQL) or a value it cannot store: the input is wrong, not the server.
        log.info("value refused by the database: %s", str(exc).splitlines()[0][:200])
        return problem_response(422, "invalid_input", "Données invalides : valeur hors des limites acceptées.")

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
        return problem_response(500, "internal_error", "Erreur interne ; l'incident est journalisé.")
