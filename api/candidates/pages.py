"""Candidates in the back-office: a structure (or an officer) registers a candidate, records his
evaluations per bloc with their evidence (PDF) and follows his training (start, ready for the jury,
postponed, resumed, withdrawn). Their certificates' pages are in :mod:`api.jury.pages_certificates`."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from api.web.actions import register
from api.web.forms import (
    REASON, DossierKind, FormAction, Input, Parsed, actions_of, choice, day, pick, reason, row_values, text, with_reason
)
from api.web.pages import certification_of, structure_name
from api.web.session import WebUser
from api.web.timeline import rows as timeline_rows
from certification.candidates.actions import candidate_actions
from certification.clock import today
from certification.errors import NotFound, ValidationFailed
from certification.models import Certification, Role
from certification.agrement.models import Agrement
from certification.agrement.states import VALID_AGREMENT_STATES
from certification.candidates.models import Candidate
from certification.jury.states import CERTIFICATE_STATE_LABELS, KIND_LABELS
from certification.candidates.states import CANDIDATE, CANDIDATE_STATE_LABELS, EVALUATION_RESULTS
from certification.agrement import queries as agrement_queries
from certification.candidates import queries as candidate_queries
from certification.candidates import service as candidates_svc
from certification.candidates.read_model import CandidateView, candidate_view
from certification.services.referential import blocs_of
from certification.settings import get_settings
from documents.formatting import date_fr

ST_O = frozenset({Role.structure, Role.officer})
SEXES = candidates_svc.SEXES


# --- candidates ------------------------------------------------------------------------------


def person(c: Candidate) -> str:
    """The candidate's name as the pages print it (first names, then last name)."""
    return f"{c.first_names} {c.last_name}"


def _evidence(view: CandidateView, readable: bool) -> list[tuple[Any, str, list[tuple[int, dict]]]]:
    """Each evaluation with its label and its evidence files, numbered across the candidate's
    evaluations (evaluations are only added: a number always names the same file). The evidence
    is read by the structure and the officer only, as in the API (not by the jury's members)."""
    out, n = [], 0
    for e in view.evaluations:
        files = []
        for f in e.files if readable else ():
            n += 1
            files.append((n, f))
        out.append((e, EVALUATION_RESULTS.get(e.result, e.result), files))
    return out


def candidate_context(db: Session, current: WebUser, candidate_id: int) -> dict[str, Any]:
    c = candidate_queries.get_candidate(db, current.actor, candidate_id)
    view = candidate_view(db, c)
    certificates = []
    if current.role in ST_O:
        certificates = [(k, KIND_LABELS[k.kind], CERTIFICATE_STATE_LABELS[k.state]) for k in view.certificates]
    return {
        "c": c, "structure": view.structure, "certification": view.certification, "version": view.version,
        "state_label": CANDIDATE_STATE_LABELS[c.state], "final": CANDIDATE.is_final(c.state),
        "evaluations": _evidence(view, current.role in ST_O),
        "held": sorted(view.held.items()),
        "missing": view.missing,
        "bloc_titles": dict(view.bloc_titles),
        "certificates": certificates, "sex_label": SEXES.get(c.sex or "", "non renseigné"),
        "actions": candidate_actions(db, current.actor, c),
        "timeline": timeline_rows(db, (Candidate.__tablename__, c.id, "candidat")),
        "pathway_label": candidates_svc.PATHWAYS.get(c.pathway, c.pathway),
        "vae_dossier_id": view.vae_dossier_id,
    }


def _registrable(db: Session, current: WebUser) -> list[Agrement]:
    """The agréments in force under which the user may register candidates."""
    if current.role not in ST_O:
        return []
    return [a for a in agrement_queries.list_agrements(db, current.actor) if a.state in VALID_AGREMENT_STATES]


