"""Agrément requests: submission with PDF pieces, instruction steps, decision, timeline."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlmodel import Session

from api.pagination import Page
from api.dossier import progress_of
from api.deps import Mandataire, Officer, Principal
from api.idempotency import Call, Responder
from api.uploads import MULTIPART_DOC, documents_out, dossier_upload, parse_metadata, read_multipart, store_pieces
from api.listing import CERTIFICATION, STRUCTURE, list_route, period, state_filter, summary_of
from api.reads import DossierReads
from api.routes import DossierActions
from api.agrement.schemas import (
    AgrementOut,
    AvisIn,
    ComplementsIn,
    ComplementsRequestIn,
    DecisionIn,
    PieceOut,
    RequestOut,
    RequestSummary,
    SubmissionIn,
)
from api.schemas import CommentIn
from certification.agrement.actions import request_waiting_for
from certification.agrement import actions
from certification.audit import timeline
from certification.models import Certification, Structure
from certification.agrement.models import Agrement, AgrementRequest
from certification.agrement.read_model import request_view
from certification.agrement.states import AGREMENT_STATE_LABELS, REQUEST_STATE_LABELS, RequestState
from certification.agrement import service as svc
from certification.agrement import queries as agrement_queries

router = APIRouter(prefix="/agrement-requests", tags=["demandes d'agrément"])


def _summary_of(request: AgrementRequest, structure: Structure, cert: Certification) -> dict:
    return {
        "id": request.id,
        "reference": request.reference,
        "state": request.state,
        "state_label": REQUEST_STATE_LABELS[request.state],
        "structure_name": structure.name,
        "structure_siret": structure.siret,
        "structure_region": structure.region,
        "certification_code": cert.code,
        "submitted_at": request.submitted_at,
        "waiting_for": request_waiting_for(request),
    }


def _summary(db: Session, request: AgrementRequest) -> dict:
    return _summary_of(request, db.get(Structure, request.structure_id),
                       db.get(Certification, request.certification_id))


def agrement_summary(agrement: Agrement, cert: Certification) -> AgrementOut:
    """An agrément as the lists and its request show it (``cert``: its certification)."""
    return AgrementOut(
        id=agrement.id, number=agrement.number, state=agrement.state,
        state_label=AGREMENT_STATE_LABELS[agrement.state], structure_id=agrement.structure_id,
        certification_code=cert.code, start_date=agrement.start_date, end_date=agrement.end_date,
        scope=agrement.scope,
    )


def agrement_out(db: Session, agrement: Agrement) -> AgrementOut:
    return agrement_summary(agrement, db.get(Certification, agrement.certification_id))


def request_out(db: Session, principal: Principal, request: AgrementRequest) -> RequestOut:
    """The API's view of the request, mapped from its read model (with its progress, documents and
    the actions this principal may take)."""
    view = request_view(db, request)
    return RequestOut(
        progress=progress_of(db, AgrementRequest.__tablename__, request.id),
        **_summary_of(request, view.structure, view.certification),
        kind=request.kind,
        round=request.round,
        mandataire_id=request.mandataire_id,
        mandataire_name=view.mandataire.full_name,
        scope=request.scope,
        motivation=request.motivation,
        last_submitted_at=request.last_submitted_at,
        complement_request=request.complement_request,
        complements_deadline=request.complements_deadline,
        avis=request.avis,
        avis_comment=request.avis_comment,
        avis_deadline=request.avis_deadline,
        decision_reason=request.decision_reason,
        decided_at=request.decided_at,
        agrement=agrement_summary(view.agrement, view.certification) if view.agrement else None,
        pieces=[PieceOut.model_validate(p, from_attributes=True) for p in view.pieces],
        documents=documents_out(db, f"/agrement-requests/{request.id}", AgrementRequest.__tablename__, request.id),
        allowed_actions=actions.request_actions(db, principal.actor, request),
    )


responder = Responder(request_out, "agrement_request_changed")


# --- endpoints -----------------------------------------------------------------------------


@router.post(
    "",
    status_code=201,
    response_model=RequestOut,
    summary="Déposer une demande d'agrément (mandataire)",
    description=(
        "Formulaire multipart : un champ `metadata` (JSON, voir `SubmissionIn`) et des PDF dont le nom de "
        "champ est le type de pièce (`dossier` et `attestation_epsp` obligatoires pour la recevabilité). "
        "En-tête `Idempotency-Key` recommandé."
    ),
    openapi_extra=MULTIPART_DOC,
    responses={413: {"model": dict}, 415: {"model": dict}, 409: {"model": dict}},
)
async def submit(
    call: Call,
    principal: Mandataire,
) -> JSONResponse:
    raw, files = await read_multipart(call.http)
    body = parse_metadata(SubmissionIn, raw)
    pieces = store_pieces(files)

    def action(db: Session) -> AgrementRequest:
        return svc.submit_request(
            db, principal.actor,
            structure=svc.StructureIn(**body.structure.model_dump()),
            certification_code=body.certification_code,
            pieces=pieces, scope=body.scope, motivation=body.motivation,
            previous_agrement_id=body.previous_agrement_id,
        )

    return responder(call, principal, (body, [(p.kind, p.sha256) for p in pieces]), action, 201)


list_route(
    router, name="list_requests", response_model=Page[RequestSummary], rows=agrement_queries.list_requests,
    summary="Lister les demandes visibles (paginé, plus récentes d'abord)", render=summary_of(RequestSummary, _summary),
    text=lambda db, r: (r.reference, db.get(Structure, r.structure_id).name), key=lambda r: (-r.id,),
    filters=[state_filter(RequestState), STRUCTURE, CERTIFICATION, period("Déposées", "submitted_at")],
)


def _request_events(db: Session, principal: Principal, request: AgrementRequest) -> list:
    """The request's history, then that of the agrément it issued."""
    events = timeline(db, AgrementRequest.__tablename__, request.id)
    agrement = agrement_queries.agrement_of(db, request.id)
    if agrement:
        events += timeline(db, Agrement.__tablename__, agrement.id)
    return events


