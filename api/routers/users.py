"""Accounts, managed by certification officers."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from sqlmodel import select

from api.pagination import Page, Pager
from api.deps import Principal, require
from api.schemas import MeOut, UserIn
from certification.audit import record_event
from certification.db import session_scope
from certification.errors import NotFound
from certification.models import Role, Structure, User
from certification.services.users import create_user, revoke_user_tokens
from certification.siret import validate_siret

router = APIRouter(prefix="/users", tags=["comptes"])


def _out(u: User) -> MeOut:
    return MeOut(id=u.id, email=u.email, full_name=u.full_name, role=u.role, structure_id=u.structure_id)


@router.post("", response_model=MeOut, status_code=201, summary="Créer un compte (chargé·e de certification)")
def create(body: UserIn, principal: Principal = Depends(require(Role.officer))) -> MeOut:
    with session_scope() as db:
        structure_id = None
        if body.structure_siret:
            siret = validate_siret(body.structure_siret)
            structure = db.exec(select(Structure).where(Structure.siret == siret)).first()
            if structure is None:
                raise NotFound("Structure inconnue pour ce SIRET.", code="structure_not_found")
            structure_id = structure.id
        user = create_user(
            db, email=body.email, full_name=body.full_name, role=body.role,
            password=body.password, structure_id=structure_id, sex=body.sex,
        )
        record_event(
            db, entity_type="users", entity_id=user.id, action="create", actor=principal.actor,
            data={"role": user.role, "email": user.email},
        )
        return _out(user)


@router.get("", response_model=Page[MeOut], summary="Lister les comptes (chargé·e de certification ; paginé)")
def list_users(pager: Pager = Depends(), role: Role | None = Query(default=None, description="Filtrer par rôle"),
               _principal: Principal = Depends(require(Role.officer))) -> Page[MeOut]:
    with session_scope() as db:
        return pager.page(db.exec(select(User)), _out, text=lambda u: (u.full_name, u.email),
                          where=lambda u: role in (None, u.role))


@router.post("/{user_id}/revoke-tokens", summary="Révoquer tous les jetons d'un compte (chargé·e de certification)")
def revoke_tokens(user_id: int, principal: Principal = Depends(require(Role.officer))) -> dict:
    with session_scope() as db:
        if db.get(User, user_id) is None:
            raise NotFound("Compte introuvable.", code="user_not_found")
        count = revoke_user_tokens(db, user_id)
        record_event(db, entity_type="users", entity_id=user_id, action="revoke_tokens",
                     actor=principal.actor, data={"revoked": count})
        return {"user_id": user_id, "revoked": count}