def candidate_listing(db: Session, current: WebUser) -> dict[str, Any]:
    rows = [(f"/app/candidats/{c.id}", [
        c.reference, person(c), structure_name(db, c.structure_id),
        certification_of(db, c.certification_id).code, CANDIDATE_STATE_LABELS[c.state],
    ]) for c in candidate_queries.list_candidates(db, current.actor)]
    agrements = _registrable(db, current)
    structure_ids = sorted({a.structure_id for a in agrements}, key=lambda i: structure_name(db, i))
    certifications = [db.get(Certification, i) for i in sorted({a.certification_id for a in agrements})]
    return {"title": "Candidats", "rows": rows, "empty": "Aucun candidat.",
            "columns": ["Référence", "Nom", "Structure", "Certification", "État"],
            "actions": ["register"] if agrements else [],
            "structures": [{"id": i, "name": structure_name(db, i)} for i in structure_ids],
            "certifications": [(k.code, f"{k.code.replace('_', ' ')} — {k.title}") for k in certifications],
            "blocs": [(b.code, f"{b.code} — {b.title}") for k in certifications for b in blocs_of(db, k.id)]}


CONTRACTS = {t: t for t in candidates_svc.CONTRACT_TYPES}


def _parse_register(form, ctx) -> Parsed:
    structure = pick(form, "structure_id", ctx["structures"], "Choisissez la structure du candidat.")
    code = choice(form, "certification_code", dict(ctx["certifications"]), "Choisissez la certification préparée.")
    last = text(form, "last_name", required="Le nom du candidat est obligatoire.", max_len=100)
    first = text(form, "first_names", required="Le ou les prénoms du candidat sont obligatoires.", max_len=150)
    born = day(form, "birth_date", required="La date de naissance est obligatoire.")
    place = text(form, "birth_place", max_len=150)
    sex = form.get("sex", "").strip()
    if sex and sex not in SEXES:
        raise ValidationFailed(candidates_svc.SEX_MESSAGE, code="bad_sex")
    email = text(form, "email", max_len=254)
    if email and "@" not in email:
        raise ValidationFailed("Adresse e-mail du candidat invalide.", code="invalid_email")
    contract = choice(form, "contract_type", CONTRACTS, "Choisissez le type de contrat.")
    pathway = choice(form, "pathway", candidates_svc.PATHWAYS, "Choisissez la voie d'accès.") \
        if form.get("pathway") else candidates_svc.PATHWAY_TRAINING
    start = day(form, "contract_start", required="La date de début du contrat est obligatoire.")
    end = day(form, "contract_end")
    labels = dict(ctx["blocs"])
    chosen = [b for b, v in row_values(form, "bloc_").items() if v == "1"]
    if any(b not in labels for b in chosen):
        raise ValidationFailed("Cochez des blocs de la liste.", code="unknown_bloc")
    blocs = [b for b in labels if b in chosen]  # in the order of the referential
    return Parsed({
        "structure_id": structure["id"], "code": code, "last_name": last, "first_names": first, "birth_date": born,
        "birth_place": place, "sex": sex or None, "email": email, "contract_type": contract, "contract_start": start,
        "contract_end": end, "blocs": blocs or None, "pathway": pathway,
    }, [
        ("Structure", structure["name"]), ("Certification", dict(ctx["certifications"])[code]),
        ("Candidat", f"{first} {last}"), ("Né·e le", date_fr(born) + (f" à {place}" if place else "")),
        ("Sexe", SEXES.get(sex, "non renseigné (la déclaration à la Caisse des Dépôts sera retenue)")),
        ("E-mail", email or "—"),
        ("Contrat", f"{contract} depuis le {date_fr(start)}" + (f" jusqu'au {date_fr(end)}" if end else "")),
        ("Blocs préparés", "\n".join(labels[b] for b in blocs) if blocs else "tous ceux de l'agrément"),
        ("Voie d'accès", candidates_svc.PATHWAYS[pathway]),
    ])


