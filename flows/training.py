"""The EPSP training flow and the appui pédagogique flow (re-entrant from the database state).

Training session, owed per enrollment: the convocation of the encadrant with its .ics invitation
(one per programming of the session, a new one with a higher SEQUENCE when dates or place change),
the attestation de formation (PDF, once per completed enrollment) e-mailed to the encadrant and his
structure, the notice of a cancelled session to those who were convened (with a CANCEL invitation).
The session is opened by the system on its first day.

Appui pédagogique, owed per state: the request to the officers (the structure in copy), the
mission of the formateur, the visit programme with its .ics invitation (one per scheduling,
SEQUENCE increasing), the compte rendu to the structure (with the formateur's PDF), the notice
of a cancellation (with a CANCEL invitation when a visit was planned).

The attestation's template is ``documents/templates/training/`` (its document kind unchanged), the
e-mails ``notifications/templates/training/``, queued as ``training/<name>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from certification.audit import SYSTEM
from certification.clock import today
from certification.db import session_scope
from certification.effects import OwedEffect, dossiers_owed
from certification.errors import Conflict
from certification.models import AuditEvent, Certification
from certification.settings import get_settings
from certification.training import service as svc
from certification.training.actions import appui_waiting_for, training_waiting_for
from certification.training.models import Appui, TrainingEnrollment, TrainingSession
from certification.training.read_model import AppuiView, EnrollmentView, TrainingView, appui_view, training_view
from certification.training.states import (
    APPUI_STATE_LABELS,
    ENROLLMENT_STATE_LABELS,
    TRAINING_STATE_LABELS,
    EnrollmentState,
    TrainingState,
)
from flows.common import (
    advance_task,
    advance_then_deliver,
    dossier_flow,
    mail_mission,
    mail_visit,
    sweep_flow,
    visit_invitation,
)
from flows.context import letter_context, person_fields, state_fields, structure_fields
from flows.effects import Effects, RunOutcome, fulfil_owed, open_or_owed
from notifications.ics import build_invitation, day_spans, ics_attachment

ENTITY = TrainingSession.__tablename__
ENROLLMENT_ENTITY = TrainingEnrollment.__tablename__
APPUI_ENTITY = Appui.__tablename__
ATTESTATION = "attestation_formation_epsp"  # the document kind (stored rows, timeline labels)
ATTESTATION_TEMPLATE = f"training/{ATTESTATION}.html"
PROCESS = "training_session"
# Final appui states and the e-mail that must exist for them (a run is owed while it does not).


@dataclass
class Outcome(RunOutcome):
    entity_id: int


# --- contexts ------------------------------------------------------------------------------


def _epsp_certification(certification: Certification | None) -> dict[str, str]:
    cert = certification
    return {
        "certification_code": cert.code if cert else "CQP_EPSP",
        "certification_title": cert.title if cert else "CQP Encadrant Pédagogique en Situation de Production",
    }


def training_context(view: TrainingView) -> dict[str, Any]:
    training = view.training
    return letter_context(
        f"/app/formations/{training.id}",
        training={
            "reference": training.reference,
            "title": training.title,
            **person_fields("formateur", view.formateur),
            "days": list(view.days),
            "start_date": training.start_date,
            "end_date": training.end_date,
            "hours": training.hours,
            "hours_per_day": training.hours_per_day,
            "place": training.place,
            "notes": training.notes,
            **state_fields(training, TRAINING_STATE_LABELS),
            "schedule_sequence": training.schedule_sequence,
            "cancel_reason": training.cancel_reason,
            **_epsp_certification(view.certification),
        },
    )


def enrollment_entry(view: TrainingView, ev: EnrollmentView) -> dict[str, Any]:
    enrollment, encadrant = ev.enrollment, ev.encadrant
    attendance = [{"day": d, "present": enrollment.attendance.get(d.isoformat())} for d in view.days]
    attended = sum(1 for a in attendance if a["present"] is True)
    return {
        "id": enrollment.id,
        "state": enrollment.state,
        "state_label": ENROLLMENT_STATE_LABELS[enrollment.state],
        "last_name": encadrant.last_name,
        "first_names": encadrant.first_names,
        "name": ev.name,
        "email": encadrant.email,
        **structure_fields(ev.structure),
        "attendance": attendance,
        "days_attended": attended,
        "hours_attended": attended * view.training.hours_per_day,
        "outcome_reason": enrollment.outcome_reason,
        "completed_at": enrollment.completed_at,
        "attestation_number": enrollment.attestation_number,
    }


def attestation_context(ctx: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    """Context of the attestation PDF: ``attestation`` stands in for the ``request`` of base.html."""
    t = ctx["training"]
    return {
        "certifier_name": ctx["certifier_name"],
        "today": ctx["today"],
        "training": t,
        "enrollment": entry,
        "attestation": {
            "reference": entry["attestation_number"],
            "structure_name": entry["structure_name"],
            "structure_siret": entry["structure_siret"],
            "structure_address": entry["structure_address"],
            "certification_code": t["certification_code"],
            "certification_title": t["certification_title"],
        },
    }


def appui_context(view: AppuiView) -> dict[str, Any]:
    appui, structure, formateur, requester = view.appui, view.structure, view.formateur, view.requester
    return letter_context(
        f"/app/appuis/{appui.id}",
        appui={
            "reference": appui.reference,
            "subject": appui.subject,
            "need": appui.need,
            **state_fields(appui, APPUI_STATE_LABELS),
            "requested_by": requester.full_name if requester else "",
            "requested_at": appui.created_at,
            **structure_fields(structure),
            **person_fields("formateur", formateur),
            "visit_at": appui.visit_at,
            "visit_end": appui.visit_end,
            "visit_place": appui.visit_place,
            "visit_notes": appui.visit_notes,
            "visit_sequence": max(appui.visit_sequence, 0),
            "report_text": appui.report_text,
            "reported_at": appui.reported_at,
            "cancel_reason": appui.cancel_reason,
        },
    )


# --- training sessions ---------------------------------------------------------------------


def _convened(fx: Effects, training: TrainingSession) -> bool:
    return any(fx.sent(f"convocation:s{k}") for k in range(training.schedule_sequence + 1))


def _training_invitation(
    training: TrainingSession,
    enrollment: TrainingEnrollment,
    ctx: dict[str, Any],
    entry: dict[str, Any],
    *,
    cancelled: bool = False,
    sequence: int | None = None,
) -> dict:
    """The encadrant's invitation to the session's days (whole days: the hours are free text).

    One UID per enrollment (each encadrant's event is his own, also in his structure's calendar);
    SEQUENCE is the session's programming, one more for the cancellation.
    """
    settings = get_settings()
    t = ctx["training"]
    sequence = (training.schedule_sequence if sequence is None else sequence) + (1 if cancelled else 0)
    method = "CANCEL" if cancelled else "REQUEST"
    hours = f"Horaires : {t['hours']}.\n" if t["hours"] else ""
    data = build_invitation(
        uid=f"{training.reference}-I{enrollment.id}@cqp-engine.local",
        sequence=sequence,
        **day_spans(t["days"]),
        summary=f"Formation EPSP {training.reference} — {entry['name']}",
        location=training.place,
        description=f"{t['title']} (formateur : {t['formateur_name']}, {t['formateur_email']}).\n{hours}"
        f"Inscription au titre de la structure {entry['structure_name']}."
        + (f"\n{training.notes}" if training.notes else ""),
        organizer=parseaddr(settings.mail_from)[1],
        attendees=[entry["email"]],
        method=method,
        cancelled=cancelled,
    )
    suffix = "annulation" if cancelled else "convocation"
    path = f"generated/{ENROLLMENT_ENTITY}/{enrollment.id}/{suffix}-s{sequence}.ics"
    return ics_attachment(settings.data_dir, path, data, method=method)


def _convene(db: Session, view: TrainingView, ev: EnrollmentView, ctx: dict[str, Any], sequence: int) -> Effects:
    entry = enrollment_entry(view, ev)
    fx = _enrollment_fx(db, view.training, ev.enrollment)
    name = f"convocation:s{sequence}"
    if not fx.sent(name):
        fx.mail(
            ctx,
            name,
            "training/convocation_formation",
            [entry["email"]],
            cc=[entry["structure_email"]],
            extra={"enrollment": entry},
            attach=[_training_invitation(view.training, ev.enrollment, ctx, entry, sequence=sequence)],
        )
    return fx


def _enrollment_fx(db: Session, training: TrainingSession, enrollment: TrainingEnrollment) -> Effects:
    reference = enrollment.attestation_number or f"{training.reference}-I{enrollment.id}"
    return Effects(db, ENROLLMENT_ENTITY, enrollment.id, reference)


def _enrolled_at(db: Session, view: TrainingView, audit_event_id: int | None) -> list[EnrollmentView]:
    """The enrollments still registered when the session's step was recorded (by the audit trail:
    registered before it, and neither completed, failed nor withdrawn before it)."""
    enrollments = view.enrollments
    if audit_event_id is None:
        return [e for e in enrollments if e.enrollment.state == EnrollmentState.registered.value]
    events = db.exec(
        select(AuditEvent.entity_id, AuditEvent.action).where(
            AuditEvent.entity_type == ENROLLMENT_ENTITY,
            AuditEvent.entity_id.in_([e.id for e in enrollments]),
            AuditEvent.id < audit_event_id,
        )
    )
    registered, left = set(), set()
    for entity_id, action in events:
        if action == "register":
            registered.add(entity_id)
        elif action in ("complete", "fail", "withdraw"):
            left.add(entity_id)
    return [e for e in enrollments if e.id in registered and e.id not in left]


def fulfil_step(db: Session, effect: OwedEffect) -> list[Effects]:
    """What one step of the session (or of an enrollment) owes, whatever the states are now."""
    view = training_view(db, db.get(TrainingSession, effect.dossier_id))
    training, ctx = view.training, training_context(view)
    if effect.entity_type == ENROLLMENT_ENTITY:
        ev = view.enrollment(effect.entity_id)
        if effect.step == "register":
            if _convened(_enrollment_fx(db, training, ev.enrollment), training):
                return []
            return [_convene(db, view, ev, ctx, training.schedule_sequence)]
        entry = enrollment_entry(view, ev)  # complete
        fx = _enrollment_fx(db, training, ev.enrollment)
        letter = fx.letter(attestation_context(ctx, entry), ATTESTATION, template=ATTESTATION_TEMPLATE)
        fx.mail(
            ctx,
            "attestation",
            "training/attestation_formation",
            [entry["email"], entry["structure_email"]],
            attach=[letter],
            extra={"enrollment": entry},
        )
        return [fx]
    enrolled = _enrolled_at(db, view, effect.audit_event_id)
    if effect.step == "reschedule":
        sequence = effect.payload.get("schedule_sequence", training.schedule_sequence)
        return [_convene(db, view, e, ctx, sequence) for e in enrolled]
    done = []  # cancel: every encadrant convened and still enrolled then gets the cancellation
    for ev in enrolled:
        fx = _enrollment_fx(db, training, ev.enrollment)
        if _convened(fx, training):
            entry = enrollment_entry(view, ev)
            fx.mail(
                ctx,
                "cancelled",
                "training/formation_annulee",
                [entry["email"]],
                cc=[entry["structure_email"]],
                extra={"enrollment": entry},
                attach=[_training_invitation(training, ev.enrollment, ctx, entry, cancelled=True)],
            )
        done.append(fx)
    return done


def advance_training_session(session_id: int, engine: Engine | None = None) -> Outcome:
    """Open the session on its first day, then fulfil what its steps owe (Prefect wraps it)."""
    out = Outcome(session_id)
    with session_scope(engine) as db:
        training = db.get(TrainingSession, session_id)
        if training is None:
            raise LookupError(f"training session {session_id} does not exist")
        if training.state == TrainingState.planned and today() >= training.start_date:
            try:
                svc.start(db, SYSTEM, training.id)
                out.transitions.append("start")
            except Conflict:  # another run (or the formateur) opened it first
                db.rollback()
    fulfil_owed(engine, PROCESS, session_id, fulfil_step).add_to(out)
    with session_scope(engine) as db:
        training = db.get(TrainingSession, session_id)
        out.state = training.state
        out.waiting_for = training_waiting_for(training)
    return out


def training_sessions_needing_attention(engine: Engine | None = None) -> list[int]:
    """Sessions to open on their first day, and those with effects still owed (lost runs)."""
    return open_or_owed(engine, PROCESS, TrainingSession, [TrainingState.planned.value])


# --- appuis pédagogiques -------------------------------------------------------------------


def _appui_invitation(appui: Appui, a: dict, *, cancelled: bool = False, sequence: int | None = None) -> dict:
    return visit_invitation(
        appui,
        APPUI_ENTITY,
        sequence=(appui.visit_sequence if sequence is None else sequence) + (1 if cancelled else 0),
        summary=f"Appui pédagogique {appui.reference} — {a['structure_name']}",
        description=f"{a['subject']} (formateur EPSP : {a['formateur_name'] or 'à désigner'}).",
        attendees=(a["structure_email"], a["formateur_email"]),
        cancelled=cancelled,
    )


def fulfil_appui_step(db: Session, effect: OwedEffect) -> list[Effects]:
    """What one step of the appui owes, whatever its state is now."""
    settings = get_settings()
    appui = db.get(Appui, effect.dossier_id)
    ctx = appui_context(appui_view(db, appui))
    a = ctx["appui"]
    structure, officers = [a["structure_email"]], [settings.officers_mailbox]
    formateur = [a["formateur_email"]] if a["formateur_email"] else []
    fx = Effects(db, APPUI_ENTITY, appui.id, appui.reference)
    step, payload = effect.step, effect.payload
    if step == "request":
        fx.mail(ctx, "requested", "training/appui_demande", officers, cc=structure)
    elif step == "assign" and payload.get("formateur_id"):
        mail_mission(db, fx, ctx, "appui", "formateur", payload, "training/appui_mission")
    elif step == "schedule_visit":
        mail_visit(
            fx,
            ctx,
            appui,
            payload,
            "training/appui_programme",
            structure,
            cc=formateur,
            invitation=lambda sequence: _appui_invitation(appui, a, sequence=sequence),
        )
    elif step == "report":
        attach = []
        if appui.report_file:
            f = appui.report_file
            attach.append(
                {"filename": f["original_name"], "relative_path": f["relative_path"], "content_type": f["content_type"]}
            )
        fx.mail(ctx, "report", "training/appui_compte_rendu", structure, cc=officers + formateur, attach=attach)
    elif step == "cancel":
        attach = [_appui_invitation(appui, a, cancelled=True)] if appui.visit_at is not None else []
        fx.mail(ctx, "cancelled", "training/appui_annule", structure, cc=officers + formateur, attach=attach)
    return [fx]


def advance_appui(appui_id: int, engine: Engine | None = None) -> Outcome:
    """Fulfil what the appui's steps owe (plain function; Prefect wraps it)."""
    out = Outcome(appui_id)
    fulfil_owed(engine, "appui", appui_id, fulfil_appui_step).add_to(out)
    with session_scope(engine) as db:
        appui = db.get(Appui, appui_id)
        if appui is None:
            raise LookupError(f"appui {appui_id} does not exist")
        out.state = appui.state
        out.waiting_for = appui_waiting_for(appui)
    return out


