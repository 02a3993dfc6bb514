"""Open Badges 3.0: the certifier's public profile, keys (JWKS), status list and achievement
definitions; the public verification of a credential (pasted or baked in a badge image); the
badge images for the holder (with the number and key of the QR code) and for the officer and the
structure (certificate's page).

Public routes need no login and expose no private key nor personal data beyond what a credential
already carries. HTML for people, JSON for programs (``Accept: application/json``).
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Depends, File, Form, Header, Query, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field

from api.deps import Principal, require
from api.errors import error_response
from api.pagination import Page, Pager
from api.routers.verification import HEADERS, wants_json
from api.types import UtcDateTime
from api.public_templates import public_templates
from certification import keys
from certification.db import session_scope
from certification.errors import NotFound
from certification.models import Bloc, Certification, Role
from certification.jury.models import Certificate
from certification.models_credentials import Credential
from certification.services import credentials as svc
from certification.jury import queries as jury_queries
from certification.jury import issuance
from certification.services.referential import blocs_of
from certification.settings import get_settings
from documents import badge

router = APIRouter(tags=["justificatifs numériques (Open Badges)"])
PUBLIC = {"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"}
MAX_TOKEN_LENGTH = 64 * 1024


# --- the issuer's public material --------------------------------------------------------------


@router.get("/.well-known/jwks.json", summary="Clés publiques du certificateur (JWKS), anciennes comprises")
def jwks() -> JSONResponse:
    return JSONResponse(keys.public_jwks(), headers=PUBLIC)


@router.get("/credentials/issuer", summary="Profil de l'émetteur des Open Badges")
def issuer() -> JSONResponse:
    return JSONResponse(svc.issuer_profile(), headers=PUBLIC)


@router.get("/credentials/status/1", summary="Liste de statut (révocations), signée (Bitstring Status List, VC-JWT)",
            responses={200: {"content": {"application/vc+jwt": {}}}})
def status_list() -> Response:
    with session_scope() as db:
        token = svc.signed_status_list(db)
    return Response(token, media_type="application/vc+jwt", headers={"Cache-Control": "no-cache",
                                                                      "Access-Control-Allow-Origin": "*"})


def _certification(db, code: str) -> Certification:
    from sqlmodel import select

    cert = db.exec(select(Certification).where(Certification.code == code[:20])).first()
    if cert is None:
        raise NotFound("Certification inconnue.", code="unknown_certification")
    return cert


@router.get("/credentials/achievements/{certification_code}", summary="Définition d'une certification (Achievement)")
def certification_achievement(certification_code: str) -> JSONResponse:
    with session_scope() as db:
        cert = _certification(db, certification_code)
        body = {"@context": [svc.VC_CONTEXT, svc.OB_CONTEXT], **svc.achievement(cert, None, None),
                "blocs": [svc.achievement_id(cert.code, b.code) for b in blocs_of(db, cert.id)]}
    return JSONResponse(body, headers=PUBLIC)


@router.get("/credentials/achievements/{certification_code}/{bloc_code}",
            summary="Définition d'un bloc de compétences (Achievement)")
def bloc_achievement(certification_code: str, bloc_code: str) -> JSONResponse:
    from sqlmodel import select

    with session_scope() as db:
        cert = _certification(db, certification_code)
        # The version in force first, then the earlier ones (their holders' badges point here too).
        bloc = next((b for b in blocs_of(db, cert.id) if b.code == bloc_code), None) or db.exec(
            select(Bloc).where(Bloc.certification_id == cert.id, Bloc.code == bloc_code[:20])
            .order_by(Bloc.id.desc())).first()
        if bloc is None:
            raise NotFound("Bloc de compétences inconnu.", code="unknown_bloc")
        body = {"@context": [svc.VC_CONTEXT, svc.OB_CONTEXT], **svc.achievement(cert, bloc.code, bloc.title)}
    return JSONResponse(body, headers=PUBLIC)


# --- public verification of a credential ----------------------------------------------------------


def _page(result: svc.CredentialCheck | None, error: str | None = None, status_code: int = 200) -> HTMLResponse:
    html = public_templates().get_template("credential_verification.html").render(
        certifier_name=get_settings().certifier_name, result=result, summary=result.summary if result else None,
        error=error)
    return HTMLResponse(html, status_code=status_code, headers=HEADERS)


@router.get("/credentials/verify", response_class=HTMLResponse,
            summary="Page publique de vérification d'un justificatif numérique (Open Badges)")
def verify_form() -> HTMLResponse:
    return _page(None)


@router.post(
    "/credentials/verify",
    summary="Vérifier un justificatif collé (VC-JWT) ou une image de badge (PNG) (public)",
    responses={200: {"content": {"text/html": {}, "application/json": {}},
                     "description": "valid | revoked | altered | unknown_issuer | expired | not_yet_valid"},
               413: {"description": "Image de plus de 2 Mo (la page, ou un problème JSON avec format=json)",
                     "content": {"text/html": {}, "application/problem+json": {}}},
               422: {"description": "Rien de vérifiable transmis (la page, ou un problème JSON avec format=json)",
                     "content": {"text/html": {}, "application/problem+json": {}}}},
)
async def verify_credential(
    credential: str | None = Form(default=None, description="Le justificatif (JWT compact)"),
    image: UploadFile | None = File(default=None, description="Une image de badge PNG contenant le justificatif"),
    format: str | None = Query(default=None, description="json pour forcer une réponse JSON"),  # noqa: A002
    accept: str | None = Header(default=None),
) -> Response:
    as_json = wants_json(accept, format)
    token = (credential or "").strip()
    if not token and image is not None and image.filename:
        data = await image.read(badge.MAX_IMAGE_BYTES + 1)
        if len(data) > badge.MAX_IMAGE_BYTES:
            return _refuse(as_json, 413, "image_too_large", "L'image dépasse 2 Mo : transmettez l'image du badge reçue.")
        token = badge.unbake(data) or ""
        if not token:
            return _refuse(as_json, 422, "no_credential_in_image",
                           "Cette image ne contient pas de justificatif Open Badges : transmettez l'image PNG du "
                           "badge telle que vous l'avez reçue, ou collez le justificatif.")
    if not token:
        return _refuse(as_json, 422, "nothing_to_verify", "Collez un justificatif ou transmettez l'image d'un badge.")
    if len(token) > MAX_TOKEN_LENGTH:
        return _refuse(as_json, 422, "credential_too_long", "Ce justificatif est trop long pour être l'un des nôtres.")
    with session_scope() as db:
        result = svc.verify_credential(db, token)
    if as_json:
        return JSONResponse({"status": result.status, "label": result.label, "message": result.message,
                             "kid": result.kid, "checks": result.checks, **result.summary}, headers=HEADERS)
    return _page(result)


def _refuse(as_json: bool, status: int, code: str, message: str) -> Response:
    if as_json:
        return error_response(status, code, message, headers=HEADERS)
    return _page(None, error=message, status_code=status)


# --- badge images -----------------------------------------------------------------------------------


def _png(db, credential: Credential) -> Response:
    certificate = db.get(Certificate, credential.certificate_id)
    return Response(badge.badge_for(db, credential), media_type="image/png", headers={
        **HEADERS, "Content-Disposition": f'attachment; filename="{badge.filename_for(certificate, credential)}"'})


def _current(db, certificate: Certificate) -> list[Credential]:
    return [c for c in svc.credentials_of(db, certificate.id, version=certificate.version) if c.revoked_at is None]


@router.get("/verify/{number}/badges/{credential_uuid}.png", summary="Badge du titulaire (numéro et clé du QR code)",
            responses={200: {"content": {"image/png": {}}}, 404: {"description": "Numéro, clé ou badge inconnu"}})
def holder_badge(number: str, credential_uuid: str, c: str | None = Query(default=None)) -> Response:
    from sqlmodel import select

    key = (c or "").strip()[:64]
    if not key.isascii() or not hmac.compare_digest(issuance.checksum(number[:40]), key):
        return error_response(404, "unknown_badge", "Badge introuvable.", headers=HEADERS)
    with session_scope() as db:
        certificate = db.exec(select(Certificate).where(Certificate.number == number[:40])).first()
        found = [x for x in _current(db, certificate) if x.credential_uuid == credential_uuid] \
            if certificate is not None else []
        if not found:
            return error_response(404, "unknown_badge", "Badge introuvable.", headers=HEADERS)
        return _png(db, found[0])


def holder_badges(db, number: str, key: str) -> list[dict]:
    """The badges the public verification page offers (valid certificate, right key)."""
    from sqlmodel import select

    certificate = db.exec(select(Certificate).where(Certificate.number == number)).first()
    if certificate is None:
        return []
    return [{"label": c.bloc_code or "Certification", "url": f"/verify/{number}/badges/{c.credential_uuid}.png?c={key}"}
            for c in _current(db, certificate)]


class CredentialOut(BaseModel):
    """One Open Badge of a certificate: the certification's or a bloc's, of one version of the certificate."""

    id: int
    achievement: str = Field(description="Code de la certification ou du bloc")
    bloc_code: str | None
    version: int = Field(description="Version du certificat que le justificatif atteste")
    issued_at: UtcDateTime
    revoked_at: UtcDateTime | None
    revoked_reason: str | None
    status_index: int
    kid: str
    jwt: str
    badge_url: str


@router.get("/certificates/{certificate_id}/credentials", response_model=Page[CredentialOut],
            summary="Justificatifs Open Badges d'un certificat (chargé·e ; structure : ses candidats ; paginé)")
def list_credentials(certificate_id: int, pager: Pager = Depends(),
                     principal: Principal = Depends(require(Role.officer, Role.structure))) -> Page[CredentialOut]:
    with session_scope() as db:
        certificate = jury_queries.get_certificate(db, principal.actor, certificate_id)
        return pager.page(
            svc.credentials_of(db, certificate.id),
            lambda c: CredentialOut(
                id=c.id, achievement=c.achievement_key, bloc_code=c.bloc_code, version=c.certificate_version,
                issued_at=c.issued_at, revoked_at=c.revoked_at, revoked_reason=c.revoked_reason,
                status_index=c.status_index, kid=c.kid, jwt=c.jwt,
                badge_url=f"/certificates/{certificate_id}/credentials/{c.id}/badge.png"),
            text=lambda c: (c.achievement_key, c.bloc_code),
        )


@router.get("/certificates/{certificate_id}/credentials/{credential_id}/badge.png",
            summary="Télécharger le badge (PNG avec le justificatif intégré)", responses={200: {"content": {"image/png": {}}}})
def download_badge(certificate_id: int, credential_id: int,
                   principal: Principal = Depends(require(Role.officer, Role.structure))) -> Response:
    with session_scope() as db:
        certificate = jury_queries.get_certificate(db, principal.actor, certificate_id)
        credential = db.get(Credential, credential_id)
        if credential is None or credential.certificate_id != certificate.id:
            raise NotFound("Badge introuvable.", code="badge_not_found")
        return _png(db, credential)