def _apply_register(db: Session, actor, _id, v: dict) -> Candidate:
    return candidates_svc.register_candidate(
        db, actor, certification_code=v["code"], last_name=v["last_name"], first_names=v["first_names"],
        birth_date=v["birth_date"], contract_type=v["contract_type"], contract_start=v["contract_start"],
        birth_place=v["birth_place"], sex=v["sex"], email=v["email"], contract_end=v["contract_end"],
        blocs=v["blocs"], structure_id=v["structure_id"], pathway=v.get("pathway", candidates_svc.PATHWAY_TRAINING))


def _bloc_options(ctx, _item) -> list[tuple[str, str]]:
    held = {code for code, _ in ctx["held"]}
    return [(b, f"{b} — {ctx['bloc_titles'].get(b, '')}" + (" (déjà acquis)" if b in held else ""))
            for b in ctx["c"].blocs]


def _parse_evaluation(form, ctx) -> Parsed:
    bloc = choice(form, "bloc_code", dict(_bloc_options(ctx, None)), "Choisissez un bloc suivi par le candidat.")
    on = day(form, "evaluated_on", required="La date de l'évaluation est obligatoire.")
    candidates_svc.check_evaluation_day(on)
    result = choice(form, "result", EVALUATION_RESULTS, "Choisissez le résultat de l'évaluation.")
    evaluator = text(form, "evaluator_name", required=candidates_svc.EVALUATOR_REQUIRED, max_len=200)
    comment = text(form, "comment")
    return Parsed({"bloc": bloc, "on": on, "result": result, "evaluator": evaluator, "comment": comment}, [
        ("Candidat", person(ctx["c"])), ("Bloc", f"{bloc} — {ctx['bloc_titles'].get(bloc, '')}"),
        ("Évalué le", date_fr(on)), ("Résultat", EVALUATION_RESULTS[result]), ("Évaluateur", evaluator),
        ("Commentaire", comment or "—"),
    ])


def _apply_evaluation(db: Session, actor, candidate_id: int, v: dict) -> Candidate:
    candidates_svc.add_evaluation(db, actor, candidate_id, bloc_code=v["bloc"], evaluated_on=v["on"],
                                  result=v["result"], evaluator_name=v["evaluator"], comment=v["comment"],
                                  files=v["pieces"])
    return candidate_queries.get_candidate(db, actor, candidate_id)


def _parse_ready(_form, ctx) -> Parsed:
    return Parsed({}, [("Candidat", person(ctx["c"])), ("Blocs présentés", ", ".join(ctx["missing"]) or "—")])


def _parse_step(effect: str):
    def parse(_form, ctx) -> Parsed:
        return Parsed({}, [("Candidat", f"{ctx['c'].reference} — {person(ctx['c'])}"), ("Effet", effect)])
    return parse


def _candidate_file(_session: Session, ctx: dict, file_id: int):
    found = next((f for _, _, files in ctx["evaluations"] for n, f in files if n == file_id), None)
    if found is None:
        raise NotFound("Fichier introuvable.")
    return (get_settings().data_dir / found["relative_path"], found["original_name"],
            found.get("content_type", "application/pdf"))


