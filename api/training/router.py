"""EPSP training: sessions planned by formateurs, encadrants registered, attendance per day,
outcome and attestation. A formateur sees and acts on his own sessions only; officers on all;
a structure reads its encadrants' enrollments and attestations."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Query
from sqlmodel import Session

from api.contract import PDF, binary
from api.deps import Principal, current_principal, require
from api.dossier import progress_of
from certification.training.actions import training_waiting_for
from api.flow_helpers import training_attestation_kind
from api.idempotency import Call, Responder
from api.pagination import Page, Pager, in_range, since_query, until_query
from api.reads import DossierReads
from api.schemas import CommentIn, EventOut, ReasonIn, timeline_page
from api.training.schemas import (
    AttendanceIn,
    AttendanceOut,
    EncadrantOut,
    EnrollmentIn,
    EnrollmentOut,
    OutcomeIn,
    RescheduleIn,
    TrainingSessionIn,
    TrainingSessionOut,
    TrainingSessionSummary,
)
from api.uploads import document_out, document_response, owned_document
from certification.audit import timeline
from certification.db import session_scope
from certification.errors import Forbidden
from certification.models import Role, Structure, User
from certification.training import actions
from certification.training import queries as training_queries
from certification.training import service as svc
from certification.training.models import Encadrant, TrainingEnrollment, TrainingSession
from certification.training.read_model import EnrollmentView, TrainingView, training_view
from certification.training.states import (
    ENROLLMENT_STATE_LABELS,
    TRAINING_STATE_LABELS,
    TrainingState,
)
from documents.service import get_document

ENROLLMENT_ENTITY = TrainingEnrollment.__tablename__  # as in flows.training

router = APIRouter(prefix="/training-sessions", tags=["formation EPSP"])
actors = require(Role.formateur, Role.officer)



def _summary(t: TrainingSession, formateur: User, enrolled: int) -> dict:
    return {
        "id": t.id, "reference": t.reference, "title": t.title, "state": t.state,
        "state_label": TRAINING_STATE_LABELS[t.state], "formateur_id": t.formateur_id,
        "formateur_name": formateur.full_name, "days": training_queries.days_of(t), "start_date": t.start_date,
        "end_date": t.end_date, "place": t.place, "capacity": t.capacity, "enrolled": enrolled,
        "waiting_for": training_waiting_for(t),
    }


def _listed(db: Session, t: TrainingSession) -> TrainingSessionSummary:
    enrolled = sum(1 for e in training_queries.enrollments_of(db, t.id)
                   if e.state in training_queries.ACTIVE_ENROLLMENT_STATES)
    return TrainingSessionSummary(**_summary(t, db.get(User, t.formateur_id), enrolled))


def _enrollment_out(db: Session, principal: Principal, view: TrainingView, ev: EnrollmentView) -> EnrollmentOut:
    t, e, encadrant, structure = view.training, ev.enrollment, ev.encadrant, ev.structure
    doc = get_document(db, entity_type=ENROLLMENT_ENTITY, entity_id=ev.id, kind=training_attestation_kind(), version=1)
    return EnrollmentOut(
        id=e.id, encadrant_id=encadrant.id, structure_id=structure.id, structure_name=structure.name,
        last_name=encadrant.last_name, first_names=encadrant.first_names, email=encadrant.email, state=e.state,
        state_label=ENROLLMENT_STATE_LABELS[e.state],
        attendance=[AttendanceOut(day=d, present=e.attendance.get(d.isoformat())) for d in view.days],
        outcome_reason=e.outcome_reason, completed_at=e.completed_at, attestation_number=e.attestation_number,
        attestation=document_out(f"/training-sessions/{t.id}/enrollments/{e.id}", doc) if doc else None,
        allowed_actions=actions.enrollment_actions(db, principal.actor, e),
    )


def session_out(db: Session, principal: Principal, t: TrainingSession) -> TrainingSessionOut:
    db.refresh(t)
    view = training_view(db, t, principal.actor)
    return TrainingSessionOut(
        progress=progress_of(db, TrainingSession.__tablename__, t.id),
        **_summary(t, view.formateur, view.enrolled),
        hours=t.hours, hours_per_day=t.hours_per_day, notes=t.notes, cancel_reason=t.cancel_reason,
        closed_at=t.closed_at, enrollments=[_enrollment_out(db, principal, view, e) for e in view.enrollments],
        allowed_actions=actions.training_actions(db, principal.actor, t),
    )


responder = Responder(session_out, "training_session_changed")


def _session(db: Session, session_id: int) -> TrainingSession:
    return db.get(TrainingSession, session_id)


@router.post("", status_code=201, response_model=TrainingSessionOut,
             summary="Programmer une session de formation EPSP (formateur : la sienne ; chargé·e : pour un formateur)")
def plan(body: TrainingSessionIn, call: Call,
         principal: Principal = Depends(actors)):
    return responder(call, principal, (body,), lambda db: svc.plan_session(
        db, principal.actor, days=body.days, place=body.place, formateur_id=body.formateur_id, title=body.title,
        hours=body.hours, hours_per_day=body.hours_per_day, capacity=body.capacity, notes=body.notes), status=201)


@router.get("", response_model=Page[TrainingSessionSummary], summary="Lister les sessions visibles (paginé)")
def list_sessions(
    pager: Pager = Depends(),
    state: TrainingState | None = Query(default=None, description="Filtrer par état"),
    since: date | None = since_query("Sessions commençant"),
    until: date | None = until_query("Sessions commençant"),
    principal: Principal = Depends(current_principal),
):
    with session_scope() as db:
        return pager.page(
            training_queries.list_sessions(db, principal.actor, state=state),
            lambda t: _listed(db, t),
            text=lambda t: (t.reference, t.title, t.place), where=lambda t: in_range(t.start_date, since, until),
        )


@router.get("/encadrants", response_model=Page[EncadrantOut],
            summary="Encadrants (chargé·e : tous ; structure : les siens ; formateur : ceux de ses sessions ; paginé)")
def list_encadrants(pager: Pager = Depends(),
                    structure_id: int | None = Query(default=None, ge=1, description="Filtrer par structure"),
                    principal: Principal = Depends(current_principal)):
    def render(e: Encadrant) -> EncadrantOut:
        return EncadrantOut(
            id=e.id, structure_id=e.structure_id, structure_name=db.get(Structure, e.structure_id).name,
            last_name=e.last_name, first_names=e.first_names, email=e.email, epsp_trained=e.epsp_trained_on is not None,
            epsp_trained_on=e.epsp_trained_on, epsp_enrollment_id=e.epsp_enrollment_id,
        )

    with session_scope() as db:
        return pager.page(training_queries.list_encadrants(db, principal.actor, structure_id=structure_id), render,
                          text=lambda e: (e.last_name, e.first_names, e.email))


def _session_events(db: Session, principal: Principal, t: TrainingSession) -> list:
    """The session's history, refused to structures: it names other structures' encadrants."""
    if principal.actor.role is Role.structure:
        raise Forbidden("L'historique de la session est réservé au formateur et au certificateur.",
                        code="role_not_allowed")
    return timeline(db, TrainingSession.__tablename__, t.id)


reads = DossierReads(router, id_param="session_id", get=training_queries.get_training_session,
                     entity_type=TrainingSession.__tablename__)
reads.read(render=session_out, response_model=TrainingSessionOut, summary="Consulter une session")
reads.timeline(summary="Historique de la session (paginé, plus anciens d'abord)", events=_session_events)


@router.get("/{session_id}/enrollments/{enrollment_id}/timeline", response_model=Page[EventOut],
            summary="Historique d'une inscription (paginé, plus anciens d'abord)")
def enrollment_timeline(session_id: int, enrollment_id: int, pager: Pager = Depends(),
                        principal: Principal = Depends(current_principal)):
    with session_scope() as db:
        e = training_queries.get_enrollment(db, principal.actor, session_id, enrollment_id)
        return timeline_page(pager, timeline(db, ENROLLMENT_ENTITY, e.id))


@router.get("/{session_id}/enrollments/{enrollment_id}/documents/{document_id}",
            summary="Télécharger l'attestation de formation (PDF)", responses=binary(PDF))
def download_attestation(session_id: int, enrollment_id: int, document_id: int,
                         principal: Principal = Depends(current_principal)):
    with session_scope() as db:
        e = training_queries.get_enrollment(db, principal.actor, session_id, enrollment_id)
        doc = owned_document(db, ENROLLMENT_ENTITY, e.id, document_id)
    return document_response(doc)


@router.post("/{session_id}/reschedule", response_model=TrainingSessionOut,
             summary="Modifier les dates ou le lieu d'une session programmée (nouvelle convocation)")
def reschedule(session_id: int, body: RescheduleIn, call: Call,
               principal: Principal = Depends(actors)):
    return responder(call, principal, (session_id, body), lambda db: svc.reschedule(
        db, principal.actor, session_id, days=body.days, place=body.place, hours=body.hours, notes=body.notes))


@router.post("/{session_id}/enrollments", status_code=201, response_model=TrainingSessionOut,
             summary="Inscrire un encadrant d'une structure",
             responses={409: {"description": "Déjà inscrit, déjà formé ou session complète"}})
def enroll(session_id: int, body: EnrollmentIn, call: Call,
           principal: Principal = Depends(actors)):
    def action(db: Session) -> TrainingSession:
        svc.enroll(db, principal.actor, session_id, structure_id=body.structure_id, last_name=body.last_name,
                   first_names=body.first_names, email=str(body.email))
        return _session(db, session_id)

    return responder(call, principal, (session_id, body), action, status=201)


@router.post("/{session_id}/start", response_model=TrainingSessionOut, summary="Ouvrir la session (premier jour)")
def start(session_id: int, call: Call,
          principal: Principal = Depends(actors)):
    return responder(call, principal, (session_id,),
                     lambda db: svc.start(db, principal.actor, session_id))


@router.post("/{session_id}/attendance", response_model=TrainingSessionOut,
             summary="Relever les présences d'une journée (ouvre la session le premier jour)")
def attendance(session_id: int, body: AttendanceIn, call: Call,
               principal: Principal = Depends(actors)):
    return responder(call, principal, (session_id, body), lambda db: svc.record_attendance(
        db, principal.actor, session_id, day=body.day, present=body.present))


@router.post("/{session_id}/enrollments/{enrollment_id}/outcome", response_model=TrainingSessionOut,
             summary="Enregistrer le résultat : formation achevée (présence à chaque journée) ou non achevée (motif)")
def outcome(session_id: int, enrollment_id: int, body: OutcomeIn, call: Call,
            principal: Principal = Depends(actors)):
    def action(db: Session) -> TrainingSession:
        svc.record_outcome(db, principal.actor, session_id, enrollment_id, completed=body.completed,
                           reason=body.reason)
        return _session(db, session_id)

    return responder(call, principal, (session_id, enrollment_id, body), action)


@router.post("/{session_id}/enrollments/{enrollment_id}/withdraw", response_model=TrainingSessionOut,
             summary="Désinscrire un encadrant")
def withdraw(session_id: int, enrollment_id: int, body: ReasonIn, call: Call,
             principal: Principal = Depends(actors)):
    def action(db: Session) -> TrainingSession:
        svc.withdraw(db, principal.actor, session_id, enrollment_id, body.reason)
        return _session(db, session_id)

    return responder(call, principal, (session_id, enrollment_id, body), action)


@router.post("/{session_id}/close", response_model=TrainingSessionOut,
             summary="Clôturer la session (tous les résultats enregistrés)")
def close(session_id: int, body: CommentIn, call: Call,
          principal: Principal = Depends(actors)):
    return responder(call, principal, (session_id, body),
                     lambda db: svc.close(db, principal.actor, session_id, body.comment))


@router.post("/{session_id}/cancel", response_model=TrainingSessionOut, summary="Annuler la session")
def cancel(session_id: int, body: ReasonIn, call: Call,
           principal: Principal = Depends(actors)):
    return responder(call, principal, (session_id, body),
                     lambda db: svc.cancel(db, principal.actor, session_id, body.reason))
