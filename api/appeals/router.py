"""Recours against a jury's decision: filed by the candidate's structure (or an officer) within
two months of the results, then admissibility and decision by the officer. There is no appeal
flow: the jury session's flow sends the letters and issues the new documents, so every change
of an appeal runs the flow of its session."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlmodel import Session

from api.appeals.schemas import AppealIn, AppealOut, UpholdIn
from api.pagination import Page
from api.dossier import progress_of
from api.deps import Officer, Principal, StructureOrOfficer, require
from api.idempotency import Call, Responder
from api.listing import SESSION, list_route, period, state_filter
from api.reads import DossierReads
from api.routes import DossierActions
from api.uploads import documents_out
from certification.appeals.actions import appeal_actions
from certification.appeals.models import Appeal
from certification.appeals.read_model import appeal_view
from certification.models import Role
from certification.appeals.states import APPEAL_STATE_LABELS, AppealState
from certification.appeals import service as svc
from certification.appeals import queries as appeal_queries

router = APIRouter(prefix="/appeals", tags=["recours"])

ENTITY = Appeal.__tablename__
READERS = (Role.officer, Role.structure)


def appeal_out(db: Session, principal: Principal, appeal: Appeal) -> AppealOut:
    """The API's view of the appeal, mapped from its read model (with its progress, documents and
    the actions this principal may take)."""
    view = appeal_view(db, appeal)
    candidate, jury = view.candidate, view.jury
    return AppealOut(
        progress=progress_of(db, Appeal.__tablename__, appeal.id),
        id=appeal.id, reference=appeal.reference, state=appeal.state, state_label=APPEAL_STATE_LABELS[appeal.state],
        candidate_id=candidate.id, candidate_reference=candidate.reference,
        candidate_name=view.candidate_name, session_id=jury.id,
        session_reference=jury.reference, grounds=appeal.grounds, decision_reason=appeal.decision_reason,
        filed_at=appeal.filed_at, deadline=view.deadline,
        documents=documents_out(db, f"/appeals/{appeal.id}", ENTITY, appeal.id),
        allowed_actions=appeal_actions(db, principal.actor, appeal),
    )


# An appeal has no flow: that of its jury session sends its letters and, when upheld, the new PV
# and documents.
responder = Responder(appeal_out, "jury_changed", flow_of=lambda appeal: appeal.session_id)


@router.post("", status_code=201, response_model=AppealOut,
             summary="Déposer un recours (structure du candidat ou chargé·e), dans les 2 mois des résultats",
             responses={409: {"description": "Délai expiré (appeal_too_late), résultats non notifiés, recours en cours"}})
def file_appeal(body: AppealIn, call: Call, principal: StructureOrOfficer):
    return responder(call, principal, (body,), lambda db: svc.file_appeal(
        db, principal.actor, candidate_id=body.candidate_id, jury_session_id=body.session_id, grounds=body.grounds,
    ), status=201)


list_route(
    router, name="list_appeals", response_model=Page[AppealOut],
    summary="Lister les recours (chargé·e : tous ; structure : les siens ; paginé)",
    rows=appeal_queries.list_appeals, render=appeal_out, text=lambda db, a: (a.reference,),
    filters=[state_filter(AppealState, queried=False), SESSION, period("Déposés", "filed_at")],
    reader=Depends(require(*READERS)),
)


reads = DossierReads(router, id_param="appeal_id", get=appeal_queries.get_appeal, entity_type=ENTITY,
                     reader=Depends(require(*READERS)))
reads.read(render=appeal_out, response_model=AppealOut, summary="Consulter un recours")
reads.timeline(summary="Historique du recours (paginé, plus anciens d'abord)")
reads.document(summary="Télécharger une lettre du recours (PDF)")


dossier_actions = DossierActions(router, id_param="appeal_id", responder=responder, response_model=AppealOut,
                                 principal=Officer)
dossier_actions.add("admissible", svc.declare_admissible, name="declare_admissible",
                    summary="Déclarer le recours recevable (chargé·e)")
dossier_actions.add("inadmissible", svc.declare_inadmissible, name="declare_inadmissible", reason=True,
                    summary="Déclarer le recours irrecevable (chargé·e, motif)")
dossier_actions.add("reject", svc.reject, reason=True, summary="Rejeter le recours (chargé·e, motif)")


@router.post("/{appeal_id}/uphold", response_model=AppealOut,
             summary="Déclarer le recours fondé : nouveaux résultats, nouveau PV et nouveaux documents (chargé·e)")
def uphold(appeal_id: int, body: UpholdIn, call: Call, principal: Officer):
    return responder(call, principal, (appeal_id, "uphold", body),
                     lambda db: svc.uphold(db, principal.actor, appeal_id, results=body.results, reason=body.reason))