reads = DossierReads(router, id_param="request_id", get=agrement_queries.get_request,
                     entity_type=AgrementRequest.__tablename__)
reads.read(render=request_out, response_model=RequestOut, summary="Consulter une demande")
reads.timeline(summary="Historique de la demande et de l'agrément délivré (paginé, plus anciens d'abord)",
               events=_request_events)
reads.document(summary="Télécharger un document généré (PDF)")


reads.uploaded_file(path="pieces", file_param="piece_id", files_of=agrement_queries.pieces_of,
                    missing="Pièce introuvable.", code="piece_not_found", name="download_piece",
                    summary="Télécharger une pièce déposée")


@router.post(
    "/{request_id}/complements", response_model=RequestOut, openapi_extra=MULTIPART_DOC,
    summary="Transmettre les compléments demandés (mandataire)",
)
async def provide_complements(
    request_id: int,
    call: Call,
    principal: Mandataire,
) -> JSONResponse:
    body, files = await dossier_upload(call.http, agrement_queries.get_request, principal.actor, request_id,
                                       ComplementsIn)
    pieces = store_pieces(files)
    return responder(
        call, principal, (request_id, body, [(p.kind, p.sha256) for p in pieces]),
        lambda db: svc.provide_complements(db, principal.actor, request_id, comment=body.comment, pieces=pieces),
    )


dossier_actions = DossierActions(router, id_param="request_id", responder=responder, response_model=RequestOut,
                                 principal=Officer, digest_path=False)
dossier_actions.add("request-complements", lambda db, actor, i, body: svc.request_complements(
    db, actor, i, body.message, deadline_days=body.deadline_days), model=ComplementsRequestIn,
    summary="Demander des compléments (chargé·e de certification)")
dossier_actions.add("admissible", lambda db, actor, i, body: svc.declare_admissible(db, actor, i, body.comment),
                    model=CommentIn, name="declare_admissible",
                    summary="Déclarer la demande recevable (chargé·e de certification)")
dossier_actions.add("avis", lambda db, actor, i, body: svc.give_avis(db, actor, i, body.avis, body.comment),
                    model=AvisIn, name="give_avis", principal=Mandataire, summary="Rendre l'avis (mandataire)")


@router.post("/{request_id}/decision", response_model=RequestOut,
             summary="Décider : accorder ou refuser l'agrément (chargé·e de certification)")
def decide(
    request_id: int, body: DecisionIn, call: Call,
    principal: Officer,
) -> JSONResponse:
    def action(db: Session) -> AgrementRequest:
        if body.decision == "grant":
            request, _ = svc.grant(
                db, principal.actor, request_id, start_date=body.start_date, end_date=body.end_date,
                scope=body.scope, comment=body.reason,
            )
            return request
        return svc.refuse(db, principal.actor, request_id, body.reason)

    return responder(call, principal, (request_id, body), action)


dossier_actions.add("withdraw", svc.withdraw, reason=True, principal=Mandataire,
                    summary="Retirer la demande (mandataire)")
