"""Authentication: e-mail + password give an opaque bearer token."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, Field

from api.deps import Principal, bearer, current_principal
from api.errors import Unauthorized
from api.security import client_address
from api.throttle import throttle
from api.schemas import MeOut, TokenIn, TokenOut
from certification.db import session_scope
from certification.audit import record_event
from certification.models import User
from certification.services.users import change_password, login, revoke_token
from certification.settings import get_settings

router = APIRouter(prefix="/auth", tags=["authentification"])


@router.post("/token", response_model=TokenOut, summary="Obtenir un jeton d'accès",
             responses={401: {"model": dict}, 429: {"model": dict, "description": "Trop de tentatives échouées"}})
def token(body: TokenIn, request: Request) -> TokenOut:
    ttl = get_settings().token_ttl_hours
    client = client_address(request)
    throttle.check(body.email, client)
    with session_scope() as db:
        result = login(db, body.email, body.password, ttl_hours=ttl)
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


@router.post("/logout", status_code=204, summary="Se déconnecter (révoque le jeton utilisé)")
def logout(principal: Principal = Depends(current_principal),
           credentials: HTTPAuthorizationCredentials = Depends(bearer)) -> None:
    with session_scope() as db:
        revoke_token(db, credentials.credentials)
        record_event(db, entity_type="users", entity_id=principal.user.id, action="logout",
                     actor=principal.actor)


class PasswordChangeIn(BaseModel):
    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=1, max_length=200)


@router.post("/password", status_code=204, summary="Changer mon mot de passe",
             responses={422: {"model": dict, "description": "Mot de passe actuel incorrect ou trop faible"}})
def password(body: PasswordChangeIn, principal: Principal = Depends(current_principal)) -> None:
    with session_scope() as db:
        user = db.get(User, principal.user.id)
        change_password(db, user, body.current_password, body.new_password)
        record_event(db, entity_type="users", entity_id=user.id, action="password_change",
                     actor=principal.actor)
