"""EPSP training sessions in the back-office: the formateur plans and holds his sessions
(enrolment, attendance per day, outcome per encadrant, closing); a structure reads its encadrants'
enrolments. The appuis pédagogiques: :mod:`api.training.pages_appuis`."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session, select

from api.web.actions import register
from api.web.forms import (
    COMMENT, REASON, DossierKind, FormAction, Input, Parsed, actions_of, choice, integer, optional_comment, pick,
    reason, row_values, text, with_reason
)
from api.web.pages import user_name
from api.web.prefect_links import links as prefect_links
from api.web.session import WebUser
from api.web.timeline import rows as timeline_rows
from certification.clock import today
from certification.errors import Conflict, ValidationFailed
from certification.models import Role, Structure, User
from certification.training import queries as training_queries
from certification.training import service as training_svc
from certification.training.actions import enrollment_actions, training_actions, training_waiting_for
from certification.training.models import TrainingEnrollment, TrainingSession
from certification.training.read_model import training_view
from certification.training.states import (
    ENROLLMENT_STATE_LABELS,
    MAX_DAYS,
    TRAINING_SESSION,
    TRAINING_STATE_LABELS,
    EnrollmentState,
    missing_attendance_refusal,
    pending_outcomes_refusal,
)
from documents.formatting import date_fr
from documents.service import list_documents

FORMATEUR_OR_OFFICER = frozenset({Role.formateur, Role.officer})
SESSION_ENTITY = TrainingSession.__tablename__
ENROLLMENT_ENTITY = TrainingEnrollment.__tablename__
PLAN_DAYS = 5  # day inputs of the planning form (the API takes up to MAX_DAYS)


def structure_choices(db: Session) -> list[dict[str, Any]]:
    return [{"id": s.id, "name": f"{s.name} ({s.siret})"}
            for s in db.exec(select(Structure).order_by(Structure.name))]


def formateur_choices(db: Session, current: WebUser) -> list[dict[str, Any]]:
    query = select(User).where(User.role == Role.formateur.value, User.active.is_(True)).order_by(User.full_name)
    if current.role is Role.formateur:
        query = query.where(User.id == current.user.id)
    return [{"id": u.id, "name": u.full_name} for u in db.exec(query)]


def select_options(key: str):
    return lambda ctx, _item: [(str(x["id"]), x["name"]) for x in ctx[key]]


# --- training sessions -----------------------------------------------------------------------


def training_context(db: Session, current: WebUser, training_id: int) -> dict[str, Any]:
    t = training_queries.get_training_session(db, current.actor, training_id)
    view = training_view(db, t, current.actor)
    days = list(view.days)
    enrollments, entities = [], []
    if current.role is not Role.structure:  # the session's history names every structure's encadrants
        entities.append((SESSION_ENTITY, t.id, "session"))
    for ev in view.enrollments:
        e = ev.enrollment
        enrollments.append({
            "id": e.id, "name": ev.name, "email": ev.encadrant.email, "structure": ev.structure.name,
            "state": e.state, "state_label": ENROLLMENT_STATE_LABELS[e.state],
            "attendance": [e.attendance.get(d.isoformat()) for d in days], "reason": e.outcome_reason,
            "attestation": e.attestation_number, "actions": enrollment_actions(db, current.actor, e),
            "documents": list_documents(db, ENROLLMENT_ENTITY, ev.id),
        })
        entities.append((ENROLLMENT_ENTITY, ev.id, f"inscription de {ev.name}"))
    actions = training_actions(db, current.actor, t)
    if any({"complete", "fail"} & set(e["actions"]) for e in enrollments):
        actions.append("outcome")
    if any("withdraw" in e["actions"] for e in enrollments):
        actions.append("unenroll")
    return {
        "t": t, "formateur": view.formateur.full_name, "state_label": TRAINING_STATE_LABELS[t.state],
        "final": TRAINING_SESSION.is_final(t.state), "waiting_for": training_waiting_for(t), "days": days,
        "enrollments": enrollments, "actions": actions,
        "registered": [e for e in enrollments if e["state"] == EnrollmentState.registered],
        "structures": structure_choices(db) if "enroll" in actions else [],
        "timeline": timeline_rows(db, *entities),
        "prefect": prefect_links("training_session", t.id),
    }


def training_listing(db: Session, current: WebUser) -> dict[str, Any]:
    rows = []
    for t in training_queries.list_sessions(db, current.actor):
        enrolled = sum(1 for e in training_queries.enrollments_of(db, t.id)
                       if e.state in training_queries.ACTIVE_ENROLLMENT_STATES)
        rows.append((f"/app/formations/{t.id}", [
            t.reference, user_name(db, t.formateur_id) or "—", f"{date_fr(t.start_date)} – {date_fr(t.end_date)}",
            t.place, f"{enrolled} / {t.capacity}", TRAINING_STATE_LABELS[t.state], training_waiting_for(t) or "—",
        ]))
    can_plan = current.role in FORMATEUR_OR_OFFICER
    return {"title": "Formations EPSP", "rows": rows, "empty": "Aucune session de formation.",
            "columns": ["Référence", "Formateur", "Dates", "Lieu", "Inscrits", "État", "En attente de"],
            "actions": ["plan"] if can_plan else [], "formateurs": formateur_choices(db, current) if can_plan else []}


def _days(form) -> list[date]:
    """The days of the « jour » grid (empty rows ignored)."""
    days = []
    for _n, value in sorted(row_values(form, "jour_").items()):
        if value.strip():
            try:
                days.append(date.fromisoformat(value.strip()))
            except ValueError:
                raise ValidationFailed("Date de journée invalide (format attendu : AAAA-MM-JJ).", code="bad_date") from None
    if not days:
        raise ValidationFailed(training_svc.DAYS_REQUIRED, code="days_required")
    return days


def _parse_plan(form, ctx) -> Parsed:
    formateur = pick(form, "formateur_id", ctx["formateurs"], "Choisissez le formateur de la session.")
    days = _days(form)
    place = text(form, "place", required=training_svc.PLACE_REQUIRED, max_len=300)
    hours = text(form, "hours", max_len=100)
    capacity = integer(form, "capacity", lo=training_svc.CAPACITY_MIN, hi=training_svc.CAPACITY_MAX, default=12,
                       message=training_svc.BAD_CAPACITY)
    return Parsed({"formateur_id": formateur["id"], "days": days, "place": place, "hours": hours, "capacity": capacity}, [
        ("Formateur", formateur["name"]), ("Journées", ", ".join(date_fr(d) for d in sorted(days))), ("Lieu", place),
        ("Horaires", hours or "—"), ("Capacité", f"{capacity} encadrants"),
    ])


def _parse_enroll(form, ctx) -> Parsed:
    structure = pick(form, "structure_id", ctx["structures"], "Choisissez la structure de l'encadrant.")
    last = text(form, "last_name", required="Le nom de l'encadrant est obligatoire.", max_len=100)
    first = text(form, "first_names", required="Le prénom de l'encadrant est obligatoire.", max_len=150)
    email = text(form, "email", required="L'adresse e-mail de l'encadrant est obligatoire.", max_len=254)
    if "@" not in email:
        raise ValidationFailed(training_svc.BAD_EMAIL, code="invalid_email")
    return Parsed({"structure_id": structure["id"], "last_name": last, "first_names": first, "email": email}, [
        ("Encadrant", f"{first} {last}"), ("Structure", structure["name"]), ("Adresse e-mail", email),
        ("Envoi", "une convocation à l'encadrant"),
    ])


def _attendance_days(ctx, _item=None) -> list[tuple[str, str]]:
    return [(d.isoformat(), date_fr(d)) for d in ctx["days"] if d <= today()]


def _parse_attendance(form, ctx) -> Parsed:
    chosen = choice(form, "day", dict(_attendance_days(ctx)), "Choisissez une journée passée de la session.")
    names = {str(e["id"]): e["name"] for e in ctx["registered"]}
    present: dict[int, bool] = {}
    for enrollment_id, value in row_values(form, "present_").items():
        if enrollment_id not in names or value not in ("1", "0"):
            raise ValidationFailed("Indiquez présent ou absent pour des encadrants inscrits.", code="bad_attendance")
        present[int(enrollment_id)] = value == "1"
    if not present:
        raise ValidationFailed(training_svc.ATTENDANCE_REQUIRED, code="attendance_required")
    return Parsed({"day": date.fromisoformat(chosen), "present": present}, [
        ("Journée", date_fr(date.fromisoformat(chosen))),
        ("Présents", ", ".join(names[str(i)] for i, p in present.items() if p) or "aucun"),
        ("Absents", ", ".join(names[str(i)] for i, p in present.items() if not p) or "aucun"),
    ])


def _outcome_items(ctx) -> list[tuple[str, str]]:
    return [(str(e["id"]), e["name"]) for e in ctx["enrollments"] if {"complete", "fail"} & set(e["actions"])]


def _enrollment(ctx, enrollment_id: str) -> dict:
    return next(e for e in ctx["enrollments"] if str(e["id"]) == enrollment_id)


OUTCOMES = {"1": "formation achevée (présent à chaque journée)", "0": "formation non achevée"}


def _parse_outcome(form, ctx) -> Parsed:
    e = _enrollment(ctx, form.get("enrollment_id", ""))
    completed = choice(form, "completed", OUTCOMES, "Choisissez le résultat de la formation.") == "1"
    why = text(form, "reason", required=None if completed else "Motivez une formation non achevée.")
    if completed and any(p is not True for p in e["attendance"]):
        missing = [date_fr(d) for d, p in zip(ctx["days"], e["attendance"]) if p is not True]
        raise ValidationFailed(missing_attendance_refusal(missing), code="guard_failed")
    summary = [("Encadrant", f"{e['name']} ({e['structure']})"), ("Résultat", OUTCOMES["1" if completed else "0"]),
               ("Motif", why or "—")]
    if completed:
        summary.append(("Effet", "l'encadrant est formé à l'EPSP ; son attestation lui est envoyée"))
    return Parsed({"enrollment_id": e["id"], "completed": completed, "reason": why}, summary,
                  title=f"Résultat de {e['name']}")


def _unenroll_items(ctx) -> list[tuple[str, str]]:
    return [(str(e["id"]), e["name"]) for e in ctx["enrollments"] if "withdraw" in e["actions"]]


def _parse_unenroll(form, ctx) -> Parsed:
    e = _enrollment(ctx, form.get("enrollment_id", ""))
    parsed = reason(form)
    return Parsed({**parsed.values, "enrollment_id": e["id"]}, [("Encadrant", e["name"]), *parsed.summary],
                  title=f"Désinscrire {e['name']}")


def _parse_close(form, ctx) -> Parsed:
    refusal = pending_outcomes_refusal([e["name"] for e in ctx["registered"]])
    if refusal:
        raise Conflict(refusal, code="guard_failed")
    done = [e for e in ctx["enrollments"] if e["state"] == EnrollmentState.completed]
    parsed = optional_comment(form, ctx)
    return Parsed(parsed.values, [("Formation achevée", ", ".join(e["name"] for e in done) or "personne"),
                                  *parsed.summary])


def _parse_reschedule(form, ctx) -> Parsed:
    t = ctx["t"]
    days = sorted(_days(form))
    training_svc.check_days_ahead(days[0])
    place = text(form, "place", required=training_svc.PLACE_REQUIRED, max_len=300)
    hours = text(form, "hours", max_len=100)
    if days == ctx["days"] and place == t.place and hours == (t.hours or ""):
        raise ValidationFailed(training_svc.NOTHING_CHANGED, code="nothing_changed")
    notified = len(ctx["registered"])

    def fr(ds):
        return ", ".join(date_fr(d) for d in ds)

    return Parsed({"days": days, "place": place, "hours": hours}, [
        ("Journées", fr(days) if days == ctx["days"] else f"{fr(days)} (au lieu de : {fr(ctx['days'])})"),
        ("Lieu", place if place == t.place else f"{place} (au lieu de : {t.place})"),
        ("Horaires", hours or "—"),
        ("Effet", f"une nouvelle convocation, avec l'invitation (.ics) mise à jour, est envoyée à chacun des "
                  f"{notified} encadrant(s) inscrit(s)" if notified else "aucun encadrant inscrit à prévenir"),
    ])


def _day_rows(ctx, _item):
    """The rows of the « jour » grid of the rescheduling, filled with the current days."""
    days = ctx["days"]
    return [(str(n), f"journée {n}", {"date": days[n - 1].isoformat() if n <= len(days) else ""})
            for n in range(1, max(PLAN_DAYS, len(days)) + 1)]


def _parse_start(_form, ctx) -> Parsed:
    return Parsed({}, [("Session", ctx["t"].reference), ("Premier jour", date_fr(ctx["t"].start_date))])


def _attendance_rows(ctx, _item):
    on = today().isoformat()
    index = next((n for n, d in enumerate(ctx["days"]) if d.isoformat() == on), None)
    return [(e["id"], f"{e['name']} ({e['structure']})",
             "" if index is None or e["attendance"][index] is None else str(int(e["attendance"][index])))
            for e in ctx["registered"]]


TRAINING_ACTIONS = actions_of(
    FormAction("inscrire", "Inscrire un encadrant", FORMATEUR_OR_OFFICER, "enroll", (
        Input("structure_id", "Structure", "select", required=True, choices=select_options("structures")),
        Input("last_name", "Nom", required=True, attrs=(("maxlength", "100"),)),
        Input("first_names", "Prénom(s)", required=True, attrs=(("maxlength", "150"),)),
        Input("email", "Adresse e-mail", "email", required=True, attrs=(("maxlength", "254"),)),
    ), _parse_enroll, lambda db, actor, i, v: training_svc.enroll(
        db, actor, i, structure_id=v["structure_id"], last_name=v["last_name"], first_names=v["first_names"],
        email=v["email"]), done="L'encadrant est inscrit ; sa convocation lui est envoyée."),
    FormAction("reprogrammer", "Modifier les dates ou le lieu", FORMATEUR_OR_OFFICER, "reschedule", (
        Input("jour", "Journées de formation", "grid", rows=_day_rows, columns=(Input("date", "Date", "date"),),
              help="Videz une ligne pour retirer la journée."),
        Input("place", "Lieu", required=True, attrs=(("maxlength", "300"),), default=lambda ctx, _i: ctx["t"].place),
        Input("hours", "Horaires (facultatif)", attrs=(("maxlength", "100"),),
              default=lambda ctx, _i: ctx["t"].hours or ""),
    ), _parse_reschedule, lambda db, actor, i, v: training_svc.reschedule(
        db, actor, i, days=v["days"], place=v["place"], hours=v["hours"]),
        done="La session est reprogrammée ; les encadrants inscrits reçoivent une nouvelle convocation.",
        button="Confirmer et envoyer les nouvelles convocations"),
    FormAction("ouvrir", "Ouvrir la session", FORMATEUR_OR_OFFICER, "start", (), _parse_start,
               lambda db, actor, i, v: training_svc.start(db, actor, i), done="La session est ouverte."),
    FormAction("presences", "Relever les présences", FORMATEUR_OR_OFFICER, "attendance", (
        Input("day", "Journée", "select", required=True, choices=_attendance_days,
              default=lambda _ctx, _item: today().isoformat()),
        Input("present", "Présence des encadrants", "matrix", choices=(("1", "présent"), ("0", "absent")),
              rows=_attendance_rows, empty="Aucun encadrant en attente de résultat."),
    ), _parse_attendance, lambda db, actor, i, v: training_svc.record_attendance(
        db, actor, i, day=v["day"], present=v["present"]), done="Les présences ont été enregistrées."),
    FormAction("resultat", "Enregistrer le résultat", FORMATEUR_OR_OFFICER, "outcome", (
        Input("completed", "Résultat", "radio", required=True, choices=tuple(OUTCOMES.items())),
        Input("reason", "Motif (obligatoire si la formation n'est pas achevée)", "textarea"),
    ), _parse_outcome, lambda db, actor, i, v: training_svc.record_outcome(
        db, actor, i, v["enrollment_id"], completed=v["completed"], reason=v["reason"]),
        done="Le résultat est enregistré.", per=_outcome_items, per_field="enrollment_id"),
    FormAction("desinscrire", "Désinscrire", FORMATEUR_OR_OFFICER, "unenroll", (REASON,), _parse_unenroll,
               lambda db, actor, i, v: training_svc.withdraw(db, actor, i, v["enrollment_id"], v["reason"]),
               done="L'encadrant a été désinscrit.", per=_unenroll_items, per_field="enrollment_id"),
    FormAction("cloturer", "Clôturer la session", FORMATEUR_OR_OFFICER, "close", (COMMENT,), _parse_close,
               lambda db, actor, i, v: training_svc.close(db, actor, i, v["comment"]),
               done="La session est clôturée.", button="Clôturer la session"),
    FormAction("annuler", "Annuler la session", FORMATEUR_OR_OFFICER, "cancel", (REASON,), reason,
               with_reason(training_svc.cancel),
               done="La session a été annulée ; les encadrants inscrits en sont informés."),
)

TRAINING_CREATIONS = actions_of(
    FormAction("programmer", "Programmer une session", FORMATEUR_OR_OFFICER, "plan", (
        Input("formateur_id", "Formateur", "select", required=True, choices=select_options("formateurs"),
              default=lambda ctx, _item: str(ctx["formateurs"][0]["id"]) if len(ctx["formateurs"]) == 1 else ""),
        Input("jour", "Journées de formation", "grid", rows=lambda _ctx, _item: [
            (str(n), f"journée {n}") for n in range(1, PLAN_DAYS + 1)], columns=(Input("date", "Date", "date"),),
            help=f"Jusqu'à {PLAN_DAYS} journées ici ({MAX_DAYS} par l'API) ; les lignes vides sont ignorées."),
        Input("place", "Lieu", required=True, attrs=(("maxlength", "300"),)),
        Input("hours", "Horaires (facultatif)", attrs=(("maxlength", "100"),)),
        Input("capacity", "Capacité (encadrants)", "number", default="12", attrs=(("min", "1"), ("max", "50"))),
    ), _parse_plan, lambda db, actor, _i, v: training_svc.plan_session(
        db, actor, days=v["days"], place=v["place"], formateur_id=v["formateur_id"], hours=v["hours"],
        capacity=v["capacity"]), done="La session a été programmée.",
        redirect=lambda t: f"/app/formations/{t.id}?fait=programmer"),
)


def _training_documents(_session: Session, ctx: dict) -> set[tuple[str, int]]:
    return {(d.entity_type, d.entity_id) for e in ctx["enrollments"] for d in e["documents"]}


TRAINING = register(DossierKind(
    "formations", "Les formations EPSP", "training_id", "training/training.html", training_context, "t",
    "training_session_changed", SESSION_ENTITY, TRAINING_ACTIONS, listing=training_listing,
    creations=TRAINING_CREATIONS, documents=_training_documents,
))

