"""Agrément requests and granted agréments in the back-office."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlmodel import Session

from api.web.actions import register, stored_file
from api.web.forms import (
    OFFICERS,
    MANDATAIRES,
    COMMENT, REASON, DossierKind, FormAction, Input, Parsed, actions_of, choice, integer, reason, text, with_reason
)
from api.web.pages import certification_of, structure_name
from api.web.prefect_links import links as prefect_links
from api.web.render import SECTION_ROLES
from api.web.session import WebUser
from api.web.timeline import rows as timeline_rows
from certification.agrement.actions import agrement_actions, request_actions, request_waiting_for
from certification.clock import today
from certification.controle import queries as controle_queries
from certification.controle import service as controles_svc
from certification.controle.states import CONTROLE_STATE_LABELS
from certification.errors import ValidationFailed
from certification.models import Role
from certification.agrement.models import Agrement, AgrementRequest
from certification.agrement.states import (
    AGREMENT,
    AGREMENT_REQUEST,
    AGREMENT_STATE_LABELS,
    PIECE_KINDS,
    REQUEST_STATE_LABELS,
)
from certification.agrement import service as requests_svc
from certification.agrement import queries as agrement_queries
from certification.agrement import lifecycle
from certification.agrement.read_model import agrement_view, request_view
from certification.settings import get_settings
from documents.formatting import date_fr
from documents.service import list_documents


# --- agrément requests -----------------------------------------------------------------------


def request_context(db: Session, current: WebUser, request_id: int) -> dict[str, Any]:
    """The request's page, mapped from its read model (:mod:`certification.agrement.read_model`)."""
    r = agrement_queries.get_request(db, current.actor, request_id)
    view = request_view(db, r)
    agrement = view.agrement
    entities = [(AgrementRequest.__tablename__, r.id, "demande")]
    if agrement:
        entities.append((Agrement.__tablename__, agrement.id, "agrément"))
    return {
        "r": r,
        "structure": view.structure,
        "certification": view.certification,
        "mandataire": view.mandataire,
        "state_label": REQUEST_STATE_LABELS[r.state],
        "waiting_for": request_waiting_for(r),
        "final": AGREMENT_REQUEST.is_final(r.state),
        "pieces": list(view.pieces),
        "piece_kinds": PIECE_KINDS,
        "documents": list_documents(db, AgrementRequest.__tablename__, r.id),
        "agrement": agrement,
        "agrement_state_label": AGREMENT_STATE_LABELS[agrement.state] if agrement else "",
        "timeline": timeline_rows(db, *entities),
        "actions": request_actions(db, current.actor, r),
        "prefect": prefect_links("agrement_request", r.id),
        "complements_days": get_settings().complements_deadline_days,
    }


def request_listing(db: Session, current: WebUser) -> dict[str, Any]:
    rows = [(f"/app/demandes/{r.id}", [
        r.reference, structure_name(db, r.structure_id), certification_of(db, r.certification_id).code,
        date_fr(r.submitted_at), REQUEST_STATE_LABELS[r.state], request_waiting_for(r) or "—",
    ]) for r in agrement_queries.list_requests(db, current.actor)]
    return {"title": "Demandes d'agrément", "rows": rows, "empty": "Aucune demande d'agrément.",
            "columns": ["Référence", "Structure", "Certification", "Déposée le", "État", "En attente de"]}


def _parse_admissible(form, _ctx) -> Parsed:
    comment = text(form, "comment")
    return Parsed({"comment": comment}, [("Commentaire", comment or "—")])


def _parse_complements(form, ctx) -> Parsed:
    message = text(form, "message", required="Précisez les compléments demandés.")
    days = integer(form, "deadline_days", lo=requests_svc.DEADLINE_DAYS_MIN, hi=requests_svc.DEADLINE_DAYS_MAX,
                   default=ctx["complements_days"], message=requests_svc.BAD_DEADLINE)
    return Parsed({"message": message, "days": days}, [
        ("Compléments demandés", message),
        ("Délai de réponse", f"{days} jours, soit jusqu'au {date_fr(today() + timedelta(days=days))}"),
    ])


DECISIONS = {"grant": "Accorder l'agrément", "refuse": "Refuser l'agrément"}


def _parse_decision(form, _ctx) -> Parsed:
    decision = choice(form, "decision", DECISIONS, "Choisissez d'accorder ou de refuser l'agrément.")
    why = text(form, "reason", required="Un refus doit être motivé." if decision == "refuse" else None)
    label = "Motif du refus" if decision == "refuse" else "Commentaire"
    return Parsed({"decision": decision, "reason": why},
                  [("Décision", DECISIONS[decision].lower()), (label, why or "—")], title=DECISIONS[decision])


def _apply_decision(db: Session, actor, request_id: int, v: dict):
    if v["decision"] == "grant":
        return requests_svc.grant(db, actor, request_id, comment=v["reason"])[0]
    return requests_svc.refuse(db, actor, request_id, v["reason"])


AVIS = {"favorable": "favorable", "defavorable": "défavorable"}


