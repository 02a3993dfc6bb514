"""Dossiers de VAE in the back-office (``/app/vae``): the structure's request for a candidate
registered in VAE, the officer's recevabilité decision, the accompaniment, the livret 2, the jury's
interview; the letters and the livret 2 (jury members: their sessions' candidates only)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from api.web.actions import register
from api.web.forms import (
    OFFICERS,
    REASON, DossierKind, FormAction, Input, Parsed, actions_of, choice, moment, pick, reason, row_values, text,
    with_reason
)
from api.web.pages import structure_name
from api.web.prefect_links import links as prefect_links
from api.web.session import WebUser
from api.web.timeline import rows as timeline_rows
from certification.errors import NotFound, ValidationFailed
from certification.models import Role
from certification.candidates.models import Candidate
from certification.candidates import queries as candidate_queries
from certification.candidates import service as candidates_svc
from certification.services.referential import bloc_titles
from certification.settings import get_settings
from certification.vae import queries as vae_queries
from certification.vae import service as vae_svc
from certification.vae.actions import vae_actions, vae_waiting_for
from certification.vae.models import VaeDossier
from certification.vae.read_model import vae_view
from certification.vae.states import VAE, VAE_STATE_LABELS
from documents.formatting import date_fr, datetime_fr
from documents.service import list_documents

ST_O = frozenset({Role.structure, Role.officer})
DECISIONS = {"recevable": "Déclarer la demande recevable", "non_recevable": "Déclarer la demande non recevable"}


def _person(c: Candidate) -> str:
    return f"{c.first_names} {c.last_name}"


def vae_context(db: Session, current: WebUser, dossier_id: int) -> dict[str, Any]:
    """The dossier's page, mapped from its read model (:mod:`certification.vae.read_model`)."""
    d = vae_queries.get_dossier(db, current.actor, dossier_id)
    view = vae_view(db, d)
    return {
        "d": d,
        "candidate": view.candidate,
        "structure": view.structure,
        "blocs": view.requested_blocs,
        "state_label": VAE_STATE_LABELS[d.state],
        "waiting_for": vae_waiting_for(d),
        "final": VAE.is_final(d.state),
        "decided_by": view.decided_by,
        "documents": list_documents(db, VaeDossier.__tablename__, d.id),
        "timeline": timeline_rows(db, (VaeDossier.__tablename__, d.id, "dossier de VAE")),
        "actions": vae_actions(db, current.actor, d),
        "candidate_link": current.role in (Role.officer, Role.structure, Role.jury_member),
        "prefect": prefect_links("vae", d.id),
    }


def _requestable(db: Session, current: WebUser) -> list[Candidate]:
    """The candidates registered in VAE, visible to the user, whose request is still to file."""
    if current.role not in ST_O:
        return []
    filed = set(db.exec(select(VaeDossier.candidate_id)))
    return [c for c in candidate_queries.list_candidates(db, current.actor)
            if c.pathway == candidates_svc.PATHWAY_VAE and c.id not in filed
            and c.state in ("registered", "in_training")]


def vae_listing(db: Session, current: WebUser) -> dict[str, Any]:
    rows = []
    for d in vae_queries.list_dossiers(db, current.actor):
        candidate = db.get(Candidate, d.candidate_id)
        rows.append((f"/app/vae/{d.id}", [
            d.reference, _person(candidate), structure_name(db, d.structure_id), VAE_STATE_LABELS[d.state],
            date_fr(d.recevabilite_due_on), vae_waiting_for(d) or "—",
        ]))
    requestable = _requestable(db, current)
    blocs: dict[str, str] = {}
    for c in requestable:
        titles = bloc_titles(db, c)
        blocs.update({b: f"{b} — {titles.get(b, '')}" for b in candidates_svc.missing_blocs(db, c)})
    return {"title": "Dossiers de VAE", "rows": rows, "empty": "Aucun dossier de VAE.",
            "columns": ["Référence", "Candidat", "Structure", "État", "Recevabilité avant le", "En attente de"],
            "actions": ["request"] if requestable else [],
            "candidates": [{"id": c.id, "name": f"{c.reference} — {_person(c)}"} for c in requestable],
            "blocs": sorted(blocs.items())}


# --- parsing ---------------------------------------------------------------------------------


def _parse_request(form, ctx) -> Parsed:
    chosen = pick(form, "candidate_id", ctx["candidates"], "Choisissez le candidat inscrit en VAE.")
    labels = dict(ctx["blocs"])
    blocs = [b for b, v in row_values(form, "bloc_").items() if v == "1"]
    if any(b not in labels for b in blocs):
        raise ValidationFailed("Cochez des blocs de la liste.", code="unknown_bloc")
    experience = text(form, "experience")
    return Parsed({"candidate_id": chosen["id"], "blocs": sorted(blocs), "experience": experience}, [
        ("Candidat", chosen["name"]),
        ("Blocs demandés", "\n".join(labels[b] for b in sorted(blocs)) if blocs else "tous ceux qu'il ne détient pas"),
        ("Expérience", experience or "—"),
    ])


def _parse_decision(form, _ctx) -> Parsed:
    decision = choice(form, "decision", DECISIONS, "Choisissez une décision.")
    why = text(form, "reason", required="Motivez la non-recevabilité." if decision == "non_recevable" else None)
    return Parsed({"decision": decision, "reason": why}, [("Décision", DECISIONS[decision].lower()),
                                                          ("Motifs", why or "—")], title=DECISIONS[decision])


