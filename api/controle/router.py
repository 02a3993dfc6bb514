"""Contrôles d'agrément: planning, assignment (conflicts of interest refused), visit, report,
decision, action plan. Contrôleurs see only the contrôles entrusted to them."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends
from sqlmodel import Session

from api.controle.schemas import (
    AssignIn,
    ControleDecisionIn,
    ControleFileOut,
    ControleOut,
    ControlePlanIn,
    ControleSummary,
    EvidenceIn,
    ReportIn,
    SampleIn,
)
from api.contract import multipart_body, pdf_files
from api.deps import ControleurOrOfficer, Officer, Principal, StructureOrOfficer, require
from api.dossier import progress_of
from certification.controle.actions import controle_waiting_for
from api.idempotency import Call, Responder, fingerprint, run_idempotent
from api.pagination import Page
from api.listing import STRUCTURE, list_route, period, state_filter, summary_of
from api.reads import DossierReads
from api.routes import DossierActions
from api.schemas import CommentIn
from api.uploads import documents_out, dossier_upload, store_pieces
from certification.controle import actions
from certification.controle import queries as controle_queries
from certification.controle import service as svc
from certification.controle.models import Controle
from certification.controle.read_model import controle_view
from certification.controle.states import CONTROLE_STATE_LABELS, ControleState
from certification.db import session_scope
from certification.models import Role, Structure, User
from certification.agrement.models import Agrement
from certification.services import conflicts
from flows import dispatch

log = logging.getLogger(__name__)
router = APIRouter(prefix="/controles", tags=["contrôles d'agrément"])

REPORT_FILES = {"rapport": "rapport de contrôle signé (PDF)"}
EVIDENCE_FILES = {"evidence": "preuve de réalisation du plan d'actions (PDF)"}
EVIDENCE_DOC = multipart_body({"evidence": pdf_files("PDF : preuves de réalisation du plan d'actions", minItems=1)},
                              required=["evidence"])


def _summary_of(c: Controle, agrement: Agrement, structure: Structure, controleur: User | None) -> dict:
    return {
        "id": c.id, "reference": c.reference, "kind": c.kind, "state": c.state,
        "state_label": CONTROLE_STATE_LABELS[c.state], "agrement_id": c.agrement_id,
        "agrement_number": agrement.number, "structure_id": c.structure_id, "structure_name": structure.name,
        "controleur_id": c.controleur_id, "controleur_name": controleur.full_name if controleur else None,
        "visit_at": c.visit_at, "action_plan_deadline": c.action_plan_deadline, "waiting_for": controle_waiting_for(c),
    }


def _summary(db: Session, c: Controle) -> dict:
    """A contrôle in the listing (its agrément, structure and contrôleur only, not its read model)."""
    return _summary_of(c, db.get(Agrement, c.agrement_id), db.get(Structure, c.structure_id),
                       db.get(User, c.controleur_id) if c.controleur_id else None)


def controle_out(db: Session, principal: Principal, c: Controle) -> ControleOut:
    """The API's view of the contrôle, mapped from its read model (with its progress, documents and
    the actions this principal may take)."""
    view = controle_view(db, c)
    return ControleOut(
        progress=progress_of(db, Controle.__tablename__, c.id),
        **_summary_of(c, view.agrement, view.structure, view.controleur),
        reason=c.reason, visit_end=c.visit_end, visit_place=c.visit_place, visit_notes=c.visit_notes,
        findings=c.findings, report_summary=c.report_summary, report_submitted_at=c.report_submitted_at,
        decision=c.decision, decision_reason=c.decision_reason, action_plan_items=c.action_plan_items,
        files=[ControleFileOut.model_validate(f, from_attributes=True) for f in view.files],
        documents=documents_out(db, f"/controles/{c.id}", Controle.__tablename__, c.id),
        allowed_actions=actions.controle_actions(db, principal.actor, c),
    )


responder = Responder(controle_out, "controle_changed")


@router.post("", status_code=201, response_model=ControleOut, summary="Planifier un contrôle sur demande (chargé·e)")
def plan(body: ControlePlanIn, call: Call, principal: Officer):
    return responder(
        call, principal, (body,),
        lambda db: svc.plan_controle(db, principal.actor, body.agrement_id, kind="on_demand", reason=body.reason),
        status=201,
    )


@router.post("/sample", status_code=201, response_model=list[ControleSummary],
             summary="Planifier des contrôles par échantillonnage (chargé·e)")
def sample(body: SampleIn, call: Call, principal: Officer):
    planned: list[int] = []

    def work(db: Session):
        controles = svc.sample_controles(db, principal.actor, count=body.count, seed=body.seed)
        planned.extend(c.id for c in controles)
        return 201, [ControleSummary(**_summary(db, c)) for c in controles]

    response = run_idempotent(user_id=principal.actor.user_id, key=call.key, method=call.http.method,
                              path=call.http.url.path, digest=fingerprint(body), work=work)
    for controle_id in planned:
        call.background.add_task(dispatch.controle_changed, controle_id)
    return response


list_route(
    router, name="list_controles", response_model=Page[ControleSummary], rows=controle_queries.list_controles,
    summary="Lister les contrôles visibles (paginé)", render=summary_of(ControleSummary, _summary),
    text=lambda db, c: (c.reference, db.get(Structure, c.structure_id).name),
    filters=[state_filter(ControleState), STRUCTURE, period("Ouverts", "created_at")],
)


reads = DossierReads(router, id_param="controle_id", get=controle_queries.get_controle,
                     entity_type=Controle.__tablename__)
reads.read(render=controle_out, response_model=ControleOut, summary="Consulter un contrôle")
reads.timeline(summary="Historique du contrôle (paginé, plus anciens d'abord)")
reads.document(summary="Télécharger un document du contrôle (PDF)")


reads.uploaded_file(path="files", file_param="file_id", files_of=controle_queries.files_of,
                    missing="Fichier introuvable.", code="file_not_found", name="downloadfile_response",
                    summary="Télécharger le rapport ou une preuve déposée")


@router.post("/{controle_id}/assign", response_model=ControleOut,
             summary="Confier le contrôle à un contrôleur indépendant (chargé·e)",
             responses={409: {"description": "Conflit d'intérêts ou contrôle déjà confié"}})
def assign(controle_id: int, body: AssignIn, call: Call, principal: Officer):
    try:
        return responder(call, principal, (controle_id, body),
                         lambda db: svc.assign(db, principal.actor, controle_id, body.controleur_id))
    except conflicts.ConflictOfInterest as exc:
        log.warning("assignment refused for contrôle %s: %s", controle_id, exc.message)
        with session_scope() as db:
            conflicts.record_refusal(db, principal.actor, exc, entity_type=Controle.__tablename__,
                                     entity_id=controle_id, action="assign")
        raise


dossier_actions = DossierActions(router, id_param="controle_id", responder=responder, response_model=ControleOut,
                                 principal=Officer, digest_path=False)
dossier_actions.visit(svc.schedule_visit, principal=ControleurOrOfficer,
                    summary="Programmer ou déplacer la visite (contrôleur désigné ou chargé·e)")


@router.post("/{controle_id}/report", response_model=ControleOut,
             summary="Déposer le rapport (contrôleur désigné) : métadonnées JSON + PDF « rapport »")
async def submit_report(controle_id: int, call: Call,
                        principal: Principal = Depends(require(Role.controleur))):
    body, files = await dossier_upload(call.http, controle_queries.get_controle, principal.actor, controle_id,
                                       ReportIn, REPORT_FILES)
    stored = store_pieces(files)
    return responder(call, principal, (controle_id, body, [f.sha256 for f in stored]),
                     lambda db: svc.submit_report(db, principal.actor, controle_id,
                                                findings=[f.model_dump() for f in body.findings],
                                                summary=body.summary, files=stored))


@router.post("/{controle_id}/decision", response_model=ControleOut, summary="Décider sur le rapport (chargé·e)")
def decide(controle_id: int, body: ControleDecisionIn, call: Call, principal: Officer):
    def action(db: Session) -> Controle:
        c = svc.decide(db, principal.actor, controle_id, decision=body.decision, reason=body.reason,
                       action_plan_items=body.action_plan_items, action_plan_deadline=body.action_plan_deadline)
        if body.decision in ("suspension", "withdrawal"):
            call.background.add_task(dispatch.agrement_changed, c.agrement_id)
        return c

    return responder(call, principal, (controle_id, body), action)


@router.post("/{controle_id}/evidence", response_model=ControleOut, openapi_extra=EVIDENCE_DOC,
             summary="Déposer des preuves du plan d'actions (structure) : PDF « evidence »")
async def add_evidence(controle_id: int, call: Call, principal: StructureOrOfficer):
    body, files = await dossier_upload(call.http, controle_queries.get_controle, principal.actor, controle_id,
                                       EvidenceIn, EVIDENCE_FILES)
    stored = store_pieces(files)
    return responder(call, principal, (controle_id, body, [f.sha256 for f in stored]),
                     lambda db: svc.add_evidence(db, principal.actor, controle_id, stored, body.comment))


dossier_actions.add("close-action-plan", lambda db, actor, i, body: svc.close_action_plan(db, actor, i, body.comment),
                    model=CommentIn, summary="Clôturer le plan d'actions sur preuves (chargé·e)")
dossier_actions.add("cancel", svc.cancel, reason=True, summary="Annuler le contrôle (chargé·e)")