def _parse_avis(form, _ctx) -> Parsed:
    avis = choice(form, "avis", AVIS, "Choisissez un avis favorable ou défavorable.")
    comment = text(form, "comment", required=requests_svc.AVIS_REASON_REQUIRED if avis == "defavorable" else None)
    return Parsed({"avis": avis, "comment": comment}, [("Avis", AVIS[avis]), ("Motivation", comment or "—")])


# One file input per kind of piece (several PDF each), as the API's multipart fields.
PIECE_INPUTS = tuple(Input(kind, f"{label[0].upper()}{label[1:]} (PDF)", "file", attrs=(("multiple", "multiple"),))
                     for kind, label in PIECE_KINDS.items())


def _with_help(inputs: tuple[Input, ...], help_text: str) -> tuple[Input, ...]:
    return (replace(inputs[0], help=help_text), *inputs[1:])


def _parse_provide(form, ctx) -> Parsed:
    comment = text(form, "comment")
    if not ctx["uploads"] and not comment:
        raise ValidationFailed(requests_svc.EMPTY_COMPLEMENTS, code="empty_complements")
    r = ctx["r"]
    return Parsed({"comment": comment}, [
        ("Compléments demandés", r.complement_request or "—"), ("Commentaire", comment or "—"),
        ("Effet", f"envoi n° {r.round + 1} : la recevabilité de la demande est examinée à nouveau"),
    ])


REQUEST_ACTIONS = actions_of(
    FormAction("recevable", "Déclarer la demande recevable", OFFICERS, "admissible",
               (Input("comment", "Commentaire (facultatif)", "textarea", id="admissible-comment"),),
               _parse_admissible, lambda db, actor, i, v: requests_svc.declare_admissible(db, actor, i, v["comment"]),
               done="La demande a été déclarée recevable.", submit="Déclarer recevable"),
    FormAction("complements", "Demander des compléments", OFFICERS, "request-complements",
               (Input("message", "Pièces ou précisions attendues", "textarea", required=True),
                Input("deadline_days", "Délai de réponse (jours)", "number",
                      default=lambda ctx, _: str(ctx["complements_days"]), attrs=(("min", "1"), ("max", "180")))),
               _parse_complements,
               lambda db, actor, i, v: requests_svc.request_complements(db, actor, i, v["message"], deadline_days=v["days"]),
               done="La demande de compléments a été envoyée.", button="Confirmer et envoyer la demande"),
    FormAction("decision", "Décider", OFFICERS, "decision",
               (Input("decision", "Décision", "radio", required=True,
                      choices=(("grant", "accorder l'agrément"), ("refuse", "refuser l'agrément"))),
                Input("reason", "Motif (obligatoire pour un refus)", "textarea")),
               _parse_decision, _apply_decision, done="La décision a été enregistrée."),
    FormAction("avis", "Rendre l'avis", MANDATAIRES, "avis",
               (Input("avis", "Avis", "radio", required=True, choices=tuple(AVIS.items())),
                Input("comment", "Motivation (obligatoire pour un avis défavorable)", "textarea")),
               _parse_avis, lambda db, actor, i, v: requests_svc.give_avis(db, actor, i, v["avis"], v["comment"]),
               done="Votre avis a été enregistré."),
    FormAction("transmettre", "Transmettre les compléments", MANDATAIRES, "complements",
               (*_with_help(PIECE_INPUTS, "Un ou plusieurs PDF par type de pièce ; laissez vides les autres types."),
                COMMENT),
               _parse_provide, lambda db, actor, i, v: requests_svc.provide_complements(
                   db, actor, i, comment=v["comment"], pieces=v["pieces"]),
               done="Les compléments ont été transmis ; la recevabilité de la demande va être examinée à nouveau.",
               button="Confirmer et transmettre"),
    FormAction("retirer", "Retirer la demande", MANDATAIRES, "withdraw", (REASON,), reason,
               with_reason(requests_svc.withdraw),
               done="La demande a été retirée.", button="Confirmer le retrait de la demande"),
)


REQUESTS = register(DossierKind(
    "demandes", "Les demandes d'agrément", "request_id", "agrement/request.html", request_context, "r",
    "agrement_request_changed", AgrementRequest.__tablename__, REQUEST_ACTIONS, listing=request_listing,
    documents=lambda _s, ctx: {(AgrementRequest.__tablename__, ctx["r"].id)},
    files=lambda _s, ctx, file_id: stored_file(ctx["pieces"], file_id),
    messages={"renouvellement": "La demande de renouvellement a été déposée ; l'accusé de réception va être "
                                "envoyé."},
))


# --- agréments -------------------------------------------------------------------------------


def _plannable(db: Session, current: WebUser, a: Agrement) -> bool:
    """Whether the officer may plan a contrôle of this agrément now (the service's rules)."""
    return (current.role is Role.officer and a.state in controles_svc.PLANNABLE_AGREMENT_STATES
            and controle_queries.open_controle_of(db, a.id) is None)


