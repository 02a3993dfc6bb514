"""Certificates and attestations de blocs in the back-office (``/app/certificats``): the officer
duplicates, corrects or revokes one, which the structure reads, with its Open Badges."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from api.web.actions import register
from api.web.forms import (
    DossierKind, FormAction, Input, OFFICERS, Parsed, REASON, actions_of, day, reason, text, with_reason,
)
from api.web.pages import certification_of
from api.web.prefect_links import links as prefect_links
from api.web.session import WebUser
from api.web.timeline import rows as timeline_rows
from certification.errors import NotFound, ValidationFailed
from certification.jury import issuance
from certification.jury import queries as jury_queries
from certification.jury.actions import certificate_actions
from certification.jury.models import Certificate, JurySession
from certification.jury.states import CERTIFICATE, CERTIFICATE_STATE_LABELS, KIND_LABELS
from certification.candidates.models import Candidate
from certification.models import Structure
from certification.candidates import service as candidates_svc
from certification.services import credentials as credential_svc
from certification.settings import get_settings
from documents import badge
from documents.formatting import date_fr
from documents.service import list_documents

SEXES = candidates_svc.SEXES


def certificate_context(db: Session, current: WebUser, certificate_id: int) -> dict[str, Any]:
    k = jury_queries.get_certificate(db, current.actor, certificate_id)
    candidate = db.get(Candidate, k.candidate_id)
    return {
        "k": k, "candidate": candidate, "structure": db.get(Structure, candidate.structure_id),
        "certification": certification_of(db, k.certification_id), "jury": db.get(JurySession, k.session_id),
        "kind_label": KIND_LABELS[k.kind], "state_label": CERTIFICATE_STATE_LABELS[k.state],
        "final": CERTIFICATE.is_final(k.state), "sex_label": SEXES.get(k.holder_sex or "", "non renseigné"),
        "verification_url": issuance.verification_url(k.number),
        "actions": certificate_actions(db, current.actor, k),
        "documents": list_documents(db, Certificate.__tablename__, k.id),
        "credentials": credential_svc.credentials_of(db, k.id),  # Open Badges (#15)
        "timeline": timeline_rows(db, (Certificate.__tablename__, k.id, "certificat")),
        "prefect": prefect_links("certificate", k.id),
    }


def certificate_listing(db: Session, current: WebUser) -> dict[str, Any]:
    rows = [(f"/app/certificats/{k.id}", [
        k.number, KIND_LABELS[k.kind], f"{k.holder_first_names} {k.holder_last_name}",
        certification_of(db, k.certification_id).code, date_fr(k.issued_on), CERTIFICATE_STATE_LABELS[k.state],
    ]) for k in jury_queries.list_certificates(db, current.actor)]
    return {"title": "Certificats et attestations", "rows": rows, "empty": "Aucun certificat délivré.",
            "columns": ["Numéro", "Document", "Titulaire", "Certification", "Délivré le", "État"]}


def _parse_duplicate(form, ctx) -> Parsed:
    parsed = reason(form)
    return Parsed(parsed.values, [*parsed.summary, (
        "Effet", f"version {ctx['k'].version + 1} du document, marquée DUPLICATA, même numéro {ctx['k'].number}")])


IDENTITY = {"holder_last_name": "Nom", "holder_first_names": "Prénom(s)", "holder_birth_date": "Date de naissance",
            "holder_sex": "Sexe"}


def _shown(field: str, value) -> str:
    if field == "holder_birth_date":
        return date_fr(value)
    if field == "holder_sex":
        return SEXES.get(value or "", "non renseigné")
    return str(value)


def _parse_correct(form, ctx) -> Parsed:
    k = ctx["k"]
    new = {
        "holder_last_name": text(form, "last_name", required="Le nom du titulaire est obligatoire.", max_len=100),
        "holder_first_names": text(form, "first_names", required="Le ou les prénoms du titulaire sont obligatoires.",
                                   max_len=150),
        "holder_birth_date": day(form, "birth_date", required="La date de naissance est obligatoire."),
        "holder_sex": form.get("sex", "").strip() or None,
    }
    if new["holder_sex"] is not None and new["holder_sex"] not in SEXES:
        raise ValidationFailed(candidates_svc.SEX_MESSAGE, code="bad_sex")
    changed = {f: v for f, v in new.items() if v is not None and v != getattr(k, f)}
    if not changed:
        raise ValidationFailed(issuance.NOTHING_TO_CORRECT, code="nothing_to_correct")
    why = text(form, "reason", required="Motif obligatoire.")
    printed = set(changed) - {"holder_sex"}
    effect = (f"version {k.version + 1} du document, même numéro {k.number}" if printed
              else "donnée déclarée à la Caisse des Dépôts, non imprimée : pas de nouvelle version du document")
    return Parsed({"changes": changed, "reason": why}, [
        *[(IDENTITY[f], f"{_shown(f, getattr(k, f))} → {_shown(f, v)}") for f, v in changed.items()],
        ("Motif", why), ("Effet", effect),
    ])


def _apply_correct(db: Session, actor, certificate_id: int, v: dict) -> Certificate:
    c = v["changes"]
    return issuance.correct(db, actor, certificate_id, reason=v["reason"], last_name=c.get("holder_last_name"),
                            first_names=c.get("holder_first_names"), birth_date=c.get("holder_birth_date"),
                            sex=c.get("holder_sex"))


def _parse_revoke(form, ctx) -> Parsed:
    parsed = reason(form)
    return Parsed(parsed.values, [*parsed.summary, (
        "Effet", f"le numéro {ctx['k'].number} répond « révoqué » à la vérification ; les blocs qu'il porte sont "
                 "annulés")])


CERTIFICATE_ACTIONS = actions_of(
    FormAction("duplicata", "Délivrer un duplicata", OFFICERS, "duplicate", (REASON,), _parse_duplicate,
               with_reason(issuance.duplicate), done="Le duplicata va être établi et envoyé."),
    FormAction("corriger", "Corriger l'identité du titulaire", OFFICERS, "correct", (
        Input("last_name", "Nom", required=True, attrs=(("maxlength", "100"),),
              default=lambda ctx, _i: ctx["k"].holder_last_name),
        Input("first_names", "Prénom(s)", required=True, attrs=(("maxlength", "150"),),
              default=lambda ctx, _i: ctx["k"].holder_first_names),
        Input("birth_date", "Date de naissance", "date", required=True,
              default=lambda ctx, _i: ctx["k"].holder_birth_date.isoformat()),
        Input("sex", "Sexe", "select", choices=tuple(SEXES.items()), default=lambda ctx, _i: ctx["k"].holder_sex or ""),
        REASON,
    ), _parse_correct, _apply_correct, done="La correction est enregistrée ; les anciennes valeurs restent dans "
                                             "l'historique."),
    FormAction("revoquer", "Révoquer", OFFICERS, "revoke", (REASON,), _parse_revoke,
               with_reason(issuance.revoke),
               done="Le document est révoqué.", button="Confirmer la révocation définitive"),
)


def _certificate_badge(db: Session, ctx: dict, credential_id: int):
    """A badge (PNG, credential baked in) of the certificate shown."""
    found = next((c for c in ctx["credentials"] if c.id == credential_id), None)
    if found is None:
        raise NotFound("Badge introuvable.")
    path, name = badge.badge_file(db, found, get_settings().data_dir)
    return path, name, "image/png"


CERTIFICATES = register(DossierKind(
    "certificats", "Les certificats et attestations", "certificate_id", "jury/certificate.html", certificate_context, "k",
    "certificate_changed", Certificate.__tablename__, CERTIFICATE_ACTIONS, listing=certificate_listing,
    documents=lambda _s, ctx: {(Certificate.__tablename__, ctx["k"].id)}, files=_certificate_badge,
))