def _parse_accompaniment(form, _ctx) -> Parsed:
    name = text(form, "accompanist_name", required="Indiquez le nom de l'accompagnateur.", max_len=200)
    organisation = text(form, "organisation", max_len=200)
    raw = form.get("hours", "").strip()
    if raw and not raw.isdigit():
        raise ValidationFailed("Durée en heures (nombre entier).", code="bad_hours")
    hours = int(raw) if raw else None
    return Parsed({"name": name, "organisation": organisation, "hours": hours}, [
        ("Accompagnateur", name), ("Organisme", organisation or "—"),
        ("Durée", f"{hours} h" if hours else "non renseignée")])


def _parse_livret2(_form, ctx) -> Parsed:
    names = [name for kind, name in ctx.get("uploads", []) if kind == "livret2"]
    return Parsed({}, [("Livret 2", names[0] if names else "—")])


def _apply_livret2(db: Session, actor, dossier_id, v: dict) -> VaeDossier:
    if len(v["pieces"]) != 1:
        raise ValidationFailed("Joignez le livret 2 : un seul fichier PDF.", code="livret2_required")
    return vae_svc.deposit_livret2(db, actor, dossier_id, v["pieces"][0])


def _parse_interview(form, _ctx) -> Parsed:
    at = moment(form, "interview_at", required="Indiquez la date et l'heure de l'entretien.")
    notes = text(form, "notes")
    return Parsed({"at": at, "notes": notes}, [("Entretien", datetime_fr(at)), ("Observations", notes or "—")])


VAE_CREATIONS = actions_of(
    FormAction("deposer", "Déposer une demande de VAE", ST_O, "request", (
        Input("candidate_id", "Candidat inscrit en VAE", "select", required=True,
              choices=lambda ctx, _item: [(str(c["id"]), c["name"]) for c in ctx["candidates"]]),
        Input("bloc", "Blocs demandés", "checkboxes", rows=lambda ctx, _item: ctx["blocs"],
              help="Aucun bloc coché : tous ceux que le candidat ne détient pas."),
        Input("experience", "Expérience en rapport avec les blocs demandés (facultatif)", "textarea"),
    ), _parse_request, lambda db, actor, _i, v: vae_svc.file_request(
        db, actor, v["candidate_id"], requested_blocs=v["blocs"] or None, experience=v["experience"]),
        done="La demande de VAE est déposée ; l'accusé de réception est envoyé.",
        redirect=lambda d: f"/app/vae/{d.id}?fait=deposer", dispatch=lambda _i, _v, d: [("vae_changed", d.id)]),
)

VAE_ACTIONS = actions_of(
    FormAction("recevabilite", "Décider de la recevabilité", OFFICERS, "recevabilite", (
        Input("decision", "Décision", "radio", required=True, choices=tuple(DECISIONS.items())),
        Input("reason", "Motifs (obligatoires pour une non-recevabilité)", "textarea"),
    ), _parse_decision, lambda db, actor, i, v: vae_svc.decide_recevabilite(
        db, actor, i, decision=v["decision"], reason=v["reason"]),
        done="La décision est enregistrée ; le candidat et la structure en reçoivent la lettre."),
    FormAction("accompagnement", "Renseigner l'accompagnement", ST_O, "accompaniment", (
        Input("accompanist_name", "Accompagnateur", required=True, attrs=(("maxlength", "200"),)),
        Input("organisation", "Organisme (facultatif)", attrs=(("maxlength", "200"),)),
        Input("hours", "Durée en heures (facultatif)", "number", attrs=(("min", "1"), ("max", "1000"))),
    ), _parse_accompaniment, lambda db, actor, i, v: vae_svc.record_accompaniment(
        db, actor, i, accompanist_name=v["name"], organisation=v["organisation"], hours=v["hours"]),
        done="L'accompagnement est enregistré."),
    FormAction("livret2", "Déposer le livret 2", ST_O, "livret2", (
        Input("livret2", "Livret 2 : dossier de validation (PDF)", "file", required=True),
    ), _parse_livret2, _apply_livret2,
        done="Le livret 2 est déposé ; le candidat est prêt pour le jury."),
    FormAction("entretien", "Enregistrer l'entretien avec le jury", frozenset({Role.officer, Role.jury_member}),
               "interview", (
        Input("interview_at", "Date et heure de l'entretien (heure de Paris)", "datetime", required=True),
        Input("notes", "Observations (facultatif)", "textarea"),
    ), _parse_interview, lambda db, actor, i, v: vae_svc.record_interview(
        db, actor, i, interview_at=v["at"], notes=v["notes"]),
        done="L'entretien est enregistré ; le jury peut délibérer sur les blocs demandés."),
    FormAction("abandonner", "Abandonner la démarche de VAE", ST_O, "abandon", (REASON,), reason,
               with_reason(vae_svc.abandon), done="La démarche de VAE est abandonnée."),
)


def _livret2_file(_session: Session, ctx: dict, file_id: int) -> tuple[Any, str, str]:
    d: VaeDossier = ctx["d"]
    if file_id != 1 or not d.livret2_path:
        raise NotFound("Fichier introuvable.")
    return get_settings().data_dir / d.livret2_path, d.livret2_name or "livret2.pdf", d.livret2_content_type or ""


VAE_PAGES = register(DossierKind(
    "vae", "Les dossiers de VAE", "dossier_id", "vae/vae.html", vae_context, "d", "vae_changed",
    VaeDossier.__tablename__, VAE_ACTIONS, listing=vae_listing, creations=VAE_CREATIONS,
    documents=lambda _s, ctx: {(VaeDossier.__tablename__, ctx["d"].id)},
    files=_livret2_file,
))
