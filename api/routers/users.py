"""Accounts, managed by certification officers."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlmodel import select

from api.deps import Principal, require
from api.schemas import MeOut, UserIn
from certification.audit import record_event
from certification.db import session_scope
from certification.errors import NotFound
from certification.models import Role, Structure, User
from certification.services.users import create_user
from certification.siret import validate_siret

router = APIRouter(prefix="/users", tags=["comptes"])


def _out(u: User) -> MeOut:
    return MeOut(id=u.id, email=u.email, full_name=u.full_name, role=u.role, structure_id=u.structure_id)


@router.post("", response_model=MeOut, status_code=201, summary="Créer un compte (chargé·e de certification)")
def create(body: UserIn, principal: Principal = Depends(require(Role.officer))) -> MeOut:
    with session_scope() as session:
        structure_id = None
        if body.structure_siret:
            siret = validate_siret(body.structure_siret)
            structure = session.exec(select(Structure).where(Structure.siret == siret)).first()
            if structure is None:
                raise NotFound("Structure inconnue pour ce SIRET.", code="structure_not_found")
            structure_id = structure.id
        user = create_user(
            session, email=body.email, full_name=body.full_name, role=body.role,
            password=body.password, structure_id=structure_id, sex=body.sex,
        )
        record_event(
            session, entity_type="users", entity_id=user.id, action="create", actor=principal.actor,
            data={"role": user.role, "email": user.email},
        )
        return _out(user)


@router.get("", response_model=list[MeOut], summary="Lister les comptes (chargé·e de certification)")
def list_users(_principal: Principal = Depends(require(Role.officer))) -> list[MeOut]:
    with session_scope() as session:
        return [_out(u) for u in session.exec(select(User).order_by(User.id))]