def agrement_context(db: Session, current: WebUser, agrement_id: int) -> dict[str, Any]:
    """The agrément's page, mapped from its read model (:mod:`certification.agrement.read_model`)."""
    a = agrement_queries.get_agrement(db, current.actor, agrement_id)
    view = agrement_view(db, a)
    controles = []
    if current.role in SECTION_ROLES["controles"]:
        controles = [c for c in controle_queries.list_controles(db, current.actor) if c.agrement_id == a.id]
    actions = agrement_actions(db, current.actor, a)
    if _plannable(db, current, a):
        actions.append("plan-controle")
    return {
        "a": a, "structure": view.structure,
        "certification": view.certification, "state_label": AGREMENT_STATE_LABELS[a.state],
        "final": AGREMENT.is_final(a.state),
        "request_row": view.request,
        "renewal": view.renewal, "controles": [(c, CONTROLE_STATE_LABELS[c.state]) for c in controles],
        "documents": list_documents(db, Agrement.__tablename__, a.id),
        "timeline": timeline_rows(db, (Agrement.__tablename__, a.id, "agrément")),
        "prefect": prefect_links("agrement", a.id), "actions": actions,
        "previous_pieces": agrement_queries.pieces_of(db, a.request_id)
        if "renewal" in actions and a.request_id else [],
    }


def agrement_listing(db: Session, current: WebUser) -> dict[str, Any]:
    rows = [(f"/app/agrements/{a.id}", [
        a.number, structure_name(db, a.structure_id), date_fr(a.start_date), date_fr(a.end_date),
        AGREMENT_STATE_LABELS[a.state],
    ]) for a in agrement_queries.list_agrements(db, current.actor)]
    return {"title": "Agréments", "columns": ["Numéro", "Structure", "Début", "Fin", "État"], "rows": rows,
            "empty": "Aucun agrément."}


def _parse_plan(form, _ctx) -> Parsed:
    why = text(form, "reason")
    return Parsed({"reason": why}, [("Type", "contrôle sur demande"), ("Motif", why or "—")])


def _parse_renewal(form, ctx) -> Parsed:
    motivation = text(form, "motivation")
    previous = ctx["previous_pieces"]
    if not previous and not ctx["uploads"]:
        raise ValidationFailed(requests_svc.PIECES_REQUIRED, code="pieces_required")
    kept = ", ".join(f"{p.original_name} ({PIECE_KINDS.get(p.kind, p.kind)})" for p in previous)
    return Parsed({"motivation": motivation}, [
        ("Périmètre", ", ".join(ctx["a"].scope) or "—"), ("Motivation", motivation or "—"),
        ("Pièces reprises de la demande précédente", kept or "aucune"),
        ("Effet", "une demande de renouvellement est déposée ; l'accusé de réception est envoyé"),
    ])


AGREMENT_ACTIONS = actions_of(
    FormAction("suspendre", "Suspendre l'agrément", OFFICERS, "suspend", (REASON,), reason,
               with_reason(lifecycle.suspend), done="L'agrément a été suspendu.", button="Confirmer la suspension"),
    FormAction("lever", "Lever la suspension", OFFICERS, "reinstate", (REASON,), reason,
               with_reason(lifecycle.reinstate),
               done="La suspension a été levée : l'agrément est de nouveau en vigueur."),
    FormAction("retirer", "Retirer l'agrément", OFFICERS, "withdraw", (REASON,), reason,
               with_reason(lifecycle.withdraw),
               done="L'agrément a été retiré.", button="Confirmer le retrait définitif"),
    FormAction("controle", "Planifier un contrôle sur demande", OFFICERS, "plan-controle",
               (Input("reason", "Motif du contrôle (facultatif)", "textarea"),), _parse_plan,
               lambda db, actor, i, v: controles_svc.plan_controle(db, actor, i, kind="on_demand", reason=v["reason"]),
               done="Le contrôle a été planifié.", submit="Planifier un contrôle",
               redirect=lambda c: f"/app/controles/{c.id}?fait=planifie",
               dispatch=lambda _i, _v, c: [("controle_changed", c.id)]),
    FormAction("renouveler", "Demander le renouvellement", MANDATAIRES, "renewal", (
        Input("motivation", "Motivation (facultatif)", "textarea"),
        *_with_help(PIECE_INPUTS, "Les pièces de la demande précédente sont reprises : joignez seulement les "
                                  "nouvelles ou celles qui changent."),
    ), _parse_renewal, lambda db, actor, i, v: requests_svc.request_renewal(
        db, actor, i, pieces=v["pieces"], motivation=v["motivation"]),
        done="La demande de renouvellement a été déposée.", button="Confirmer et déposer la demande",
        redirect=lambda r: f"/app/demandes/{r.id}?fait=renouvellement",
        dispatch=lambda _i, _v, r: [("agrement_request_changed", r.id)]),
)

AGREMENTS = register(DossierKind(
    "agrements", "Les agréments", "agrement_id", "agrement/agrement.html", agrement_context, "a", "agrement_changed",
    Agrement.__tablename__, AGREMENT_ACTIONS, listing=agrement_listing,
    documents=lambda _s, ctx: {(Agrement.__tablename__, ctx["a"].id)},
))
