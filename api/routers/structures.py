"""Structures (ACI) and their declared links, the basis of conflict-of-interest checks (officers)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlmodel import select

from api.controle_schemas import LinkIn, LinkOut, StructureOut
from api.deps import Principal, require
from api.schemas import EventOut
from certification.audit import timeline
from certification.db import session_scope
from certification.errors import NotFound
from certification.models import Role, Structure, StructureLink
from certification.services import conflicts

router = APIRouter(prefix="/structures", tags=["structures"])
officer = require(Role.officer)


def _structure(session, structure_id: int) -> Structure:
    structure = session.get(Structure, structure_id)
    if structure is None:
        raise NotFound("Structure introuvable.", code="structure_not_found")
    return structure


@router.get("", response_model=list[StructureOut], summary="Lister les structures (chargé·e)")
def list_structures(_principal: Principal = Depends(officer)):
    with session_scope() as session:
        return [StructureOut.model_validate(s, from_attributes=True)
                for s in session.exec(select(Structure).order_by(Structure.name))]


@router.get("/{structure_id}/links", response_model=list[LinkOut], summary="Liens déclarés avec la structure")
def list_links(structure_id: int, _principal: Principal = Depends(officer)):
    with session_scope() as session:
        _structure(session, structure_id)
        rows = session.exec(select(StructureLink).where(StructureLink.structure_id == structure_id))
        return [LinkOut.model_validate(r, from_attributes=True) for r in rows]


@router.post("/{structure_id}/links", response_model=LinkOut, status_code=201,
             summary="Déclarer un lien (accompagnement, formation, emploi, contrôle) avec la structure")
def declare_link(structure_id: int, body: LinkIn, principal: Principal = Depends(officer)):
    with session_scope() as session:
        row = conflicts.declare_link(session, principal.actor, user_id=body.user_id, structure_id=structure_id,
                                     kind=body.kind, reason=body.reason)
        return LinkOut.model_validate(row, from_attributes=True)


@router.get("/{structure_id}/timeline", response_model=list[EventOut], summary="Historique de la structure")
def structure_timeline(structure_id: int, _principal: Principal = Depends(officer)):
    with session_scope() as session:
        _structure(session, structure_id)
        return [EventOut.model_validate(e, from_attributes=True)
                for e in timeline(session, Structure.__tablename__, structure_id)]
