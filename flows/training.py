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
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from email.utils import parseaddr
from typing import Any

import anyio
from prefect import flow, get_run_logger, task
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from certification.audit import SYSTEM
from certification.clock import today
from certification.db import session_scope
from certification.errors import Conflict
from certification.models import Certification, Structure, User
from certification.models_training import Appui, Encadrant, TrainingEnrollment, TrainingSession
from certification.processes.training import (
    APPUI_STATE_LABELS,
    ENROLLMENT_STATE_LABELS,
    TRAINING_STATE_LABELS,
    AppuiState,
    EnrollmentState,
    TrainingState,
)
from certification.services import training as svc
from certification.settings import get_settings
from flows.common import deliver_task, sweep
from flows.effects import Effects, mail_key
from notifications.ics import build_invitation, day_spans, ics_attachment
from notifications.models import OutboxMessage

ENTITY = TrainingSession.__tablename__
ENROLLMENT_ENTITY = TrainingEnrollment.__tablename__
APPUI_ENTITY = Appui.__tablename__
T, E, A = TrainingState, EnrollmentState, AppuiState
ATTESTATION = "attestation_formation_epsp"
# Final appui states and the e-mail that must exist for them (a run is owed while it does not).
APPUI_FINAL_MAIL = {A.reported: "report", A.cancelled: "cancelled"}


@dataclass
class Outcome:
    entity_id: int
    state: str = ""
    transitions: list[str] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)
    mails: list[str] = field(default_factory=list)
    waiting_for: str | None = None


# --- contexts ------------------------------------------------------------------------------


def _epsp_certification(session: Session) -> dict[str, str]:
    cert = session.exec(select(Certification).where(Certification.code == "CQP_EPSP")).first()
    return {"certification_code": cert.code if cert else "CQP_EPSP",
            "certification_title": cert.title if cert else "CQP Encadrant Pédagogique en Situation de Production"}


def training_context(session: Session, training: TrainingSession) -> dict[str, Any]:
    formateur = session.get(User, training.formateur_id)
    settings = get_settings()
    return {
        "certifier_name": settings.certifier_name,
        "today": today(),
        "action_url": f"{settings.public_base_url}/app/formations/{training.id}",
        "training": {
            "reference": training.reference,
            "title": training.title,
            "formateur_name": formateur.full_name,
            "formateur_email": formateur.email,
            "formateur_sex": formateur.sex,
            "days": svc.days_of(training),
            "start_date": training.start_date,
            "end_date": training.end_date,
            "hours": training.hours,
            "hours_per_day": training.hours_per_day,
            "place": training.place,
            "notes": training.notes,
            "state": training.state,
            "state_label": TRAINING_STATE_LABELS[training.state],
            "schedule_sequence": training.schedule_sequence,
            "cancel_reason": training.cancel_reason,
            **_epsp_certification(session),
        },
    }