CANDIDATE_ACTIONS = actions_of(
    FormAction("evaluer", "Saisir une évaluation", ST_O, "evaluations", (
        Input("bloc_code", "Bloc de compétences", "select", required=True, choices=_bloc_options),
        Input("evaluated_on", "Date de l'évaluation", "date", required=True,
              default=lambda _ctx, _item: today().isoformat()),
        Input("result", "Résultat", "radio", required=True, choices=tuple(EVALUATION_RESULTS.items())),
        Input("evaluator_name", "Évaluateur (nom et fonction)", required=True, attrs=(("maxlength", "200"),)),
        Input("comment", "Commentaire (facultatif)", "textarea"),
        Input("evidence", "Preuves de l'évaluation (PDF, facultatif)", "file", attrs=(("multiple", "multiple"),)),
    ), _parse_evaluation, _apply_evaluation, done="L'évaluation a été enregistrée."),
    FormAction("commencer", "Commencer la formation", ST_O, "start-training", (),
               _parse_step("le candidat est en formation ; ses évaluations par bloc peuvent être saisies"),
               lambda db, actor, i, v: candidates_svc.start_training(db, actor, i), done="La formation a commencé."),
    FormAction("presenter", "Présenter au jury", ST_O, "ready", (), _parse_ready,
               lambda db, actor, i, v: candidates_svc.mark_ready(db, actor, i),
               done="Le candidat est prêt pour le jury ; le certificateur l'inscrira à une session."),
    FormAction("ajourner", "Ajourner le candidat", ST_O, "postpone", (REASON,), reason,
               with_reason(candidates_svc.postpone), done="Le candidat est ajourné."),
    FormAction("reprendre", "Reprendre la formation", ST_O, "resume", (),
               _parse_step("le candidat reprend sa formation"),
               lambda db, actor, i, v: candidates_svc.resume(db, actor, i), done="Le candidat a repris sa formation."),
    FormAction("retirer", "Retirer le candidat", ST_O, "withdraw", (REASON,), reason,
               with_reason(candidates_svc.withdraw),
               done="Le candidat a été retiré.", button="Confirmer le retrait définitif"),
)

CANDIDATE_CREATIONS = actions_of(
    FormAction("inscrire", "Inscrire un candidat", ST_O, "register", (
        Input("structure_id", "Structure", "select", required=True,
              choices=lambda ctx, _item: [(str(s["id"]), s["name"]) for s in ctx["structures"]],
              default=lambda ctx, _item: str(ctx["structures"][0]["id"]) if len(ctx["structures"]) == 1 else ""),
        Input("certification_code", "Certification préparée", "select", required=True,
              choices=lambda ctx, _item: ctx["certifications"],
              default=lambda ctx, _item: ctx["certifications"][0][0] if len(ctx["certifications"]) == 1 else ""),
        Input("last_name", "Nom", required=True, attrs=(("maxlength", "100"),)),
        Input("first_names", "Prénom(s)", required=True, attrs=(("maxlength", "150"),)),
        Input("birth_date", "Date de naissance", "date", required=True),
        Input("birth_place", "Lieu de naissance (facultatif)", attrs=(("maxlength", "150"),)),
        Input("sex", "Sexe", "radio", choices=tuple(SEXES.items()),
              help="Demandé par la Caisse des Dépôts pour déclarer le certifié (SI CPF)."),
        Input("email", "Adresse e-mail (facultatif)", "email", attrs=(("maxlength", "254"),)),
        Input("contract_type", "Type de contrat", "select", required=True, choices=tuple(CONTRACTS.items())),
        Input("contract_start", "Début du contrat", "date", required=True),
        Input("contract_end", "Fin du contrat (facultatif)", "date"),
        Input("bloc", "Blocs préparés", "checkboxes", rows=lambda ctx, _item: ctx["blocs"],
              help="Aucun bloc coché : tous les blocs de l'agrément."),
        Input("pathway", "Voie d'accès", "radio", required=True, choices=tuple(candidates_svc.PATHWAYS.items()),
              default=lambda _ctx, _item: candidates_svc.PATHWAY_TRAINING,
              help="En VAE, la structure dépose ensuite la demande de VAE du candidat (menu « VAE »)."),
    ), _parse_register, _apply_register, done="Le candidat est inscrit.",
        redirect=lambda c: f"/app/candidats/{c.id}?fait=inscrire"),
)

CANDIDATES = register(DossierKind(
    "candidats", "Les candidats", "candidate_id", "candidates/candidate.html", candidate_context, "c", None,
    Candidate.__tablename__, CANDIDATE_ACTIONS, listing=candidate_listing, creations=CANDIDATE_CREATIONS,
    files=_candidate_file,
))
