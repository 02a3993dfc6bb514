"""Recours against a jury's decision: filed by the candidate's structure (or an officer) within
two months of the results, then admissibility and decision by the officer. There is no appeal
flow: the jury session's flow sends the letters and issues the new documents, so every change
of an appeal runs the flow of its session."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request
from fastapi.responses import JSONResponse
from sqlmodel import Session

from api.certification_schemas import AppealIn, AppealOut, UpholdIn
from api.pagination import Page, Pager, in_range, since_query, until_query
from api.contract import PDF, binary
from api.dossier import CONDITIONAL, Conditional, progress_of
from api.deps import Principal, idempotency_key, require
from api.idempotency import respond
from api.schemas import EventOut, ReasonIn, timeline_page
from api.uploads import document_out, file_response
from certification.audit import timeline
from certification.db import session_scope
from certification.errors import NotFound
from certification.models import Appeal, Candidate, JurySession, Role
from certification.processes.certification import APPEAL, APPEAL_STATE_LABELS, AppealState
from certification.services import appeals as svc
from certification.settings import get_settings
from documents.models import GeneratedDocument
from documents.service import list_documents
from flows import dispatch

router = APIRouter(prefix="/appeals", tags=["recours"])

ENTITY = Appeal.__tablename__
ACTIONS = {
    "admissible": "declare_admissible",
    "inadmissible": "declare_inadmissible",
    "reject": "reject",
    "uphold": "uphold",
}
READERS = (Role.officer, Role.structure)


def allowed_actions(principal: Principal, appeal: Appeal) -> list[str]:
    names = {t.name for t in APPEAL.available(appeal.state, principal.actor.role)}
    return [a for a, t in ACTIONS.items() if t in names]


def appeal_out(session: Session, principal: Principal, appeal: Appeal) -> AppealOut:
    candidate = session.get(Candidate, appeal.candidate_id)
    jury = session.get(JurySession, appeal.session_id)
    return AppealOut(
        progress=progress_of(session, Appeal.__tablename__, appeal.id),
        id=appeal.id, reference=appeal.reference, state=appeal.state, state_label=APPEAL_STATE_LABELS[appeal.state],
        candidate_id=candidate.id, candidate_reference=candidate.reference,
        candidate_name=f"{candidate.first_names} {candidate.last_name}", session_id=jury.id,
        session_reference=jury.reference, grounds=appeal.grounds, decision_reason=appeal.decision_reason,
        filed_at=appeal.filed_at, deadline=svc.deadline_of(jury),
        documents=[document_out(f"/appeals/{appeal.id}", d) for d in list_documents(session, ENTITY, appeal.id)],
        allowed_actions=allowed_actions(principal, appeal),
    )


def _respond(http, background, principal, key, digest_parts, action, status: int = 200) -> JSONResponse:
    """Apply ``action(session) -> recours``, answer it, then run the flow of its jury session
    (which sends the letters of the appeal and, when upheld, the new PV and documents)."""
    sessions: list[int] = []

    def tracked(session: Session) -> Appeal:
        appeal = action(session)
        sessions.append(appeal.session_id)
        return appeal

    async def jury_flow(_appeal_id: int) -> None:
        for session_id in sessions:
            await dispatch.jury_changed(session_id)

    return respond(
        http, background, user_id=principal.actor.user_id, key=key, digest_parts=digest_parts, action=tracked,
        render=lambda session, appeal: appeal_out(session, principal, appeal), on_change=jury_flow, status=status,
    )


@router.post("", status_code=201, response_model=AppealOut,
             summary="Déposer un recours (structure du candidat ou chargé·e), dans les 2 mois des résultats",
             responses={409: {"description": "Délai expiré (appeal_too_late), résultats non notifiés, recours en cours"}})
def file_appeal(body: AppealIn, http: Request, background: BackgroundTasks,
                principal: Principal = Depends(require(Role.structure, Role.officer)),
                key: str | None = Depends(idempotency_key)):
    return _respond(http, background, principal, key, (body,), lambda s: svc.file_appeal(
        s, principal.actor, candidate_id=body.candidate_id, session_id=body.session_id, grounds=body.grounds,
    ), status=201)


@router.get("", response_model=Page[AppealOut],
            summary="Lister les recours (chargé·e : tous ; structure : les siens ; paginé)")
def list_appeals(
    pager: Pager = Depends(),
    state: AppealState | None = Query(default=None, description="Filtrer par état"),
    session_id: int | None = Query(default=None, ge=1, description="Filtrer par session de jury"),
    since: date | None = since_query("Déposés"),
    until: date | None = until_query("Déposés"),
    principal: Principal = Depends(require(*READERS)),
):
    with session_scope() as session:
        return pager.page(
            svc.list_appeals(session, principal.actor), lambda a: appeal_out(session, principal, a),
            text=lambda a: (a.reference,),
            where=lambda a: (state in (None, a.state) and session_id in (None, a.session_id)
                             and in_range(a.filed_at, since, until)),
        )


@router.get("/{appeal_id}", response_model=AppealOut, summary="Consulter un recours", responses=CONDITIONAL)
def read(appeal_id: int, principal: Principal = Depends(require(*READERS)),
         conditional: Conditional = Depends()):
    with session_scope() as session:
        return conditional.respond(appeal_out(session, principal, svc.get_appeal(session, principal.actor, appeal_id)))


@router.get("/{appeal_id}/timeline", response_model=Page[EventOut],
            summary="Historique du recours (paginé, plus anciens d'abord)")
def read_timeline(appeal_id: int, pager: Pager = Depends(), principal: Principal = Depends(require(*READERS))):
    with session_scope() as session:
        appeal = svc.get_appeal(session, principal.actor, appeal_id)
        return timeline_page(pager, timeline(session, ENTITY, appeal.id))


@router.get("/{appeal_id}/documents/{document_id}", summary="Télécharger une lettre du recours (PDF)", responses=binary(PDF))
def download_document(appeal_id: int, document_id: int, principal: Principal = Depends(require(*READERS))):
    with session_scope() as session:
        appeal = svc.get_appeal(session, principal.actor, appeal_id)
        doc = session.get(GeneratedDocument, document_id)
        if doc is None or doc.entity_type != ENTITY or doc.entity_id != appeal.id:
            raise NotFound("Document introuvable.", code="document_not_found")
    return file_response(get_settings().data_dir / doc.relative_path, doc.filename, doc.content_type)


@router.post("/{appeal_id}/admissible", response_model=AppealOut, summary="Déclarer le recours recevable (chargé·e)")
def declare_admissible(appeal_id: int, http: Request, background: BackgroundTasks,
                       principal: Principal = Depends(require(Role.officer)),
                       key: str | None = Depends(idempotency_key)):
    return _respond(http, background, principal, key, (appeal_id, "admissible"),
                    lambda s: svc.declare_admissible(s, principal.actor, appeal_id))


@router.post("/{appeal_id}/inadmissible", response_model=AppealOut,
             summary="Déclarer le recours irrecevable (chargé·e, motif)")
def declare_inadmissible(appeal_id: int, body: ReasonIn, http: Request, background: BackgroundTasks,
                         principal: Principal = Depends(require(Role.officer)),
                         key: str | None = Depends(idempotency_key)):
    return _respond(http, background, principal, key, (appeal_id, "inadmissible", body),
                    lambda s: svc.declare_inadmissible(s, principal.actor, appeal_id, body.reason))


@router.post("/{appeal_id}/reject", response_model=AppealOut, summary="Rejeter le recours (chargé·e, motif)")
def reject(appeal_id: int, body: ReasonIn, http: Request, background: BackgroundTasks,
           principal: Principal = Depends(require(Role.officer)), key: str | None = Depends(idempotency_key)):
    return _respond(http, background, principal, key, (appeal_id, "reject", body),
                    lambda s: svc.reject(s, principal.actor, appeal_id, body.reason))


@router.post("/{appeal_id}/uphold", response_model=AppealOut,
             summary="Déclarer le recours fondé : nouveaux résultats, nouveau PV et nouveaux documents (chargé·e)")
def uphold(appeal_id: int, body: UpholdIn, http: Request, background: BackgroundTasks,
           principal: Principal = Depends(require(Role.officer)), key: str | None = Depends(idempotency_key)):
    return _respond(http, background, principal, key, (appeal_id, "uphold", body),
                    lambda s: svc.uphold(s, principal.actor, appeal_id, results=body.results, reason=body.reason))