def enrollment_entry(session: Session, training: TrainingSession, enrollment: TrainingEnrollment) -> dict[str, Any]:
    encadrant = session.get(Encadrant, enrollment.encadrant_id)
    structure = session.get(Structure, enrollment.structure_id)
    attendance = [{"day": d, "present": enrollment.attendance.get(d.isoformat())} for d in svc.days_of(training)]
    attended = sum(1 for a in attendance if a["present"] is True)
    return {
        "id": enrollment.id,
        "state": enrollment.state,
        "state_label": ENROLLMENT_STATE_LABELS[enrollment.state],
        "last_name": encadrant.last_name,
        "first_names": encadrant.first_names,
        "name": f"{encadrant.first_names} {encadrant.last_name}",
        "email": encadrant.email,
        "structure_name": structure.name,
        "structure_siret": structure.siret,
        "structure_address": structure.address,
        "structure_region": structure.region,
        "structure_email": structure.email,
        "attendance": attendance,
        "days_attended": attended,
        "hours_attended": attended * training.hours_per_day,
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


def appui_context(session: Session, appui: Appui) -> dict[str, Any]:
    structure = session.get(Structure, appui.structure_id)
    formateur = session.get(User, appui.formateur_id) if appui.formateur_id else None
    requester = session.get(User, appui.requested_by_id)
    settings = get_settings()
    return {
        "certifier_name": settings.certifier_name,
        "today": today(),
        "action_url": f"{settings.public_base_url}/app/appuis/{appui.id}",
        "appui": {
            "reference": appui.reference,
            "subject": appui.subject,
            "need": appui.need,
            "state": appui.state,
            "state_label": APPUI_STATE_LABELS[appui.state],
            "requested_by": requester.full_name if requester else "",
            "requested_at": appui.created_at,
            "structure_name": structure.name,
            "structure_siret": structure.siret,
            "structure_address": structure.address,
            "structure_region": structure.region,
            "structure_email": structure.email,
            "formateur_name": formateur.full_name if formateur else None,
            "formateur_email": formateur.email if formateur else None,
            "visit_at": appui.visit_at,
            "visit_end": appui.visit_end,
            "visit_place": appui.visit_place,
            "visit_notes": appui.visit_notes,
            "visit_sequence": max(appui.visit_sequence, 0),
            "report_text": appui.report_text,
            "reported_at": appui.reported_at,
            "cancel_reason": appui.cancel_reason,
        },
    }


# --- training sessions ---------------------------------------------------------------------


def _convened(fx: Effects, training: TrainingSession) -> bool:
    return any(fx.sent(f"convocation:s{k}") for k in range(training.schedule_sequence + 1))


def _training_invitation(training: TrainingSession, enrollment: TrainingEnrollment, ctx: dict[str, Any],
                         entry: dict[str, Any], *, cancelled: bool = False) -> dict:
    """The encadrant's invitation to the session's days (whole days: the hours are free text).

    One UID per enrollment (each encadrant's event is his own, also in his structure's calendar);
    SEQUENCE is the session's programming, one more for the cancellation.
    """
    settings = get_settings()
    t = ctx["training"]
    sequence = training.schedule_sequence + (1 if cancelled else 0)
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


def _enrollment_effects(session: Session, training: TrainingSession, enrollment: TrainingEnrollment,
                        ctx: dict[str, Any], out: Outcome) -> None:
    entry = enrollment_entry(session, training, enrollment)
    reference = enrollment.attestation_number or f"{training.reference}-I{enrollment.id}"
    fx = Effects(session, ENROLLMENT_ENTITY, enrollment.id, reference)
    state, enrollment_state = T(training.state), E(enrollment.state)
    to, cc = [entry["email"]], [entry["structure_email"]]
    extra = {"enrollment": entry}
    convocation = f"convocation:s{training.schedule_sequence}"
    if state in (T.planned, T.in_progress) and enrollment_state is E.registered and not fx.sent(convocation):
        fx.mail(ctx, convocation, "convocation_formation", to, cc=cc, extra=extra,
                attach=[_training_invitation(training, enrollment, ctx, entry)])
    if enrollment_state is E.completed:
        letter = fx.letter(attestation_context(ctx, entry), ATTESTATION)
        fx.mail(ctx, "attestation", "attestation_formation", to + cc, attach=[letter], extra=extra)
    if state is T.cancelled and not fx.sent("cancelled") and _convened(fx, training):
        fx.mail(ctx, "cancelled", "formation_annulee", to, cc=cc, extra=extra,
                attach=[_training_invitation(training, enrollment, ctx, entry, cancelled=True)])
    out.documents += fx.documents
    out.mails += fx.mails


def training_waiting_for(training: TrainingSession) -> str | None:
    return {
        T.planned: f"formateur : inscriptions, puis session à partir du {training.start_date:%d/%m/%Y}",
        T.in_progress: "formateur : présences et résultats, puis clôture",
    }.get(T(training.state))


def advance_training_session(session_id: int, engine: Engine | None = None) -> Outcome:
    """Bring one training session up to date (plain function; Prefect wraps it)."""
    out = Outcome(session_id)
    with session_scope(engine) as session:
        training = session.get(TrainingSession, session_id)
        if training is None:
            raise LookupError(f"training session {session_id} does not exist")
        if training.state == T.planned and today() >= training.start_date:
            try:
                svc.start(session, SYSTEM, training.id)
                out.transitions.append("start")
            except Conflict:  # another run (or the formateur) opened it first
                session.rollback()
    with session_scope(engine) as session:
        enrollment_ids = [e.id for e in svc.enrollments_of(session, session_id)]
    for enrollment_id in enrollment_ids:  # one transaction each: a restart resumes where it stopped
        with session_scope(engine) as session:
            training = session.get(TrainingSession, session_id)
            enrollment = session.get(TrainingEnrollment, enrollment_id)
            _enrollment_effects(session, training, enrollment, training_context(session, training), out)
    with session_scope(engine) as session:
        training = session.get(TrainingSession, session_id)
        out.state = training.state
        out.waiting_for = training_waiting_for(training)
    return out


def _owed_keys(session: Session, training: TrainingSession, enrollment: TrainingEnrollment,
               sent: set[str]) -> list[str]:
    """The e-mails a final session still owes to one enrollment (a sweep catches up lost runs)."""
    def key(name: str) -> str:
        return mail_key(ENROLLMENT_ENTITY, enrollment.id, name)

    owed = []
    if enrollment.state == E.completed:
        owed.append(key("attestation"))
    if training.state == T.cancelled and any(
            key(f"convocation:s{k}") in sent for k in range(training.schedule_sequence + 1)):
        owed.append(key("cancelled"))
    return [k for k in owed if k not in sent]


def training_sessions_needing_attention(engine: Engine | None = None) -> list[int]:
    """Open sessions (start, convocations, attestations), and final ones still owing an e-mail."""
    with session_scope(engine) as session:
        ids = set(session.exec(select(TrainingSession.id).where(
            TrainingSession.state.in_([T.planned.value, T.in_progress.value]))))
        finals = {t.id: t for t in session.exec(select(TrainingSession).where(
            TrainingSession.state.in_([T.closed.value, T.cancelled.value])))}
        if finals:
            enrollments = list(session.exec(select(TrainingEnrollment).where(
                TrainingEnrollment.session_id.in_(list(finals)))))
            sent = set(session.exec(select(OutboxMessage.dedupe_key).where(
                OutboxMessage.entity_type == ENROLLMENT_ENTITY,
                OutboxMessage.entity_id.in_([e.id for e in enrollments]))))
            ids |= {e.session_id for e in enrollments if _owed_keys(session, finals[e.session_id], e, sent)}
    return sorted(ids)


# --- appuis pédagogiques -------------------------------------------------------------------


def _appui_invitation(appui: Appui, a: dict, *, cancelled: bool = False) -> dict:
    settings = get_settings()
    sequence = appui.visit_sequence + (1 if cancelled else 0)
    method = "CANCEL" if cancelled else "REQUEST"
    data = build_invitation(
        uid=f"{appui.reference}@cqp-engine.local",
        sequence=sequence,
        start=appui.visit_at,
        end=appui.visit_end,
        summary=f"Appui pédagogique {appui.reference} — {a['structure_name']}",
        location=appui.visit_place or "",
        description=f"{a['subject']} (formateur EPSP : {a['formateur_name'] or 'à désigner'})."
        + (f"\n{appui.visit_notes}" if appui.visit_notes else ""),
        organizer=parseaddr(settings.mail_from)[1],
        attendees=[x for x in (a["structure_email"], a["formateur_email"]) if x],
        method=method,
        cancelled=cancelled,
    )
    suffix = "annulation" if cancelled else "visite"
    path = f"generated/{APPUI_ENTITY}/{appui.id}/{suffix}-s{sequence}.ics"
    return ics_attachment(settings.data_dir, path, data, method=method)


def _appui_effects(session: Session, appui: Appui, fx: Effects) -> None:
    settings = get_settings()
    ctx = appui_context(session, appui)
    a = ctx["appui"]
    state = A(appui.state)
    structure, officers = [a["structure_email"]], [settings.officers_mailbox]
    formateur = [a["formateur_email"]] if a["formateur_email"] else []

    if state is A.requested:
        fx.mail(ctx, "requested", "appui_demande", officers, cc=structure)
    if appui.formateur_id and state in (A.assigned, A.scheduled):
        fx.mail(ctx, f"mission:u{appui.formateur_id}", "appui_mission", formateur)
    if state is A.scheduled and appui.visit_at is not None:
        name = f"visit:s{appui.visit_sequence}"
        if not fx.sent(name):
            fx.mail(ctx, name, "appui_programme", structure, cc=formateur, attach=[_appui_invitation(appui, a)])
    if state is A.reported:
        attach = []
        if appui.report_file:
            f = appui.report_file
            attach.append({"filename": f["original_name"], "relative_path": f["relative_path"],
                           "content_type": f["content_type"]})
        fx.mail(ctx, "report", "appui_compte_rendu", structure, cc=officers + formateur, attach=attach)
    if state is A.cancelled:
        attach = [_appui_invitation(appui, a, cancelled=True)] if appui.visit_at is not None else []
        fx.mail(ctx, "cancelled", "appui_annule", structure, cc=officers + formateur, attach=attach)


def appui_waiting_for(appui: Appui) -> str | None:
    return {
        A.requested: "chargé·e de certification : désigner un formateur",
        A.assigned: "formateur : programmer la visite",
        A.scheduled: "formateur : visite puis compte rendu",
    }.get(A(appui.state))


def advance_appui(appui_id: int, engine: Engine | None = None) -> Outcome:
    """Bring one appui pédagogique up to date with its state (plain function; Prefect wraps it)."""
    out = Outcome(appui_id)
    with session_scope(engine) as session:
        appui = session.get(Appui, appui_id)
        if appui is None:
            raise LookupError(f"appui {appui_id} does not exist")
        fx = Effects(session, APPUI_ENTITY, appui.id, appui.reference)
        _appui_effects(session, appui, fx)
        out.documents += fx.documents
        out.mails += fx.mails
        out.state = appui.state
        out.waiting_for = appui_waiting_for(appui)
    return out


def appuis_needing_attention(engine: Engine | None = None) -> list[int]:
    """Open appuis, and final ones whose closing e-mail is missing."""
    with session_scope(engine) as session:
        open_states = [s.value for s in A if s not in APPUI_FINAL_MAIL]
        ids = list(session.exec(select(Appui.id).where(Appui.state.in_(open_states))))
        finals = session.exec(
            select(Appui.id, Appui.state).where(Appui.state.in_([s.value for s in APPUI_FINAL_MAIL]))).all()
        keys = {mail_key(APPUI_ENTITY, i, APPUI_FINAL_MAIL[A(s)]): i for i, s in finals}
        if keys:
            sent = set(session.exec(select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(keys))))
            ids += [i for k, i in keys.items() if k not in sent]
    return sorted(ids)


