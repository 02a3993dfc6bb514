"""Public verification of a certificate or attestation (the QR code's target), without login.

Only what anyone may know is shown: status, number, the holder's initials, the certification,
the date. A number without its printed key, or with a forged one, answers « unknown » (200), so
numbers cannot be enumerated. HTML for people, JSON for programs (``Accept: application/json``
or ``?format=json``); never cached, never indexed.
"""

from __future__ import annotations

import secrets
from typing import Literal

from fastapi import APIRouter, Header, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response

from api.certification_schemas import VerificationOut
from api.errors import error_response
from api.public_templates import public_templates
from certification.db import session_scope
from certification.jury import issuance
from certification.settings import get_settings

router = APIRouter(prefix="/verify", tags=["vérification publique"])

MAX_NUMBER_LENGTH = 40
HEADERS = {
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def _quality(accept: str) -> dict[str, float]:
    """``{media type: q}`` of an Accept header."""
    out: dict[str, float] = {}
    for part in accept.split(","):
        media, *params = [p.strip() for p in part.split(";")]
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if media:
            out[media.lower()] = max(out.get(media.lower(), 0.0), q)
    return out


def wants_json(accept: str | None, fmt: str | None) -> bool:
    if fmt:
        return fmt == "json"
    q = _quality(accept or "")
    return q.get("application/json", 0.0) > max(q.get("text/html", 0.0), q.get("application/xhtml+xml", 0.0))


@router.get(
    "/{number}",
    summary="Vérifier un certificat ou une attestation (public, sans authentification)",
    response_model=VerificationOut,
    responses={
        200: {"content": {"text/html": {}, "application/json": {}},
              "description": "Statut valid | revoked | unknown (numéro inconnu ou clé erronée)"},
        404: {"description": "Numéro de plus de 40 caractères"},
    },
)
def verify(
    number: str,
    c: str | None = Query(default=None, description="Clé imprimée dans le QR code"),
    format: Literal["html", "json"] | None = Query(default=None, description="Forcer le format de la réponse"),  # noqa: A002
    accept: str | None = Header(default=None),
) -> Response:
    if len(number) > MAX_NUMBER_LENGTH:
        return error_response(404, "unknown_number", "Numéro de document inconnu.", headers=HEADERS)
    key = c.strip()[:64] if c else None
    if key and not key.isascii():  # a forged key; hmac.compare_digest refuses non-ASCII text
        key = None
    with session_scope() as db:
        result = issuance.verify(db, number, key)
        badges = []
        if result.status == "valid" and not wants_json(accept, format):  # the holder's Open Badges (#15)
            from api.routers.credentials import holder_badges

            badges = holder_badges(db, result.number, key)
    certifier = get_settings().certifier_name
    if wants_json(accept, format):
        body = VerificationOut(**result.model_dump(), certifier_name=certifier)
        return JSONResponse(body.model_dump(mode="json"), headers=HEADERS)
    nonce = secrets.token_urlsafe(16)  # the page's only style sheet is inline, allowed by this nonce
    html = public_templates().get_template("verification.html").render(
        certifier_name=certifier, result=result.model_dump(), csp_nonce=nonce, badges=badges)
    csp = (f"default-src 'none'; style-src 'nonce-{nonce}'; img-src 'self' data:; form-action 'none'; "
           "frame-ancestors 'none'; base-uri 'none'")
    return HTMLResponse(html, headers={**HEADERS, "Content-Security-Policy": csp})
