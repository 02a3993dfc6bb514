"""Granted agréments (read side; the lifecycle actions come with the contrôles)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.deps import Principal, current_principal
from api.routers.agrement_requests import agrement_out
from api.schemas import AgrementOut, EventOut
from certification.audit import timeline
from certification.db import session_scope
from certification.models import Agrement
from certification.services import agrement as svc

router = APIRouter(prefix="/agrements", tags=["agréments"])


@router.get("", response_model=list[AgrementOut], summary="Lister les agréments visibles")
def list_agrements(principal: Principal = Depends(current_principal)) -> list[AgrementOut]:
    with session_scope() as session:
        return [agrement_out(session, a) for a in svc.list_agrements(session, principal.actor)]


@router.get("/{agrement_id}", response_model=AgrementOut, summary="Consulter un agrément")
def read(agrement_id: int, principal: Principal = Depends(current_principal)) -> AgrementOut:
    with session_scope() as session:
        return agrement_out(session, svc.get_agrement(session, principal.actor, agrement_id))


@router.get("/{agrement_id}/timeline", response_model=list[EventOut], summary="Historique de l'agrément")
def read_timeline(agrement_id: int, principal: Principal = Depends(current_principal)) -> list[EventOut]:
    with session_scope() as session:
        agrement = svc.get_agrement(session, principal.actor, agrement_id)
        return [
            EventOut.model_validate(e, from_attributes=True)
            for e in timeline(session, Agrement.__tablename__, agrement.id)
        ]
