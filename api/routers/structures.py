"""Structures (ACI) and their declared links, the basis of conflict-of-interest checks (officers)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from sqlmodel import select

from api.deps import Principal, require
from api.pagination import Page, Pager
from api.schemas import EventOut, LinkIn, LinkOut, StructureOut, timeline_page
from certification.audit import timeline
from certification.db import session_scope
from certification.errors import NotFound
from certification.models import Role, Structure, StructureLink
from certification.services import conflicts

router = APIRouter(prefix="/structures", tags=["structures"])
officer = require(Role.officer)


def _structure(db, structure_id: int) -> Structure:
    structure = db.get(Structure, structure_id)
    if structure is None:
        raise NotFound("Structure introuvable.", code="structure_not_found")
    return structure


@router.get("", response_model=Page[StructureOut], summary="Lister les structures (chargé·e ; paginé, par nom)")
def list_structures(pager: Pager = Depends(),
                    region: str | None = Query(default=None, min_length=1, max_length=100,
                                               description="Filtrer par région (nom exact)"),
                    _principal: Principal = Depends(officer)):
    with session_scope() as db:
        return pager.page(db.exec(select(Structure)), lambda db: StructureOut.model_validate(db, from_attributes=True),
                          key=lambda db: (db.name, db.id), text=lambda db: (db.name, db.siret),
                          where=lambda db: region in (None, db.region))


@router.get("/{structure_id}/links", response_model=Page[LinkOut], summary="Liens déclarés avec la structure (paginé)")
def list_links(structure_id: int, pager: Pager = Depends(), _principal: Principal = Depends(officer)):
    with session_scope() as db:
        _structure(db, structure_id)
        rows = db.exec(select(StructureLink).where(StructureLink.structure_id == structure_id))
        return pager.page(rows, lambda r: LinkOut.model_validate(r, from_attributes=True))


@router.post("/{structure_id}/links", response_model=LinkOut, status_code=201,
             summary="Déclarer un lien (accompagnement, formation, emploi, contrôle) avec la structure")
def declare_link(structure_id: int, body: LinkIn, principal: Principal = Depends(officer)):
    with session_scope() as db:
        row = conflicts.declare_link(db, principal.actor, user_id=body.user_id, structure_id=structure_id,
                                     kind=body.kind, reason=body.reason)
        return LinkOut.model_validate(row, from_attributes=True)


@router.get("/{structure_id}/timeline", response_model=Page[EventOut],
            summary="Historique de la structure (paginé, plus anciens d'abord)")
def structure_timeline(structure_id: int, pager: Pager = Depends(), _principal: Principal = Depends(officer)):
    with session_scope() as db:
        _structure(db, structure_id)
        return timeline_page(pager, timeline(db, Structure.__tablename__, structure_id))
