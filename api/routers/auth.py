"""Authentication: e-mail + password give an opaque bearer token."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from api.deps import Principal, current_principal
from api.errors import Unauthorized
from api.throttle import throttle
from api.schemas import MeOut, TokenIn, TokenOut
from certification.db import session_scope
from certification.services.users import login
from certification.settings import get_settings

router = APIRouter(prefix="/auth", tags=["authentification"])


@router.post("/token", response_model=TokenOut, summary="Obtenir un jeton d'accès",
             responses={401: {"model": dict}, 429: {"model": dict, "description": "Trop de tentatives échouées"}})
def token(body: TokenIn, request: Request) -> TokenOut:
    ttl = get_settings().token_ttl_hours
    client = request.client.host if request.client else "?"
    throttle.check(body.email, client)
    with session_scope() as session:
        result = login(session, body.email, body.password, ttl_hours=ttl)
        if result is None:
            throttle.failed(body.email, client)
            raise Unauthorized("Identifiants incorrects.", code="bad_credentials")
        throttle.succeeded(body.email)
        user, access_token = result
        return TokenOut(access_token=access_token, expires_in=ttl * 3600, role=user.role, user_id=user.id)


@router.get("/me", response_model=MeOut, summary="Mon compte")
def me(principal: Principal = Depends(current_principal)) -> MeOut:
    u = principal.user
    return MeOut(id=u.id, email=u.email, full_name=u.full_name, role=u.role, structure_id=u.structure_id)