def appuis_needing_attention(engine: Engine | None = None) -> list[int]:
    """Appuis with effects still owed (lost runs)."""
    with session_scope(engine) as db:
        return dossiers_owed(db, "appui")


# --- Prefect -------------------------------------------------------------------------------


advance_training_session_task = advance_task("advance-training-session", advance_training_session)
advance_appui_task = advance_task("advance-appui", advance_appui)


@dossier_flow("training-session", process="training_session")
async def training_session_flow(session_id: int) -> dict:
    """Drive EPSP training session ``session_id`` as far as it can go without a human."""
    return await advance_then_deliver(advance_training_session_task, session_id, "training session")


@dossier_flow("appui", process="appui")
async def appui_flow(appui_id: int) -> dict:
    """Drive appui pédagogique ``appui_id`` as far as it can go without a human."""
    return await advance_then_deliver(advance_appui_task, appui_id, "appui", logged=("state", "mails", "waiting_for"))


training_sweep_flow = sweep_flow(
    "training-sweep",
    training_sessions_needing_attention,
    advance_training_session_task,
    "Sessions to open on their first day, convocations and attestations owed, lost runs; then the outbox.",
)
appui_sweep_flow = sweep_flow(
    "appui-sweep", appuis_needing_attention, advance_appui_task, "Appui e-mails owed (lost runs); then the outbox."
)
