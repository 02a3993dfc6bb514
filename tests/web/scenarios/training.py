"""EPSP training sessions and appuis pédagogiques at their step and the cases of their back-office
actions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine
from sqlmodel import select

from certification.clock import now, today
from certification.db import session_scope
from certification.training.models import Appui, TrainingEnrollment, TrainingSession
from certification.training import appuis as appuis_svc
from certification.training import service as training_svc
from tests.factories import (
    add_structure,
    enroll_encadrant,
    plan_training,
    siret,
    structure_account,
)
from tests.web.scenarios.common import PDF, EVIL, Case, created, dossier_env, env, eq, state, visit_fields


def training(people, stage: str) -> dict:
    """A session of the formateur: « future » (in 10 days), « today » (one day, today), « enrolled »
    (future, one encadrant), « today_enrolled », « attended » (opened, present), « completed »."""
    structure_id = add_structure(7, name="Atelier d'insertion de Brest")
    structure_account(people, siret(7), "structure_7")
    days = [today()] if stage in ("today", "today_enrolled", "attended", "completed") else \
        [today() + timedelta(days=10), today() + timedelta(days=11)]
    sid = plan_training(people, days=days)
    out = {"id": sid, "structure_id": structure_id}
    if stage in ("enrolled", "today_enrolled", "attended", "completed"):
        out["enrollment_id"] = enroll_encadrant(people, sid, structure_id)
    formateur = people["formateur"]["actor"]
    if stage in ("attended", "completed"):
        with session_scope() as db:
            training_svc.record_attendance(db, formateur, sid, day=today(), present={out["enrollment_id"]: True})
    if stage == "completed":
        with session_scope() as db:
            training_svc.record_outcome(db, formateur, sid, out["enrollment_id"], completed=True)
    return out


def appui(people, stage: str) -> dict:
    """An appui of structure 8 (which has an account): « requested », « assigned » to the formateur,
    « visited » (a visit five days ago)."""
    structure_id = add_structure(8, name="Ressourcerie de Quimper")
    structure = structure_account(people, siret(8), "structure_8")
    with session_scope() as db:
        aid = appuis_svc.request_appui(db, structure["actor"], subject="Accueil des nouveaux salariés",
                                       need="Transmettre les gestes professionnels.").id
        if stage != "requested":
            appuis_svc.assign(db, people["officer"]["actor"], aid, people["formateur"]["id"])
    if stage == "visited":
        with time_machine.travel(now() - timedelta(days=10)):
            with session_scope() as db:
                appuis_svc.schedule_visit(db, people["formateur"]["actor"], aid,
                                          visit_at=datetime.now(UTC) + timedelta(days=5), place="Quimper")
    return {"id": aid, "structure_id": structure_id}


def _training_env(people, stage, key, *, per: str | None = None):
    t = training(people, stage)
    return dossier_env("formations", TrainingSession, t, key, f"form-{key}-{t[per]}" if per else None)


def _training_row(e):
    with session_scope() as db:
        t = db.get(TrainingSession, e["id"])
        rows = db.exec(select(TrainingEnrollment).where(TrainingEnrollment.session_id == t.id)
                      .order_by(TrainingEnrollment.id)).all()
        return t.state, tuple((r.state, tuple(sorted(r.attendance.items()))) for r in rows)


def _schedule_row(e):
    with session_scope() as db:
        t = db.get(TrainingSession, e["id"])
        return tuple(t.days), t.place, t.schedule_sequence


def _appui_env(people, stage, key):
    return dossier_env("appuis", Appui, appui(people, stage), key)


def _appui_row(e):
    with session_scope() as db:
        a = db.get(Appui, e["id"])
        return a.state, a.formateur_id, a.visit_place, a.report_text, bool(a.report_file)


def _appui_request_env(people) -> dict:
    structure_id = add_structure(9, name="Jardin de Cocagne")
    structure_account(people, siret(9), "structure_9")
    return env("/app/appuis", "/app/appuis/demander", structure_id=structure_id)


TRAINING_CASES: list[Case] = [
    # EPSP training
    Case("programmer", lambda p: env("/app/formations", "/app/formations/programmer",
                                     formateur_id=p["formateur"]["id"]), "formateur",
         lambda e: {"formateur_id": str(e["formateur_id"]), "jour_1_date": (today() + timedelta(days=20)).isoformat(),
                    "jour_2_date": (today() + timedelta(days=21)).isoformat(), "place": f"{EVIL} Rennes",
                    "capacity": "10"},
         created(TrainingSession), lambda e, after: eq(state(TrainingSession, after), "planned"),
         lambda e, after: [("training_session_changed", after)], "mandataire",
         location=lambda e, after: f"/app/formations/{after}?fait=programmer"),
    Case("inscrire", lambda p: _training_env(p, "future", "inscrire"), "formateur",
         lambda e: {"structure_id": str(e["structure_id"]), "last_name": EVIL, "first_names": "Zoé",
                    "email": "zoe@aci.example.org"},
         _training_row, lambda e, after: eq(after[1][0][0], "registered"),
         lambda e, _: [("training_session_changed", e["id"])], "structure_7"),
    Case("ouvrir", lambda p: _training_env(p, "today", "ouvrir"), "formateur", lambda e: {}, _training_row,
         lambda e, after: eq(after[0], "in_progress"), lambda e, _: [("training_session_changed", e["id"])],
         "structure_7", escaped=False),
    Case("presences-formation", lambda p: {**_training_env(p, "today_enrolled", "presences"), "form": "form-presences"},
         "formateur", lambda e: {"day": today().isoformat(), f"present_{e['enrollment_id']}": "1"}, _training_row,
         lambda e, after: eq(after, ("in_progress", (("registered", ((today().isoformat(), True),)),))),
         lambda e, _: [("training_session_changed", e["id"])], "structure_7", escaped=False),
    Case("resultat", lambda p: _training_env(p, "attended", "resultat", per="enrollment_id"), "formateur",
         lambda e: {"enrollment_id": str(e["enrollment_id"]), "completed": "1", "reason": EVIL}, _training_row,
         lambda e, after: eq(after[1][0][0], "completed"), lambda e, _: [("training_session_changed", e["id"])],
         "structure_7"),
    Case("desinscrire", lambda p: _training_env(p, "enrolled", "desinscrire", per="enrollment_id"), "formateur",
         lambda e: {"enrollment_id": str(e["enrollment_id"]), "reason": f"{EVIL} arrêt maladie"}, _training_row,
         lambda e, after: eq(after[1][0][0], "withdrawn"), lambda e, _: [("training_session_changed", e["id"])],
         "structure_7"),
    Case("cloturer-formation", lambda p: {**_training_env(p, "completed", "cloturer"), "form": "form-cloturer"},
         "formateur", lambda e: {"comment": f"{EVIL} bonne session"}, _training_row,
         lambda e, after: eq(after[0], "closed"), lambda e, _: [("training_session_changed", e["id"])], "structure_7"),
    Case("reprogrammer", lambda p: _training_env(p, "enrolled", "reprogrammer"), "formateur",
         lambda e: {"jour_1_date": (today() + timedelta(days=12)).isoformat(),
                    "jour_2_date": (today() + timedelta(days=13)).isoformat(), "place": f"{EVIL} Brest",
                    "hours": "9 h – 17 h"},
         _schedule_row, lambda e, after: eq(after[1:], (f"{EVIL} Brest", 1)),
         lambda e, _: [("training_session_changed", e["id"])], "structure_7"),
    Case("annuler-formation", lambda p: {**_training_env(p, "future", "annuler"), "form": "form-annuler"},
         "formateur", lambda e: {"reason": f"{EVIL} formateur indisponible"}, _training_row,
         lambda e, after: eq(after[0], "cancelled"), lambda e, _: [("training_session_changed", e["id"])],
         "structure_7"),
]


APPUI_CASES: list[Case] = [
    # appuis pédagogiques
    Case("demander", lambda p: _appui_request_env(p), "structure_9",
         lambda e: {"structure_id": str(e["structure_id"]), "subject": f"{EVIL} accueil",
                    "need": "Former les nouveaux encadrants."},
         created(Appui), lambda e, after: eq(state(Appui, after), "requested"),
         lambda e, after: [("appui_changed", after)], "formateur",
         location=lambda e, after: f"/app/appuis/{after}?fait=demander"),
    Case("confier-appui", lambda p: {**_appui_env(p, "requested", "confier"), "form": "form-confier",
                                     "formateur_id": p["formateur"]["id"]}, "officer",
         lambda e: {"formateur_id": str(e["formateur_id"])}, _appui_row, lambda e, after: eq(after[0], "assigned"),
         lambda e, _: [("appui_changed", e["id"])], "formateur", escaped=False),
    Case("visite-appui", lambda p: {**_appui_env(p, "assigned", "visite"), "form": "form-visite"}, "formateur",
         visit_fields, _appui_row, lambda e, after: eq(after[:3][0::2], ("scheduled", f"{EVIL} salle 2")),
         lambda e, _: [("appui_changed", e["id"])], "structure_8"),
    Case("compte-rendu", lambda p: _appui_env(p, "visited", "compte-rendu"), "formateur",
         lambda e: {"text": f"{EVIL} gestes transmis"}, _appui_row,
         lambda e, after: eq((after[0], after[4]), ("reported", True)), lambda e, _: [("appui_changed", e["id"])],
         "officer", files=lambda e: {"compte_rendu": ("compte rendu.pdf", PDF, "application/pdf")}),
    Case("annuler-appui", lambda p: {**_appui_env(p, "requested", "annuler"), "form": "form-annuler"}, "officer",
         lambda e: {"reason": f"{EVIL} besoin couvert"}, _appui_row, lambda e, after: eq(after[0], "cancelled"),
         lambda e, _: [("appui_changed", e["id"])], "formateur"),
]
