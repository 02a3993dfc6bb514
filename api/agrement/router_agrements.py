"""Granted agréments: consultation, the officer's decisions (suspension, reinstatement,
withdrawal) and the renewal request of a mandataire."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlmodel import Session

from api.pagination import Page
from api.dossier import progress_of
from api.deps import Mandataire, Officer, Principal
from api.idempotency import Call, Responder
from api.agrement.router import agrement_out, agrement_summary
from api.agrement.router import responder as request_responder
from api.uploads import MULTIPART_DOC, parse_metadata, read_multipart, store_pieces
from api.listing import CERTIFICATION, STRUCTURE, list_route, period, state_filter
from api.reads import DossierReads
from api.routes import DossierActions
from api.agrement.schemas import AgrementDetailOut, AgrementOut, RenewalIn, RequestOut
from certification.agrement import actions
from certification.clock import today
from certification.db import session_scope
from certification.models import Structure
from certification.agrement.models import Agrement
from certification.agrement.read_model import agrement_view
from certification.agrement.states import AgrementState
from certification.agrement import service as svc
from certification.agrement import queries as agrement_queries
from certification.agrement import lifecycle

router = APIRouter(prefix="/agrements", tags=["agréments"])

RENEWAL_DOC = {"requestBody": {**MULTIPART_DOC["requestBody"], "required": False}}


def agrement_detail(db: Session, principal: Principal, agrement: Agrement) -> AgrementDetailOut:
    """The API's view of the agrément, mapped from its read model (with its progress and the
    actions this principal may take)."""
    view = agrement_view(db, agrement)
    structure, cert, request = view.structure, view.certification, view.request
    on = today()
    return AgrementDetailOut(
        progress=progress_of(db, Agrement.__tablename__, agrement.id),
        **agrement_summary(agrement, cert).model_dump(),
        structure_name=structure.name,
        structure_siret=structure.siret,
        certification_title=cert.title,
        request_id=agrement.request_id,
        renews_agrement_id=request.previous_agrement_id if request else None,
        renewed_by_agrement_id=view.successor.id if view.successor else None,
        renewal_request_id=view.renewal.id if view.renewal else None,
        days_left=(agrement.end_date - on).days,
        registration_allowed=agrement_queries.registration_allowed(db, agrement.structure_id, cert.id, on),
        allowed_actions=actions.agrement_actions(db, principal.actor, agrement),
    )


responder = Responder(agrement_detail, "agrement_changed")  # then its lifecycle flow


# --- reading -------------------------------------------------------------------------------


list_route(
    router, name="list_agrements", response_model=Page[AgrementOut], summary="Lister les agréments visibles (paginé)",
    rows=agrement_queries.list_agrements, render=lambda db, principal, a: agrement_out(db, a),
    text=lambda db, a: (a.number, db.get(Structure, a.structure_id).name),
    filters=[state_filter(AgrementState, queried=False), STRUCTURE, CERTIFICATION, period("Accordés", "granted_at")],
)


reads = DossierReads(router, id_param="agrement_id", get=agrement_queries.get_agrement,
                     entity_type=Agrement.__tablename__)
reads.read(render=agrement_detail, response_model=AgrementDetailOut, summary="Consulter un agrément")
reads.timeline(summary="Historique de l'agrément (paginé, plus anciens d'abord)")


# --- decisions of the officer ----------------------------------------------------------------


dossier_actions = DossierActions(router, id_param="agrement_id", responder=responder,
                                 response_model=AgrementDetailOut, principal=Officer, digest_path=False)
dossier_actions.add("suspend", lifecycle.suspend, reason=True,
                    summary="Suspendre l'agrément (chargé·e de certification, motif obligatoire)")
dossier_actions.add("reinstate", lifecycle.reinstate, reason=True,
                    summary="Lever la suspension (chargé·e de certification, motif obligatoire)")
dossier_actions.add("withdraw", lifecycle.withdraw, reason=True,
                    summary="Retirer l'agrément (chargé·e de certification, motif obligatoire)")


# --- renewal -------------------------------------------------------------------------------


@router.post(
    "/{agrement_id}/renewal",
    status_code=201,
    response_model=RequestOut,
    summary="Demander le renouvellement de l'agrément (mandataire)",
    description=(
        "Crée une demande d'agrément de type « renewal » qui reprend la structure, la certification, le "
        "périmètre et les pièces de la demande précédente. Formulaire multipart facultatif : un champ "
        "`metadata` (JSON, voir `RenewalIn`) et de nouveaux PDF dont le nom de champ est le type de pièce. "
        "Possible tant que l'agrément est en vigueur ou arrive à échéance, une seule demande à la fois."
    ),
    openapi_extra=RENEWAL_DOC,
    responses={409: {"model": dict}, 413: {"model": dict}, 415: {"model": dict}},
)
async def request_renewal(
    agrement_id: int,
    call: Call,
    principal: Mandataire,
) -> JSONResponse:
    with session_scope() as db:  # 404 before reading and storing any upload
        agrement_queries.get_agrement(db, principal.actor, agrement_id)
    raw, files = await read_multipart(call.http) if "content-type" in call.http.headers else (None, [])
    body = parse_metadata(RenewalIn, raw)
    pieces = store_pieces(files)
    return request_responder(
        call, principal, (agrement_id, body, [(p.kind, p.sha256) for p in pieces]),
        lambda db: svc.request_renewal(
            db, principal.actor, agrement_id, pieces=pieces, motivation=body.motivation
        ),
        201,
    )
