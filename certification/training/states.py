"""The EPSP training of encadrants and the appuis pédagogiques, as explicit state machines."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from certification.clock import today
from certification.models import Role
from certification.statemachine import StateMachine, transition
from certification.visits import visit_held


# --- training sessions ---------------------------------------------------------------------


class TrainingState(StrEnum):
    planned = "planned"
    in_progress = "in_progress"
    closed = "closed"
    cancelled = "cancelled"


TRAINING_STATE_LABELS = {
    TrainingState.planned: "programmée",
    TrainingState.in_progress: "en cours",
    TrainingState.closed: "clôturée",
    TrainingState.cancelled: "annulée",
}

DEFAULT_TITLE = "Formation EPSP des encadrants (Encadrant Pédagogique en Situation de Production)"
MAX_DAYS = 15


def _first_day_reached(training: Any, ctx: Mapping[str, Any]) -> str | None:
    if ctx.get("today", today()) < training.start_date:
        return f"La session ne commence que le {training.start_date:%d/%m/%Y}."
    return None


def pending_outcomes_refusal(pending: Sequence[str]) -> str | None:
    """Why a session may not be closed: the encadrants whose outcome is still to record."""
    if pending:
        return "Résultat à enregistrer pour : " + ", ".join(pending) + "."
    return None


def _every_outcome_recorded(training: Any, ctx: Mapping[str, Any]) -> str | None:
    return pending_outcomes_refusal(ctx.get("pending", ()))


def _nobody_completed(training: Any, ctx: Mapping[str, Any]) -> str | None:
    if ctx.get("completed_count"):
        return "Des encadrants ont déjà achevé la formation : la session ne peut plus être annulée."
    return None


TRAINING_SESSION = StateMachine(
    name="training_session",
    states=TRAINING_STATE_LABELS,
    transitions=[
        transition("reschedule", [TrainingState.planned], TrainingState.planned, [Role.formateur, Role.officer], "modifier les dates ou le lieu"),
        transition("start", [TrainingState.planned], TrainingState.in_progress, [Role.formateur, Role.officer, Role.system], "ouvrir la session",
                   guards=[_first_day_reached]),
        transition("close", [TrainingState.in_progress], TrainingState.closed, [Role.formateur, Role.officer], "clôturer la session",
                   guards=[_every_outcome_recorded]),
        transition("cancel", [TrainingState.planned, TrainingState.in_progress], TrainingState.cancelled, [Role.formateur, Role.officer], "annuler la session",
                   guards=[_nobody_completed], requires_reason=True),
    ],
)


# --- enrollments ---------------------------------------------------------------------------


class EnrollmentState(StrEnum):
    registered = "registered"
    completed = "completed"
    not_completed = "not_completed"
    withdrawn = "withdrawn"


ENROLLMENT_STATE_LABELS = {
    EnrollmentState.registered: "inscrit",
    EnrollmentState.completed: "formation achevée",
    EnrollmentState.not_completed: "formation non achevée",
    EnrollmentState.withdrawn: "désinscrit",
}


def _session_in_progress(enrollment: Any, ctx: Mapping[str, Any]) -> str | None:
    if ctx.get("session_state") != TrainingState.in_progress:
        return "Le résultat ne s'enregistre que pendant la session (session ouverte)."
    return None


def missing_attendance_refusal(missing: Sequence[str]) -> str | None:
    """Why an enrolment may not be completed: the days (as given) without a recorded presence."""
    if missing:
        return ("La formation n'est achevée qu'avec une présence à chaque journée ; absence ou présence non "
                "relevée le : " + ", ".join(missing) + ".")
    return None


def _attended_every_day(enrollment: Any, ctx: Mapping[str, Any]) -> str | None:
    attendance = enrollment.attendance or {}
    return missing_attendance_refusal([d for d in ctx.get("days", ()) if attendance.get(d) is not True])


ENROLLMENT = StateMachine(
    name="training_enrollment",
    states=ENROLLMENT_STATE_LABELS,
    transitions=[
        transition("complete", [EnrollmentState.registered], EnrollmentState.completed, [Role.formateur, Role.officer], "valider la formation",
                   guards=[_session_in_progress, _attended_every_day]),
        transition("fail", [EnrollmentState.registered], EnrollmentState.not_completed, [Role.formateur, Role.officer], "constater la formation non achevée",
                   guards=[_session_in_progress], requires_reason=True),
        transition("withdraw", [EnrollmentState.registered], EnrollmentState.withdrawn, [Role.formateur, Role.officer, Role.system], "désinscrire", requires_reason=True),
    ],
)


# --- appuis pédagogiques -------------------------------------------------------------------


class AppuiState(StrEnum):
    requested = "requested"
    assigned = "assigned"
    scheduled = "scheduled"
    reported = "reported"
    cancelled = "cancelled"


APPUI_STATE_LABELS = {
    AppuiState.requested: "demandé",
    AppuiState.assigned: "confié à un formateur",
    AppuiState.scheduled: "visite programmée",
    AppuiState.reported: "compte rendu déposé",
    AppuiState.cancelled: "annulé",
}

OPEN_APPUI_STATES = frozenset({AppuiState.requested, AppuiState.assigned, AppuiState.scheduled})


_visit_happened = visit_held("Le compte rendu ne peut être déposé qu'après la visite.")


APPUI = StateMachine(
    name="appui",
    states=APPUI_STATE_LABELS,
    transitions=[
        transition("assign", [AppuiState.requested, AppuiState.assigned, AppuiState.scheduled], AppuiState.assigned, [Role.officer], "confier à un formateur"),
        transition("schedule_visit", [AppuiState.assigned, AppuiState.scheduled], AppuiState.scheduled, [Role.formateur, Role.officer], "programmer la visite"),
        transition("report", [AppuiState.scheduled], AppuiState.reported, [Role.formateur], "déposer le compte rendu", guards=[_visit_happened]),
        transition("cancel", [AppuiState.requested, AppuiState.assigned, AppuiState.scheduled], AppuiState.cancelled, [Role.officer, Role.structure], "annuler",
                   requires_reason=True),
    ],
)
