"""The rules of a visit on site (contrôle or appui pédagogique): who makes it, when, where and how
long, and its scheduling (the planning fields that a contrôle and an appui share)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from certification.audit import Actor, apply_transition
from certification.clock import now
from certification.errors import ValidationFailed
from certification.models import LinkKind, User
from certification.services import conflicts
from certification.settings import get_settings
from certification.statemachine import Guard, StateMachine

MIN_MINUTES, MAX_MINUTES = 15, 12 * 60
PLACE_REQUIRED = "Le lieu de la visite est obligatoire."
BAD_DURATION = "Durée de visite invalide (15 minutes à 12 heures)."


def check_moment(visit_at: datetime) -> None:
    """A visit is programmed in the future, at a time with its time zone."""
    if visit_at.tzinfo is None:
        raise ValidationFailed(
            "Indiquez le fuseau horaire de la visite (ex. 2027-01-12T09:30:00+01:00).", code="naive_datetime"
        )
    if visit_at <= now():
        raise ValidationFailed("La visite doit être programmée dans le futur.", code="visit_in_past")


def visit_held(refusal: str) -> Guard:
    """The guard of a step that follows the visit (its report): refused with ``refusal`` until the
    visit has begun."""

    def held(dossier: Any, _ctx: Mapping[str, Any]) -> str | None:
        if dossier.visit_at is None or dossier.visit_at > now():
            return refusal
        return None

    return held


def check_visit(visit_at: datetime, place: str, duration_minutes: int | None) -> int:
    """Check a visit to programme; its length in minutes (the configured one by default)."""
    check_moment(visit_at)
    if not place.strip():
        raise ValidationFailed(PLACE_REQUIRED, code="place_required")
    minutes = duration_minutes or get_settings().visit_duration_minutes
    if not MIN_MINUTES <= minutes <= MAX_MINUTES:
        raise ValidationFailed(BAD_DURATION, code="bad_duration")
    return minutes


def entrust(db: Session, machine: StateMachine, dossier: Any, actor: Actor, visitor: User, kind: LinkKind) -> None:
    """Fire ``assign`` on a dossier with a visit (a contrôle, an appui): the visitor (``kind``, a
    contrôleur or a formateur, names the dossier's ``<kind>_id`` field) entrusted with it, the visit
    programmed before forgotten, and the visitor linked to the structure (conflicts of interest)."""
    assert visitor.id is not None  # a stored account
    visitor_field = f"{kind.value}_id"
    apply_transition(
        db,
        machine,
        dossier,
        "assign",
        actor,
        data={
            visitor_field: visitor.id,
            kind.value: visitor.full_name,
            f"previous_{visitor_field}": getattr(dossier, visitor_field),
        },
        changes={visitor_field: visitor.id, "visit_at": None, "visit_end": None},
    )
    conflicts.link(db, visitor.id, dossier.structure_id, kind)


def schedule(
    db: Session,
    machine: StateMachine,
    dossier: Any,
    actor: Actor,
    *,
    visit_at: datetime,
    place: str,
    notes: str,
    duration_minutes: int | None,
) -> None:
    """Fire ``schedule_visit`` on a dossier with a visit (a contrôle, an appui): its planning fields
    (``visit_at``, ``visit_end``, ``visit_place``, ``visit_notes``) checked and written, and its
    ``visit_sequence`` (iCalendar SEQUENCE) increased by one."""
    minutes = check_visit(visit_at, place, duration_minutes)
    sequence = dossier.visit_sequence + 1
    apply_transition(
        db,
        machine,
        dossier,
        "schedule_visit",
        actor,
        data={"visit_at": visit_at.isoformat(), "place": place.strip(), "sequence": sequence},
        changes={
            "visit_at": visit_at,
            "visit_end": visit_at + timedelta(minutes=minutes),
            "visit_place": place.strip(),
            "visit_notes": notes.strip() or None,
            "visit_sequence": sequence,
        },
    )
