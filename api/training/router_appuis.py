"""Appuis pédagogiques: requested by a structure (or an officer), entrusted to a formateur EPSP,
visit programmed (.ics) and reported. A formateur sees the appuis entrusted to him; a structure
its own; officers all."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlmodel import Session

from api.contract import PDF, binary
from api.deps import FormateurOrOfficer, Officer, Principal, StructureOrOfficer, current_principal, require
from api.dossier import progress_of
from certification.training.actions import appui_waiting_for
from api.idempotency import Call, Responder
from api.pagination import Page
from api.listing import STRUCTURE, list_route, period, state_filter, summary_of
from api.reads import DossierReads
from api.routes import DossierActions
from api.training.schemas import AppuiAssignIn, AppuiFileOut, AppuiIn, AppuiOut, AppuiReportIn, AppuiSummary
from api.uploads import dossier_upload, file_response, store_pieces
from certification.db import session_scope
from certification.errors import NotFound, ValidationFailed
from certification.models import Role, Structure, User
from certification.settings import get_settings
from certification.training import actions
from certification.training import appuis as svc
from certification.training import queries as training_queries
from certification.training.models import Appui
from certification.training.read_model import appui_view
from certification.training.states import APPUI_STATE_LABELS, AppuiState

router = APIRouter(prefix="/appuis", tags=["appuis pédagogiques"])

REPORT_FILES = {"compte_rendu": "compte rendu de l'appui (PDF, facultatif)"}


def _fields(a: Appui, structure: Structure, formateur: User | None) -> dict:
    return {
        "id": a.id, "reference": a.reference, "state": a.state, "state_label": APPUI_STATE_LABELS[a.state],
        "subject": a.subject, "structure_id": a.structure_id, "structure_name": structure.name,
        "structure_region": structure.region, "formateur_id": a.formateur_id,
        "formateur_name": formateur.full_name if formateur else None, "visit_at": a.visit_at,
        "reported_at": a.reported_at, "created_at": a.created_at, "waiting_for": appui_waiting_for(a),
    }


def _summary(db: Session, a: Appui) -> dict:
    return _fields(a, db.get(Structure, a.structure_id), db.get(User, a.formateur_id) if a.formateur_id else None)


def appui_out(db: Session, principal: Principal, a: Appui) -> AppuiOut:
    view = appui_view(db, a)
    f = a.report_file
    return AppuiOut(
        progress=progress_of(db, Appui.__tablename__, a.id),
        **_fields(a, view.structure, view.formateur),
        need=a.need, visit_end=a.visit_end, visit_place=a.visit_place, visit_notes=a.visit_notes,
        report_text=a.report_text, cancel_reason=a.cancel_reason,
        report_file=AppuiFileOut(original_name=f["original_name"], size=f["size"], sha256=f["sha256"],
                                 url=f"/appuis/{a.id}/file") if f else None,
        allowed_actions=actions.appui_actions(db, principal.actor, a),
    )


responder = Responder(appui_out, "appui_changed")


@router.post("", status_code=201, response_model=AppuiOut,
             summary="Demander un appui pédagogique (structure : pour elle-même ; chargé·e : pour une structure)")
def request_appui(body: AppuiIn, call: Call, principal: StructureOrOfficer):
    return responder(call, principal, (body,), lambda db: svc.request_appui(
        db, principal.actor, subject=body.subject, need=body.need, structure_id=body.structure_id), status=201)


list_route(
    router, name="list_appuis", response_model=Page[AppuiSummary], summary="Lister les appuis visibles (paginé)",
    rows=training_queries.list_appuis, render=summary_of(AppuiSummary, _summary),
    text=lambda db, a: (a.reference, a.subject, db.get(Structure, a.structure_id).name),
    filters=[state_filter(AppuiState), STRUCTURE, period("Demandés", "created_at")],
)


reads = DossierReads(router, id_param="appui_id", get=training_queries.get_appui, entity_type=Appui.__tablename__)
reads.read(render=appui_out, response_model=AppuiOut, summary="Consulter un appui")
reads.timeline(summary="Historique de l'appui (paginé, plus anciens d'abord)")


@router.get("/{appui_id}/file", summary="Télécharger le compte rendu déposé (PDF)", responses=binary(PDF))
def download_file(appui_id: int, principal: Principal = Depends(current_principal)):
    with session_scope() as db:
        a = training_queries.get_appui(db, principal.actor, appui_id)
        f = a.report_file
        if not f:
            raise NotFound("Aucun fichier de compte rendu.", code="file_not_found")
    return file_response(get_settings().data_dir / f["relative_path"], f["original_name"], f["content_type"])


dossier_actions = DossierActions(router, id_param="appui_id", responder=responder, response_model=AppuiOut,
                                 principal=Officer, digest_path=False)
dossier_actions.add("assign", lambda db, actor, i, body: svc.assign(db, actor, i, body.formateur_id),
                    model=AppuiAssignIn, summary="Confier l'appui à un formateur EPSP (chargé·e)")
dossier_actions.visit(svc.schedule_visit, principal=FormateurOrOfficer,
                    summary="Programmer ou déplacer l'intervention (formateur désigné ou chargé·e)")


@router.post("/{appui_id}/report", response_model=AppuiOut,
             summary="Déposer le compte rendu (formateur désigné) : métadonnées JSON + PDF « compte_rendu » facultatif")
async def report(appui_id: int, call: Call,
                 principal: Principal = Depends(require(Role.formateur))):
    body, files = await dossier_upload(call.http, training_queries.get_appui, principal.actor, appui_id,
                                       AppuiReportIn, REPORT_FILES)
    if len(files) > 1:
        raise ValidationFailed("Un seul fichier de compte rendu (PDF).", code="too_many_files")
    stored = store_pieces(files)
    return responder(call, principal, (appui_id, body, [f.sha256 for f in stored]),
                     lambda db: svc.report(db, principal.actor, appui_id, text=body.text,
                                         file=stored[0] if stored else None))


dossier_actions.add("cancel", svc.cancel, reason=True,
                    principal=Annotated[Principal, Depends(require(Role.officer, Role.structure))],
                    summary="Annuler l'appui (chargé·e ; la structure tant qu'il n'est pas confié)")
