"""Contrôles d'agrément in the back-office (``/app/controles``): assignment (conflicts of interest shown and refused),
the contrôleur's visit and report, the officer's decision, the structure's evidence, closing."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from api.web.actions import register, stored_file
from api.web.forms import (
    OFFICERS,
    COMMENT, REASON, DossierKind, FormAction, Input, Parsed, actions_of, choice, day, optional_comment, pick,
    reason, text, with_reason
)
from api.web.pages import structure_name, user_name
from api.web.prefect_links import links as prefect_links
from api.web.session import WebUser
from api.web.timeline import rows as timeline_rows
from api.web.visits import VISIT_INPUTS, parse_visit
from certification.controle import queries as controle_queries
from certification.controle import service as controles_svc
from certification.controle.actions import controle_actions, controle_waiting_for
from certification.controle.models import Controle
from certification.controle.read_model import controle_view
from certification.controle.states import CONTROLE, CONTROLE_STATE_LABELS, FINDING_STATUSES, KIND_LABELS
from certification.errors import ValidationFailed
from certification.models import Role, User
from certification.services import conflicts
from documents.formatting import date_fr
from documents.service import list_documents

FINDING_LABELS = {"conforme": "conforme", "non_conforme": "non conforme", "observation": "observation"}
STANDARD_CRITERIA = (
    "Encadrants formés à l'EPSP",
    "Suivi des évaluations en situation de production",
    "Information des candidats",
    "Livret d'évaluation des blocs",
)
FINDING_ROWS = 8
DECISIONS = {
    "compliant": "Conclure à la conformité (agrément maintenu)",
    "action_plan": "Exiger un plan d'actions",
    "suspension": "Suspendre l'agrément",
    "withdrawal": "Retirer l'agrément",
}


def controleur_choices(db: Session, c: Controle) -> list[dict[str, Any]]:
    """Active contrôleurs, each with the conflict of interest that forbids him this structure."""
    out = []
    users = db.exec(select(User).where(User.role == Role.controleur.value, User.active.is_(True))
                         .order_by(User.full_name)).all()
    for u in users:
        links = conflicts.conflicting_links(db, u.id, c.structure_id)
        out.append({"id": u.id, "name": u.full_name, "current": u.id == c.controleur_id,
                    "conflict": ", ".join(conflicts.LINK_LABELS[conflicts.LinkKind(link.kind)] for link in links)})
    return out


def controle_context(db: Session, current: WebUser, controle_id: int) -> dict[str, Any]:
    """The contrôle's page, mapped from its read model (:mod:`certification.controle.read_model`)."""
    c = controle_queries.get_controle(db, current.actor, controle_id)
    view = controle_view(db, c)
    actions = controle_actions(db, current.actor, c)
    return {
        "c": c,
        "structure": view.structure,
        "agrement": view.agrement,
        "controleur": view.controleur,
        "kind_label": KIND_LABELS.get(c.kind, c.kind),
        "state_label": CONTROLE_STATE_LABELS[c.state],
        "waiting_for": controle_waiting_for(c),
        "final": CONTROLE.is_final(c.state),
        "files": list(view.files),
        "documents": list_documents(db, Controle.__tablename__, c.id),
        "timeline": timeline_rows(db, (Controle.__tablename__, c.id, "contrôle")),
        "actions": actions,
        "controleurs": controleur_choices(db, c) if "assign" in actions else [],
        "visit_scheduled": c.visit_at is not None,
        "finding_labels": FINDING_LABELS,
        "prefect": prefect_links("controle", c.id),
    }


def controle_listing(db: Session, current: WebUser) -> dict[str, Any]:
    rows = [(f"/app/controles/{c.id}", [
        c.reference, structure_name(db, c.structure_id), KIND_LABELS.get(c.kind, c.kind),
        user_name(db, c.controleur_id) or "—", CONTROLE_STATE_LABELS[c.state], controle_waiting_for(c) or "—",
    ]) for c in controle_queries.list_controles(db, current.actor)]
    return {"title": "Contrôles d'agrément", "rows": rows, "empty": "Aucun contrôle.",
            "columns": ["Référence", "Structure", "Type", "Contrôleur", "État", "En attente de"]}


