"""Candidates at their step and the cases of their back-office actions."""

from __future__ import annotations

from sqlmodel import select

from certification.clock import today
from certification.db import session_scope
from certification.candidates.models import Candidate, Evaluation
from certification.candidates import service as candidates_svc
from tests.factories import (
    ready_candidates,
    structure_id_of,
)
from tests.web.scenarios.common import PDF, EVIL, Case, created, dossier_env, env, eq, state
from tests.web.scenarios.agrement import structure_one


def candidate(people, stage: str) -> dict:
    """A CQP SP candidate of structure 1 (which has an account): « registered », « in_training »
    (no evaluation yet) or « postponed »."""
    _, structure = structure_one(people)
    actor = structure["actor"]
    with session_scope() as db:
        cid = candidates_svc.register_candidate(
            db, actor, certification_code="CQP_SP", last_name="Le Floc'h", first_names="Maëlys",
            birth_date=today().replace(year=today().year - 30), contract_type="CDDI", contract_start=today(),
            sex="F").id
        if stage != "registered":
            candidates_svc.start_training(db, actor, cid)
        if stage == "postponed":
            candidates_svc.postpone(db, actor, cid, "Arrêt maladie")
    return {"id": cid}


def _candidate_env(people, stage: str, key: str, form: str | None = None) -> dict:
    return dossier_env("candidats", Candidate, candidate(people, stage), key, form)


def _candidate_row(e):
    with session_scope() as db:
        rows = db.exec(select(Evaluation).where(Evaluation.candidate_id == e["id"])).all()
        return db.get(Candidate, e["id"]).state, [(r.bloc_code, r.result, len(r.files)) for r in rows]


def _presenter_env(people) -> dict:
    _, structure = structure_one(people)
    return dossier_env("candidats", Candidate, {"id": ready_candidates(structure, 1, mark_ready=False)[0]}, "presenter")


CANDIDATE_CASES: list[Case] = [
    # candidates
    Case("inscrire-candidat", lambda p: (structure_one(p), env("/app/candidats", "/app/candidats/inscrire",
                                                              structure_id=structure_id_of(1)))[1], "structure",
         lambda e: {"structure_id": str(e["structure_id"]), "certification_code": "CQP_SP", "last_name": EVIL,
                    "first_names": "Aïssatou", "birth_date": "1994-03-02", "sex": "F", "contract_type": "CDDI",
                    "contract_start": today().isoformat(), "bloc_SP-B1": "1", "bloc_SP-B2": "1"},
         created(Candidate), lambda e, after: eq(state(Candidate, after), "registered"), lambda e, after: [],
         "formateur", location=lambda e, after: f"/app/candidats/{after}?fait=inscrire"),
    Case("evaluer", lambda p: _candidate_env(p, "in_training", "evaluer"), "structure",
         lambda e: {"bloc_code": "SP-B2", "evaluated_on": today().isoformat(), "result": "acquis",
                    "evaluator_name": "Yann Le Gall, encadrant", "comment": f"{EVIL} tri maîtrisé"},
         _candidate_row, lambda e, after: eq(after, ("in_training", [("SP-B2", "acquis", 1)])), lambda e, _: [],
         "formateur", files=lambda e: {"evidence": ("grille SP-B2.pdf", PDF, "application/pdf")}),
    Case("commencer", lambda p: _candidate_env(p, "registered", "commencer"), "officer", lambda e: {},
         _candidate_row, lambda e, after: eq(after[0], "in_training"), lambda e, _: [], "formateur", escaped=False),
    Case("presenter", _presenter_env, "structure", lambda e: {},
         lambda e: state(Candidate, e["id"]), lambda e, after: eq(after, "ready_for_jury"), lambda e, _: [],
         "formateur", escaped=False),
    Case("ajourner", lambda p: _candidate_env(p, "in_training", "ajourner"), "structure",
         lambda e: {"reason": f"{EVIL} contrat suspendu"}, _candidate_row, lambda e, after: eq(after[0], "postponed"),
         lambda e, _: [], "formateur"),
    Case("reprendre", lambda p: _candidate_env(p, "postponed", "reprendre"), "structure", lambda e: {},
         _candidate_row, lambda e, after: eq(after[0], "in_training"), lambda e, _: [], "formateur", escaped=False),
    Case("retirer-candidat", lambda p: _candidate_env(p, "in_training", "retirer", "form-retirer"), "structure",
         lambda e: {"reason": f"{EVIL} fin de contrat"}, _candidate_row, lambda e, after: eq(after[0], "withdrawn"),
         lambda e, _: [], "formateur"),
]
