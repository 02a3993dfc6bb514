"""Services of the EPSP training: sessions planned by a formateur, encadrants registered, attendance
per day, outcome per encadrant. Each applies one transition (or audited action) and its audit
event in the caller's transaction (the caller commits).

A completed enrollment makes the encadrant EPSP-trained (a prerequisite of the agrément, see
:func:`certification.training.queries.epsp_trained`) and links the formateur to the structure: he
then neither audits it nor sits on its jury (:mod:`certification.services.conflicts`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from sqlalchemy import func
from sqlmodel import Session, select

from certification.audit import Actor, apply_transition, compare_and_set, record_event, record_on
from certification.clock import now, today
from certification.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from certification.models import LinkKind, Role, Structure, User
from certification.numbering import next_value
from certification.services import conflicts
from certification.training.models import Encadrant, TrainingEnrollment, TrainingSession
from certification.training.queries import ACTIVE_ENROLLMENT_STATES, active_formateur, enrollments_of, get_training_session
from certification.training.states import (
    DEFAULT_TITLE,
    ENROLLMENT,
    MAX_DAYS,
    TRAINING_SESSION,
    TRAINING_STATE_LABELS,
    EnrollmentState,
    TrainingState,
)

ENTITY = TrainingSession.__tablename__
ENROLLMENT_ENTITY = TrainingEnrollment.__tablename__
ENCADRANT_ENTITY = Encadrant.__tablename__


# --- planning ------------------------------------------------------------------------------


# Messages and bounds of the planning, shared with the back-office's forms.
DAYS_REQUIRED = "Indiquez au moins une journée de formation."
PLACE_REQUIRED = "Le lieu de la formation est obligatoire."
CAPACITY_MIN, CAPACITY_MAX = 1, 50
BAD_CAPACITY = f"Capacité invalide ({CAPACITY_MIN} à {CAPACITY_MAX} encadrants)."
BAD_EMAIL = "Adresse e-mail de l'encadrant invalide."
ATTENDANCE_REQUIRED = "Indiquez la présence d'au moins un encadrant."
NOTHING_CHANGED = "Rien ne change dans la programmation de la session."


def check_days_ahead(first_day: date) -> None:
    """The days of a session are to come."""
    if first_day < today():
        raise ValidationFailed("Les journées de formation doivent être à venir.", code="day_in_past")


def _clean_days(days: Sequence[date]) -> list[date]:
    cleaned = sorted(set(days))
    if not cleaned:
        raise ValidationFailed(DAYS_REQUIRED, code="days_required")
    if len(cleaned) != len(days):
        raise ValidationFailed("Une même journée est indiquée deux fois.", code="duplicate_day")
    if len(cleaned) > MAX_DAYS:
        raise ValidationFailed(f"{MAX_DAYS} journées au plus par session.", code="too_many_days")
    check_days_ahead(cleaned[0])
    return cleaned


def _check_place(place: str) -> str:
    if not place.strip():
        raise ValidationFailed(PLACE_REQUIRED, code="place_required")
    return place.strip()


def _formateur(db: Session, actor: Actor, formateur_id: int | None) -> User:
    if actor.role is Role.formateur:
        if formateur_id not in (None, actor.user_id):
            raise Forbidden("Un formateur ne programme que ses propres sessions.", code="role_not_allowed")
        formateur_id = actor.user_id
    elif actor.role is not Role.officer:
        raise Forbidden("Seul un formateur EPSP ou un·e chargé·e de certification programme une formation.",
                        code="role_not_allowed")
    if formateur_id is None:
        raise ValidationFailed("Désignez le formateur de la session.", code="formateur_required")
    return active_formateur(db, formateur_id)


def plan_session(
    db: Session,
    actor: Actor,
    *,
    days: Sequence[date],
    place: str,
    formateur_id: int | None = None,
    title: str = "",
    hours: str = "",
    hours_per_day: int = 7,
    capacity: int = 12,
    notes: str = "",
) -> TrainingSession:
    """A formateur plans a session of his own; an officer plans one for a formateur."""
    formateur = _formateur(db, actor, formateur_id)
    cleaned = _clean_days(days)
    if not 1 <= hours_per_day <= 10:
        raise ValidationFailed("Durée quotidienne invalide (1 à 10 heures).", code="bad_hours")
    if not CAPACITY_MIN <= capacity <= CAPACITY_MAX:
        raise ValidationFailed(BAD_CAPACITY, code="bad_capacity")
    year = now().year
    training = TrainingSession(
        reference=f"FEPSP-{year}-{next_value(db, 'training_session', year):04d}",
        formateur_id=formateur.id,
        title=title.strip() or DEFAULT_TITLE,
        days=[d.isoformat() for d in cleaned],
        start_date=cleaned[0],
        end_date=cleaned[-1],
        hours=hours.strip(),
        hours_per_day=hours_per_day,
        place=_check_place(place),
        capacity=capacity,
        notes=notes.strip() or None,
        state=TrainingState.planned.value,
        created_by_id=actor.user_id,
    )
    db.add(training)
    db.flush()
    record_event(
        db, entity_type=ENTITY, entity_id=training.id, action="plan", actor=actor, to_state=training.state,
        data={"reference": training.reference, "formateur_id": formateur.id, "formateur": formateur.full_name,
              "days": training.days, "place": training.place},
    )
    return training


def _acting_on(db: Session, actor: Actor, training_session_id: int) -> TrainingSession:
    """The session, if ``actor`` may act on it: its formateur or an officer (the system too)."""
    training = get_training_session(db, actor, training_session_id)
    if actor.role not in (Role.formateur, Role.officer, Role.system):
        raise Forbidden("Seul le formateur de la session ou un·e chargé·e de certification agit sur la session.",
                        code="role_not_allowed")
    return training


def reschedule(
    db: Session, actor: Actor, training_session_id: int, *, days: Sequence[date], place: str, hours: str | None = None,
    notes: str | None = None,
) -> TrainingSession:
    """Change the days or the place of a planned session: every encadrant gets a new convocation."""
    training = _acting_on(db, actor, training_session_id)
    cleaned = _clean_days(days)
    place = _check_place(place)
    changes = {
        "days": [d.isoformat() for d in cleaned], "start_date": cleaned[0], "end_date": cleaned[-1], "place": place,
        "schedule_sequence": training.schedule_sequence + 1,
    }
    if hours is not None:
        changes["hours"] = hours.strip()
    if notes is not None:
        changes["notes"] = notes.strip() or None
    if (changes["days"] == training.days and place == training.place
            and changes.get("hours", training.hours) == training.hours
            and changes.get("notes", training.notes) == training.notes):
        raise ValidationFailed(NOTHING_CHANGED, code="nothing_changed")
    apply_transition(
        db, TRAINING_SESSION, training, "reschedule", actor,
        data={"days": changes["days"], "place": place, "sequence": changes["schedule_sequence"],
              "previous_days": training.days, "previous_place": training.place},
        changes=changes,
    )
    return training


def start(db: Session, actor: Actor, training_session_id: int) -> TrainingSession:
    training = _acting_on(db, actor, training_session_id)
    apply_transition(db, TRAINING_SESSION, training, "start", actor)
    return training


# --- encadrants and enrollments ------------------------------------------------------------


def _upsert_encadrant(db: Session, actor: Actor, structure: Structure, *, last_name: str, first_names: str,
                      email: str) -> Encadrant:
    email = email.strip().lower()
    if "@" not in email or len(email) > 254:
        raise ValidationFailed(BAD_EMAIL, code="invalid_email")
    if not last_name.strip() or not first_names.strip():
        raise ValidationFailed("Nom et prénom(s) de l'encadrant obligatoires.", code="name_required")
    encadrant = db.exec(
        select(Encadrant).where(Encadrant.structure_id == structure.id, Encadrant.email == email)
    ).first()
    if encadrant is None:
        encadrant = Encadrant(structure_id=structure.id, last_name=last_name.strip(),
                              first_names=first_names.strip(), email=email, created_by_id=actor.user_id)
        db.add(encadrant)
        db.flush()
        record_event(db, entity_type=ENCADRANT_ENTITY, entity_id=encadrant.id, action="register",
                     actor=actor, data={"structure_id": structure.id, "name": f"{encadrant.first_names} "
                                                                              f"{encadrant.last_name}"})
    return encadrant


def enroll(
    db: Session, actor: Actor, training_session_id: int, *, structure_id: int, last_name: str, first_names: str,
    email: str,
) -> TrainingEnrollment:
    """Register an encadrant of a structure in the session (the encadrant is created if new)."""
    training = _acting_on(db, actor, training_session_id)
    if training.state not in (TrainingState.planned, TrainingState.in_progress):
        raise InvalidTransition(
            f"Inscription impossible : la session est « {TRAINING_STATE_LABELS[training.state]} ».",
            code="session_not_open",
        )
    structure = db.get(Structure, structure_id)
    if structure is None:
        raise NotFound("Structure introuvable.", code="structure_not_found")
    encadrant = _upsert_encadrant(db, actor, structure, last_name=last_name, first_names=first_names,
                                  email=email)
    name = f"{encadrant.first_names} {encadrant.last_name}"
    if encadrant.epsp_trained_on is not None:
        raise Conflict(f"{name} est déjà formé·e à l'EPSP (le {encadrant.epsp_trained_on:%d/%m/%Y}).",
                       code="already_trained")
    existing = db.exec(select(TrainingEnrollment).where(
        TrainingEnrollment.session_id == training.id, TrainingEnrollment.encadrant_id == encadrant.id)).first()
    if existing is not None:
        raise Conflict(f"{name} est déjà inscrit·e à cette session.", code="already_enrolled")
    seats = db.exec(select(func.count()).select_from(TrainingEnrollment).where(
        TrainingEnrollment.session_id == training.id,
        TrainingEnrollment.state.in_([s.value for s in ACTIVE_ENROLLMENT_STATES]))).one()
    if seats >= training.capacity:
        raise Conflict(f"La session est complète ({training.capacity} places).", code="session_full")
    enrollment = TrainingEnrollment(
        session_id=training.id, encadrant_id=encadrant.id, structure_id=structure.id,
        state=EnrollmentState.registered.value, registered_by_id=actor.user_id,
    )
    db.add(enrollment)
    db.flush()
    record_event(db, entity_type=ENROLLMENT_ENTITY, entity_id=enrollment.id, action="register", actor=actor,
                 to_state=enrollment.state, data={"session": training.reference, "encadrant_id": encadrant.id})
    record_on(db, training, "enroll", actor,
              data={"enrollment_id": enrollment.id, "encadrant": name, "structure": structure.name})
    return enrollment


def _enrollment_acting(db: Session, actor: Actor, training_session_id: int,
                       enrollment_id: int) -> tuple[TrainingSession, TrainingEnrollment]:
    training = _acting_on(db, actor, training_session_id)
    enrollment = db.get(TrainingEnrollment, enrollment_id)
    if enrollment is None or enrollment.session_id != training.id:
        raise NotFound("Inscription introuvable.", code="enrollment_not_found")
    return training, enrollment


def withdraw(db: Session, actor: Actor, training_session_id: int, enrollment_id: int, reason: str) -> TrainingEnrollment:
    training, enrollment = _enrollment_acting(db, actor, training_session_id, enrollment_id)
    reason = (reason or "").strip()
    apply_transition(db, ENROLLMENT, enrollment, "withdraw", actor, reason=reason,
                     changes={"outcome_reason": reason})
    record_on(db, training, "withdraw_enrollment", actor, reason=reason,
              data={"enrollment_id": enrollment.id})
    return enrollment


def record_attendance(
    db: Session, actor: Actor, training_session_id: int, *, day: date, present: Mapping[int, bool]
) -> TrainingSession:
    """Attendance of one day (enrollment id -> present). Opens the session on its first day if needed."""
    training = _acting_on(db, actor, training_session_id)
    if day.isoformat() not in training.days:
        raise ValidationFailed(f"Le {day:%d/%m/%Y} n'est pas une journée de la session.", code="not_a_session_day")
    if day > today():
        raise ValidationFailed("La présence ne se relève pas à l'avance.", code="day_in_future")
    if not present:
        raise ValidationFailed(ATTENDANCE_REQUIRED, code="attendance_required")
    if training.state == TrainingState.planned:
        apply_transition(db, TRAINING_SESSION, training, "start", actor)
    if training.state != TrainingState.in_progress:
        raise InvalidTransition(
            f"Présences impossibles : la session est « {TRAINING_STATE_LABELS[training.state]} ».",
            code="session_not_in_progress",
        )
    by_id = {e.id: e for e in enrollments_of(db, training.id)}
    for enrollment_id, is_present in present.items():
        enrollment = by_id.get(enrollment_id)
        if enrollment is None:
            raise NotFound(f"Inscription {enrollment_id} introuvable dans cette session.", code="enrollment_not_found")
        if enrollment.state != EnrollmentState.registered:
            raise InvalidTransition(f"Le résultat de l'inscription {enrollment_id} est déjà enregistré.",
                                    code="outcome_recorded")
        attendance = {**enrollment.attendance, day.isoformat(): bool(is_present)}
        db.flush()
        compare_and_set(
            db, enrollment, {"attendance": attendance, "version": enrollment.version + 1, "updated_at": now()},
            TrainingEnrollment.state == EnrollmentState.registered.value,
            conflict="L'inscription a été modifiée entre-temps ; rechargez et recommencez.",
        )
    record_on(db, training, "record_attendance", actor,
              data={"day": day.isoformat(), "present": sorted(i for i, p in present.items() if p),
                    "absent": sorted(i for i, p in present.items() if not p)})
    return training


def record_outcome(
    db: Session, actor: Actor, training_session_id: int, enrollment_id: int, *, completed: bool, reason: str = ""
) -> TrainingEnrollment:
    """Completed (present every day): the encadrant becomes EPSP-trained and gets an attestation number;
    not completed: a reason is required."""
    training, enrollment = _enrollment_acting(db, actor, training_session_id, enrollment_id)
    context = {"session_state": training.state, "days": training.days}
    reason = (reason or "").strip()
    if not completed:
        apply_transition(db, ENROLLMENT, enrollment, "fail", actor, reason=reason, context=context,
                         changes={"outcome_reason": reason})
        return enrollment
    # The guards run before a number is drawn, so a refused completion consumes no number.
    ENROLLMENT.check("complete", enrollment.state, actor.role, entity=enrollment, context=context)
    year = now().year
    number = f"AF-EPSP-{year}-{next_value(db, 'attestation_epsp', year):04d}"
    apply_transition(
        db, ENROLLMENT, enrollment, "complete", actor, reason=reason or None, context=context,
        data={"attestation_number": number},
        changes={"completed_at": now(), "attestation_number": number, "outcome_reason": reason or None},
    )
    encadrant = db.get(Encadrant, enrollment.encadrant_id)
    if encadrant.epsp_trained_on is None:
        encadrant.epsp_trained_on = training.end_date
        encadrant.epsp_enrollment_id = enrollment.id
        db.add(encadrant)
        record_event(db, entity_type=ENCADRANT_ENTITY, entity_id=encadrant.id, action="epsp_trained",
                     actor=actor, data={"session": training.reference, "attestation_number": number,
                                        "trained_on": training.end_date.isoformat()})
    conflicts.link(db, training.formateur_id, enrollment.structure_id, LinkKind.formateur)
    db.flush()
    return enrollment


def close(db: Session, actor: Actor, training_session_id: int, comment: str = "") -> TrainingSession:
    training = _acting_on(db, actor, training_session_id)
    pending = []
    for e in enrollments_of(db, training.id):
        if e.state == EnrollmentState.registered:
            encadrant = db.get(Encadrant, e.encadrant_id)
            pending.append(f"{encadrant.first_names} {encadrant.last_name}")
    apply_transition(db, TRAINING_SESSION, training, "close", actor, reason=comment.strip() or None,
                     context={"pending": pending}, changes={"closed_at": now()})
    return training


def cancel(db: Session, actor: Actor, training_session_id: int, reason: str) -> TrainingSession:
    """Cancel a session nobody completed yet; the registered encadrants are withdrawn (and told)."""
    training = _acting_on(db, actor, training_session_id)
    reason = (reason or "").strip()
    enrollments = enrollments_of(db, training.id)
    completed = sum(1 for e in enrollments if e.state == EnrollmentState.completed)
    apply_transition(db, TRAINING_SESSION, training, "cancel", actor, reason=reason,
                     context={"completed_count": completed}, changes={"cancel_reason": reason})
    for e in enrollments:
        if e.state == EnrollmentState.registered:
            apply_transition(db, ENROLLMENT, e, "withdraw", actor, reason=f"Session annulée : {reason}",
                             changes={"outcome_reason": f"Session annulée : {reason}"})
    return training
