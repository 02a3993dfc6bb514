"""What an actor may read of the EPSP training and of the appuis pédagogiques: the officer and the
system everything, a formateur his own sessions and appuis (and the encadrants enrolled in them), a
structure the sessions its encadrants are enrolled in, its enrolments, encadrants and appuis."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, select
from sqlmodel.sql.expression import SelectOfScalar

from certification.audit import Actor
from certification.errors import Forbidden, NotFound, ValidationFailed
from certification.models import Role, User
from certification.training.models import Appui, Encadrant, TrainingEnrollment, TrainingSession
from certification.training.states import APPUI_STATE_LABELS, TRAINING_STATE_LABELS, EnrollmentState
from certification.visibility import in_state, seen_by, structure_of, visible_one

ACTIVE_ENROLLMENT_STATES = frozenset({EnrollmentState.registered, EnrollmentState.completed,
                                      EnrollmentState.not_completed})


# --- training sessions, enrolments, encadrants ---------------------------------------------


def _session_query(db: Session, actor: Actor) -> SelectOfScalar[TrainingSession]:
    return seen_by(actor, select(TrainingSession).order_by(TrainingSession.start_date, TrainingSession.id), {
        Role.formateur: lambda: TrainingSession.formateur_id == actor.user_id,
        Role.structure: lambda: TrainingSession.id.in_(select(TrainingEnrollment.session_id).where(
            TrainingEnrollment.structure_id == (structure_of(db, actor) or -1))),
    }, refused="Votre rôle ne donne pas accès aux formations EPSP.")


def list_sessions(db: Session, actor: Actor, *, state: str | None = None) -> list[TrainingSession]:
    return list(db.exec(in_state(_session_query(db, actor), TrainingSession, state, TRAINING_STATE_LABELS)))


def get_training_session(db: Session, actor: Actor, training_session_id: int) -> TrainingSession:
    """The session if ``actor`` may see it; 404 otherwise (existence does not leak)."""
    return visible_one(db, actor, _session_query, TrainingSession, training_session_id,
                       missing="Session de formation introuvable.", code="training_session_not_found")


def enrollments_of(db: Session, training_session_id: int, actor: Actor | None = None) -> list[TrainingEnrollment]:
    """Enrollments of a session; a structure account sees only its own encadrants'."""
    query = select(TrainingEnrollment).where(TrainingEnrollment.session_id == training_session_id)
    if actor is not None and actor.role is Role.structure:
        query = query.where(TrainingEnrollment.structure_id == (structure_of(db, actor) or -1))
    return list(db.exec(query.order_by(TrainingEnrollment.id)))


def get_enrollment(db: Session, actor: Actor, training_session_id: int, enrollment_id: int) -> TrainingEnrollment:
    get_training_session(db, actor, training_session_id)
    enrollment = next((e for e in enrollments_of(db, training_session_id, actor) if e.id == enrollment_id), None)
    if enrollment is None:
        raise NotFound("Inscription introuvable.", code="enrollment_not_found")
    return enrollment


def list_encadrants(db: Session, actor: Actor, *, structure_id: int | None = None) -> list[Encadrant]:
    """Officers: every encadrant; a structure: its own; a formateur: those of his sessions."""
    query = select(Encadrant).order_by(Encadrant.structure_id, Encadrant.last_name, Encadrant.id)
    if actor.role is Role.structure:
        query = query.where(Encadrant.structure_id == (structure_of(db, actor) or -1))
    elif actor.role is Role.formateur:
        mine = select(TrainingSession.id).where(TrainingSession.formateur_id == actor.user_id)
        enrolled = select(TrainingEnrollment.encadrant_id).where(TrainingEnrollment.session_id.in_(mine))
        query = query.where(Encadrant.id.in_(enrolled))
    elif actor.role not in (Role.officer, Role.system):
        raise Forbidden("Votre rôle ne donne pas accès aux encadrants.", code="role_not_allowed")
    if structure_id is not None:
        query = query.where(Encadrant.structure_id == structure_id)
    return list(db.exec(query))


def active_formateur(db: Session, user_id: int) -> User:
    """The account ``user_id`` if it is an active formateur EPSP (who holds sessions and appuis)."""
    user = db.get(User, user_id)
    if user is None or user.role != Role.formateur.value or not user.active:
        raise ValidationFailed("Le compte désigné n'est pas un formateur EPSP actif.", code="not_a_formateur")
    return user


def epsp_trained(db: Session, structure_id: int) -> bool:
    """Whether the structure has at least one EPSP-trained encadrant (agrément prerequisite)."""
    return db.exec(
        select(Encadrant.id).where(Encadrant.structure_id == structure_id, Encadrant.epsp_trained_on.is_not(None))
    ).first() is not None


def days_of(training: TrainingSession) -> list[date]:
    return [date.fromisoformat(d) for d in training.days]


# --- appuis pédagogiques -------------------------------------------------------------------


def _appui_query(db: Session, actor: Actor) -> SelectOfScalar[Appui]:
    return seen_by(actor, select(Appui).order_by(Appui.id.desc()), {
        Role.formateur: lambda: Appui.formateur_id == actor.user_id,
        Role.structure: lambda: Appui.structure_id == (structure_of(db, actor) or -1),
    }, refused="Votre rôle ne donne pas accès aux appuis pédagogiques.")


def list_appuis(db: Session, actor: Actor, *, state: str | None = None) -> list[Appui]:
    return list(db.exec(in_state(_appui_query(db, actor), Appui, state, APPUI_STATE_LABELS)))


def get_appui(db: Session, actor: Actor, appui_id: int) -> Appui:
    """The appui if ``actor`` may see it; 404 otherwise (existence does not leak)."""
    return visible_one(db, actor, _appui_query, Appui, appui_id, missing="Appui pédagogique introuvable.",
                       code="appui_not_found")