# --- Prefect -------------------------------------------------------------------------------


@task(name="advance-training-session", retries=2, retry_delay_seconds=2)
async def advance_training_session_task(session_id: int) -> dict:
    return asdict(await anyio.to_thread.run_sync(advance_training_session, session_id))


@flow(name="training-session", log_prints=True)
async def training_session_flow(session_id: int) -> dict:
    """Drive EPSP training session ``session_id`` as far as it can go without a human."""
    outcome = await advance_training_session_task(session_id)
    delivery = await deliver_task()
    get_run_logger().info(
        "training session %s: state=%s transitions=%s documents=%s mails=%s waiting for: %s",
        session_id, outcome["state"], outcome["transitions"], outcome["documents"], outcome["mails"],
        outcome["waiting_for"],
    )
    return {**outcome, "delivery": delivery}


@task(name="advance-appui", retries=2, retry_delay_seconds=2)
async def advance_appui_task(appui_id: int) -> dict:
    return asdict(await anyio.to_thread.run_sync(advance_appui, appui_id))


@flow(name="appui", log_prints=True)
async def appui_flow(appui_id: int) -> dict:
    """Drive appui pédagogique ``appui_id`` as far as it can go without a human."""
    outcome = await advance_appui_task(appui_id)
    delivery = await deliver_task()
    get_run_logger().info(
        "appui %s: state=%s mails=%s waiting for: %s",
        appui_id, outcome["state"], outcome["mails"], outcome["waiting_for"],
    )
    return {**outcome, "delivery": delivery}


@flow(name="training-sweep", log_prints=True)
async def training_sweep_flow() -> dict:
    """Sessions to open on their first day, convocations and attestations owed, lost runs; then the outbox."""
    return await sweep(training_sessions_needing_attention, advance_training_session_task)


@flow(name="appui-sweep", log_prints=True)
async def appui_sweep_flow() -> dict:
    """Appui e-mails owed (lost runs); then the outbox."""
    return await sweep(appuis_needing_attention, advance_appui_task)
