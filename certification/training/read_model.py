"""The read models of the EPSP training (issue #11).

A training session: the session, its formateur, its days, its enrollments (with their encadrant
and structure) and the EPSP certification its attestations name, read at once in a bounded number
of queries whatever the number of encadrants.

The API's response (:func:`api.training.router.session_out`), the back-office page
(:func:`api.training.pages.training_context`) and the letters' and e-mails' context
(:func:`flows.training.training_context`, :func:`flows.training.enrollment_entry`) are mapped from
one :class:`TrainingView`; none of them reads these rows again. The attestations (generated
documents) are not part of it: the readers list them.

An appui pédagogique: the appui, its structure, its formateur and who asked for it. The API's
response (:func:`api.training.router_appuis.appui_out`), the back-office page
(:func:`api.training.pages_appuis.appui_context`) and the e-mails' context
(:func:`flows.training.appui_context`) are mapped from one :class:`AppuiView`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, select

from certification.audit import Actor
from certification.models import Certification, Role, Structure, User
from certification.reading import referenced, rows_by_id, stored_id
from certification.training import queries as training_queries
from certification.training.models import Appui, Encadrant, TrainingEnrollment, TrainingSession
from certification.visibility import structure_of

EPSP = "CQP_EPSP"


@dataclass(frozen=True)
class EnrollmentView:
    """An encadrant registered in the session: his enrollment, his record and his structure."""

    enrollment: TrainingEnrollment
    encadrant: Encadrant
    structure: Structure

    @property
    def id(self) -> int:
        return stored_id(self.enrollment)

    @property
    def name(self) -> str:
        return f"{self.encadrant.first_names} {self.encadrant.last_name}"


@dataclass(frozen=True)
class TrainingView:
    """A training session as every reader shows it (see the module's docstring). ``enrollments``:
    those the reading actor may see (a structure its own encadrants'), in the order of registration;
    ``enrolled``: how many of all the session's enrollments are active."""

    training: TrainingSession
    formateur: User
    days: tuple[date, ...]
    enrollments: tuple[EnrollmentView, ...]
    enrolled: int
    certification: Certification | None  # the CQP EPSP, named by the attestations

    def enrollment(self, enrollment_id: int) -> EnrollmentView:
        return next(e for e in self.enrollments if e.id == enrollment_id)


def training_view(db: Session, training: TrainingSession, actor: Actor | None = None) -> TrainingView:
    """The session read at once, its enrollments as ``actor`` may see them (all without an actor)."""
    everyone = training_queries.enrollments_of(db, stored_id(training))
    mine = everyone
    if actor is not None and actor.role is Role.structure:
        own = structure_of(db, actor) or -1
        mine = [e for e in everyone if e.structure_id == own]
    encadrants: dict[int, Encadrant] = rows_by_id(db, Encadrant, {e.encadrant_id for e in mine})
    structures: dict[int, Structure] = rows_by_id(db, Structure, {e.structure_id for e in mine})
    formateur = referenced(db, User, training.formateur_id)
    return TrainingView(
        training=training, formateur=formateur, days=tuple(training_queries.days_of(training)),
        enrollments=tuple(EnrollmentView(e, encadrants[e.encadrant_id], structures[e.structure_id]) for e in mine),
        enrolled=sum(1 for e in everyone if e.state in training_queries.ACTIVE_ENROLLMENT_STATES),
        certification=db.exec(select(Certification).where(Certification.code == EPSP)).first(),
    )


@dataclass(frozen=True)
class AppuiView:
    """An appui pédagogique as every reader shows it (see the module's docstring)."""

    appui: Appui
    structure: Structure
    formateur: User | None  # None until the officer entrusts it to a formateur
    requester: User | None  # the account that asked for it


def appui_view(db: Session, appui: Appui) -> AppuiView:
    """The appui read at once."""
    users: dict[int, User] = rows_by_id(db, User, {i for i in (appui.formateur_id, appui.requested_by_id) if i})
    structure = referenced(db, Structure, appui.structure_id)
    return AppuiView(appui=appui, structure=structure,
                     formateur=users.get(appui.formateur_id) if appui.formateur_id else None,
                     requester=users.get(appui.requested_by_id))