# --- parsing ---------------------------------------------------------------------------------


def _parse_assign(form, ctx) -> Parsed:
    chosen = pick(form, "controleur_id", ctx["controleurs"], "Choisissez un contrôleur dans la liste.")
    summary = [("Contrôleur", chosen["name"])]
    if chosen["conflict"]:
        summary.append(("Attention", f"conflit d'intérêts déclaré : {chosen['conflict']}"))
    return Parsed({"controleur_id": chosen["id"]}, summary)


def _controleur_options(ctx, _item) -> list[tuple[str, str]]:
    return [(str(u["id"]), u["name"] + (" (actuel)" if u["current"] else "")
             + (f" — conflit d'intérêts : {u['conflict']}" if u["conflict"] else "")) for u in ctx["controleurs"]]


def _finding_rows(ctx, _item):
    return [(str(n), f"constat {n}", {"critere": STANDARD_CRITERIA[n - 1]} if n <= len(STANDARD_CRITERIA) else {})
            for n in range(1, FINDING_ROWS + 1)]


def _parse_report(form, _ctx) -> Parsed:
    findings = []
    for n in range(1, FINDING_ROWS + 1):
        criterion = text(form, f"constat_{n}_critere", max_len=500)
        status = form.get(f"constat_{n}_statut", "")
        comment = text(form, f"constat_{n}_commentaire", max_len=2000)
        if not status and not comment:
            continue  # an unused row (its criterion may be a suggestion left as is)
        if not criterion:
            raise ValidationFailed(f"Constat n° {n} : indiquez le critère.", code="bad_finding")
        if status not in FINDING_STATUSES:
            raise ValidationFailed(f"Constat n° {n} : choisissez un statut.", code="bad_finding")
        findings.append({"criterion": criterion, "status": status, "comment": comment})
    if not findings:
        raise ValidationFailed("Le rapport doit comporter au moins un constat (critère et statut).",
                               code="findings_required")
    summary = text(form, "summary", required=controles_svc.SUMMARY_REQUIRED)
    lines = "\n".join(f"{f['criterion']} : {FINDING_LABELS[f['status']]}" + (f" ({f['comment']})" if f["comment"] else "")
                      for f in findings)
    return Parsed({"findings": findings, "summary": summary}, [("Synthèse", summary), ("Constats", lines)])


def _parse_decision(form, _ctx) -> Parsed:
    decision = choice(form, "decision", DECISIONS, "Choisissez une décision.")
    why = text(form, "reason", required="Motivez la suspension ou le retrait."
               if decision in ("suspension", "withdrawal") else None)
    items, deadline = "", None
    summary = [("Décision", DECISIONS[decision].lower()), ("Motif", why or "—")]
    if decision == "action_plan":
        items = text(form, "action_plan_items", required="Décrivez les actions attendues.")
        deadline = day(form, "action_plan_deadline", required="Indiquez l'échéance du plan d'actions.")
        controles_svc.check_action_plan_deadline(deadline)
        summary += [("Actions attendues", items), ("Échéance", date_fr(deadline))]
    if decision in ("suspension", "withdrawal"):
        summary.append(("Effet", "l'agrément est " + ("suspendu" if decision == "suspension" else "retiré")
                        + " et les sessions de jury en attente de ses candidats sont signalées"))
    return Parsed({"decision": decision, "reason": why, "items": items, "deadline": deadline}, summary,
                  title=DECISIONS[decision])


def _parse_evidence(form, _ctx) -> Parsed:
    comment = text(form, "comment")
    return Parsed({"comment": comment}, [("Commentaire", comment or "—")])


def _decision_flows(controle_id, values, c) -> list[tuple[str, int]]:
    runs = [("controle_changed", controle_id)]
    if values["decision"] in ("suspension", "withdrawal"):
        runs.append(("agrement_changed", c.agrement_id))
    return runs


