"""Appuis pédagogiques in the back-office: a structure asks for one, the officer entrusts it to a
formateur EPSP, who programmes the visit and files his report."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from api.web.actions import register
from api.web.forms import (
    REASON, DossierKind, FormAction, Input, Parsed, actions_of, pick,
    reason, text, with_reason
)
from api.web.pages import structure_name, user_name
from api.web.prefect_links import links as prefect_links
from api.web.session import WebUser
from api.web.timeline import rows as timeline_rows
from api.web.visits import VISIT_INPUTS, parse_visit
from certification.errors import NotFound, ValidationFailed
from certification.models import Role
from certification.settings import get_settings
from certification.training import appuis as appuis_svc
from certification.training import queries as training_queries
from certification.training.actions import appui_actions, appui_waiting_for
from certification.training.models import Appui
from certification.training.read_model import appui_view
from certification.training.states import (
    APPUI,
    APPUI_STATE_LABELS,
)
from documents.formatting import datetime_fr
from documents.service import list_documents
from api.web.forms import OFFICERS
from api.training.pages import FORMATEUR_OR_OFFICER, formateur_choices, select_options, structure_choices
# --- appuis pédagogiques ---------------------------------------------------------------------


def appui_context(db: Session, current: WebUser, appui_id: int) -> dict[str, Any]:
    a = training_queries.get_appui(db, current.actor, appui_id)
    view = appui_view(db, a)
    actions = appui_actions(db, current.actor, a)
    return {
        "a": a, "structure": view.structure, "formateur": view.formateur.full_name if view.formateur else None,
        "requested_by": view.requester.full_name if view.requester else None, "state_label": APPUI_STATE_LABELS[a.state],
        "final": APPUI.is_final(a.state), "waiting_for": appui_waiting_for(a), "actions": actions,
        "visit_scheduled": a.visit_at is not None,
        "formateurs": [{"id": f["id"], "name": f["name"] + (" (actuel)" if f["id"] == a.formateur_id else "")}
                       for f in formateur_choices(db, current)] if "assign" in actions else [],
        "documents": list_documents(db, Appui.__tablename__, a.id),
        "timeline": timeline_rows(db, (Appui.__tablename__, a.id, "appui")),
        "prefect": prefect_links("appui", a.id),
    }


def appui_listing(db: Session, current: WebUser) -> dict[str, Any]:
    rows = [(f"/app/appuis/{a.id}", [
        a.reference, structure_name(db, a.structure_id), a.subject, user_name(db, a.formateur_id) or "—",
        datetime_fr(a.visit_at) if a.visit_at else "—", APPUI_STATE_LABELS[a.state], appui_waiting_for(a) or "—",
    ]) for a in training_queries.list_appuis(db, current.actor)]
    can_request = current.role in (Role.structure, Role.officer)
    structures = []
    if current.role is Role.officer:
        structures = structure_choices(db)
    elif current.role is Role.structure and current.user.structure_id:
        structures = [{"id": current.user.structure_id, "name": structure_name(db, current.user.structure_id)}]
    return {"title": "Appuis pédagogiques", "rows": rows, "empty": "Aucun appui pédagogique.",
            "columns": ["Référence", "Structure", "Objet", "Formateur", "Visite", "État", "En attente de"],
            "actions": ["request"] if can_request else [], "structures": structures}


def _parse_request(form, ctx) -> Parsed:
    structure = pick(form, "structure_id", ctx["structures"], "Choisissez la structure concernée.")
    subject = text(form, "subject", required="L'objet de l'appui est obligatoire.", max_len=200)
    need = text(form, "need", required="Décrivez le besoin.")
    return Parsed({"structure_id": structure["id"], "subject": subject, "need": need},
                  [("Structure", structure["name"]), ("Objet", subject), ("Besoin", need)])


def _parse_assign(form, ctx) -> Parsed:
    chosen = pick(form, "formateur_id", ctx["formateurs"], "Choisissez un formateur dans la liste.")
    return Parsed({"formateur_id": chosen["id"]}, [("Formateur", chosen["name"]),
                                                    ("Effet", "le formateur est lié à la structure (il ne pourra "
                                                              "pas la contrôler ni siéger au jury de ses candidats)")])


def _parse_report(form, _ctx) -> Parsed:
    report = text(form, "text", required=appuis_svc.REPORT_REQUIRED, max_len=20000)
    return Parsed({"text": report}, [("Compte rendu", report)])


def _apply_report(db: Session, actor, appui_id: int, v: dict) -> Appui:
    if len(v["pieces"]) > 1:
        raise ValidationFailed("Un seul fichier de compte rendu (PDF).", code="too_many_files")
    return appuis_svc.report(db, actor, appui_id, text=v["text"], file=v["pieces"][0] if v["pieces"] else None)


APPUI_ACTIONS = actions_of(
    FormAction("confier", "Confier l'appui à un formateur", OFFICERS, "assign",
               (Input("formateur_id", "Formateur EPSP", "select", required=True, choices=select_options("formateurs")),),
               _parse_assign, lambda db, actor, i, v: appuis_svc.assign(db, actor, i, v["formateur_id"]),
               done="L'appui a été confié ; le formateur reçoit sa mission."),
    FormAction("visite", "Programmer la visite", FORMATEUR_OR_OFFICER, "visit", VISIT_INPUTS, parse_visit,
               lambda db, actor, i, v: appuis_svc.schedule_visit(
                   db, actor, i, visit_at=v["visit_at"], place=v["place"], notes=v["notes"],
                   duration_minutes=v["minutes"]),
               done="La visite est programmée ; la structure reçoit le programme et l'invitation.",
               button="Confirmer et envoyer l'invitation"),
    FormAction("compte-rendu", "Déposer le compte rendu", frozenset({Role.formateur}), "report", (
        Input("text", "Compte rendu de l'appui", "textarea", required=True),
        Input("compte_rendu", "Compte rendu signé (PDF, facultatif)", "file"),
    ), _parse_report, _apply_report, done="Le compte rendu a été déposé ; la structure le reçoit."),
    FormAction("annuler", "Annuler l'appui", frozenset({Role.officer, Role.structure}), "cancel", (REASON,), reason,
               with_reason(appuis_svc.cancel), done="L'appui a été annulé."),
)

APPUI_CREATIONS = actions_of(
    FormAction("demander", "Demander un appui pédagogique", frozenset({Role.structure, Role.officer}), "request", (
        Input("structure_id", "Structure", "select", required=True, choices=select_options("structures"),
              default=lambda ctx, _item: str(ctx["structures"][0]["id"]) if len(ctx["structures"]) == 1 else ""),
        Input("subject", "Objet", required=True, attrs=(("maxlength", "200"),)),
        Input("need", "Description du besoin", "textarea", required=True),
    ), _parse_request, lambda db, actor, _i, v: appuis_svc.request_appui(
        db, actor, subject=v["subject"], need=v["need"], structure_id=v["structure_id"]),
        done="La demande d'appui a été enregistrée.", redirect=lambda a: f"/app/appuis/{a.id}?fait=demander"),
)


def _appui_file(_session: Session, ctx: dict, file_id: int):
    f = ctx["a"].report_file
    if not f or file_id != 1:
        raise NotFound("Fichier introuvable.")
    return get_settings().data_dir / f["relative_path"], f["original_name"], f["content_type"]


APPUIS = register(DossierKind(
    "appuis", "Les appuis pédagogiques", "appui_id", "training/appui.html", appui_context, "a", "appui_changed",
    Appui.__tablename__, APPUI_ACTIONS, listing=appui_listing, creations=APPUI_CREATIONS,
    documents=lambda _s, ctx: {(Appui.__tablename__, ctx["a"].id)}, files=_appui_file,
))
