"""Who may do what now on a session of the EPSP training, an enrolment and an appui pédagogique
(see :mod:`certification.actions` for the rule shared by every process): the names of the API's
action endpoints, which the back-office forms reuse, that an actor may take in their current state."""

from __future__ import annotations

from sqlmodel import Session

from certification.actions import available_transitions, named_actions
from certification.audit import Actor
from certification.models import Role
from certification.training.models import Appui, TrainingEnrollment, TrainingSession
from certification.training.states import APPUI, ENROLLMENT, TRAINING_SESSION, AppuiState, TrainingState

# Action name -> transition name, per machine (the actions that are transitions of it).
TRAINING_ACTIONS = {"reschedule": "reschedule", "start": "start", "close": "close", "cancel": "cancel"}
ENROLLMENT_ACTIONS = {"complete": "complete", "fail": "fail", "withdraw": "withdraw"}
APPUI_ACTIONS = {"assign": "assign", "visit": "schedule_visit", "report": "report", "cancel": "cancel"}


def training_actions(_session: Session, actor: Actor, training: TrainingSession) -> list[str]:
    """Structures only read their enrolments; the staff runs the session."""
    if actor.role is Role.structure:
        return []
    actions = named_actions(TRAINING_ACTIONS, available_transitions(TRAINING_SESSION, training.state, actor.role))
    if training.state in (TrainingState.planned, TrainingState.in_progress):
        actions += ["enroll", "attendance"]
    return actions


def enrollment_actions(db: Session, actor: Actor, enrollment: TrainingEnrollment) -> list[str]:
    """The outcome of an enrolment is recorded while its session is in progress."""
    training = db.get(TrainingSession, enrollment.session_id)
    assert training is not None  # a foreign key
    names = set() if actor.role is Role.structure else available_transitions(ENROLLMENT, enrollment.state, actor.role)
    if training.state != TrainingState.in_progress:
        names -= {"complete", "fail"}
    return named_actions(ENROLLMENT_ACTIONS, names)


def appui_actions(_session: Session, actor: Actor, appui: Appui) -> list[str]:
    """The structure may cancel its request only until it is assigned."""
    names = available_transitions(APPUI, appui.state, actor.role)
    if actor.role is Role.structure and appui.state != AppuiState.requested:
        names.discard("cancel")
    return named_actions(APPUI_ACTIONS, names)


def training_waiting_for(training: TrainingSession) -> str | None:
    return {
        TrainingState.planned: f"formateur : inscriptions, puis session à partir du {training.start_date:%d/%m/%Y}",
        TrainingState.in_progress: "formateur : présences et résultats, puis clôture",
    }.get(TrainingState(training.state))


def appui_waiting_for(appui: Appui) -> str | None:
    return {
        AppuiState.requested: "chargé·e de certification : désigner un formateur",
        AppuiState.assigned: "formateur : programmer la visite",
        AppuiState.scheduled: "formateur : visite puis compte rendu",
    }.get(AppuiState(appui.state))