CONTROLE_ACTIONS = actions_of(
    FormAction("confier", "Confier le contrôle", OFFICERS, "assign",
               (Input("controleur_id", "Contrôleur", "select", required=True, choices=_controleur_options),),
               _parse_assign, lambda db, actor, i, v: controles_svc.assign(db, actor, i, v["controleur_id"]),
               done="Le contrôle a été confié.", refusal="assign"),
    FormAction("visite", "Programmer la visite", frozenset({Role.controleur, Role.officer}), "visit", VISIT_INPUTS,
               parse_visit, lambda db, actor, i, v: controles_svc.schedule_visit(
                   db, actor, i, visit_at=v["visit_at"], place=v["place"], notes=v["notes"],
                   duration_minutes=v["minutes"]),
               done="La visite est programmée ; la structure reçoit sa convocation avec l'invitation.",
               button="Confirmer et envoyer la convocation"),
    FormAction("rapport", "Déposer le rapport", frozenset({Role.controleur}), "report", (
        Input("constat", "Constats", "grid", rows=_finding_rows, columns=(
            Input("critere", "Critère"),
            Input("statut", "Statut", "select", choices=tuple(FINDING_LABELS.items())),
            Input("commentaire", "Commentaire"),
        ), help="Les lignes sans statut ni commentaire sont ignorées."),
        Input("summary", "Synthèse du rapport", "textarea", required=True),
        Input("rapport", "Rapport signé (PDF, facultatif)", "file"),
    ), _parse_report, lambda db, actor, i, v: controles_svc.submit_report(
        db, actor, i, findings=v["findings"], summary=v["summary"], files=v["pieces"]),
        done="Le rapport a été déposé."),
    FormAction("decision", "Décider sur le rapport", OFFICERS, "decision", (
        Input("decision", "Décision", "radio", required=True, choices=tuple(DECISIONS.items())),
        Input("reason", "Motif (obligatoire pour une suspension ou un retrait)", "textarea"),
        Input("action_plan_items", "Plan d'actions : actions attendues", "textarea"),
        Input("action_plan_deadline", "Plan d'actions : échéance", "date"),
    ), _parse_decision, lambda db, actor, i, v: controles_svc.decide(
        db, actor, i, decision=v["decision"], reason=v["reason"], action_plan_items=v["items"],
        action_plan_deadline=v["deadline"]),
        done="La décision a été enregistrée ; la structure en reçoit la lettre.", dispatch=_decision_flows),
    FormAction("preuves", "Déposer des preuves du plan d'actions", frozenset({Role.structure, Role.officer}),
               "evidence", (Input("evidence", "Preuves (PDF, plusieurs fichiers possibles)", "file", required=True,
                                  attrs=(("multiple", "multiple"),)), COMMENT),
               _parse_evidence, lambda db, actor, i, v: controles_svc.add_evidence(db, actor, i, v["pieces"], v["comment"]),
               done="Les preuves ont été déposées."),
    FormAction("cloturer", "Clôturer le plan d'actions", OFFICERS, "close-action-plan", (COMMENT,), optional_comment,
               lambda db, actor, i, v: controles_svc.close_action_plan(db, actor, i, v["comment"]),
               done="Le plan d'actions est clôturé."),
    FormAction("annuler", "Annuler le contrôle", OFFICERS, "cancel", (REASON,), reason,
               with_reason(controles_svc.cancel), done="Le contrôle a été annulé."),
)


CONTROLES = register(DossierKind(
    "controles", "Les contrôles", "controle_id", "controle/controle.html", controle_context, "c", "controle_changed",
    Controle.__tablename__, CONTROLE_ACTIONS, listing=controle_listing,
    documents=lambda _s, ctx: {(Controle.__tablename__, ctx["c"].id)},
    files=lambda _s, ctx, file_id: stored_file(ctx["files"], file_id),
    messages={"planifie": "Le contrôle a été planifié."},
))
