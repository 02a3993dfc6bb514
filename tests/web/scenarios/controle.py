"""Contrôles at their step and the cases of their back-office actions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine

from certification.clock import now, today
from certification.controle import queries as controle_queries
from certification.controle import service as controles_svc
from certification.controle.models import Controle
from certification.db import session_scope
from tests.factories import (
    pieces,
)
from tests.web.scenarios.common import PDF, EVIL, Case, dossier_env, eq, visit_fields
from tests.web.scenarios.agrement import structure_one


STAGES = ("planned", "assigned", "visited", "reported", "action_plan", "evidence")


def controle(people, stage: str) -> dict:
    """A contrôle of the agrément of structure 1 (which has an account), up to ``stage``."""
    officer, controleur = people["officer"]["actor"], people["controleur"]["actor"]
    aid, structure = structure_one(people)
    with session_scope() as db:
        cid = controles_svc.plan_controle(db, officer, aid, reason="Signalement").id
    reached = STAGES.index(stage)
    if reached >= 1:
        with session_scope() as db:
            controles_svc.assign(db, officer, cid, people["controleur"]["id"])
    if reached >= 2:  # a visit five days ago
        with time_machine.travel(now() - timedelta(days=10)):
            with session_scope() as db:
                controles_svc.schedule_visit(db, controleur, cid, visit_at=datetime.now(UTC) + timedelta(days=5),
                                             place="Saint-Étienne")
    if reached >= 3:
        with session_scope() as db:
            controles_svc.submit_report(db, controleur, cid, summary="Écarts mineurs.", findings=[
                {"criterion": "Livret d'évaluation des blocs", "status": "non_conforme", "comment": "Absent"}])
    if reached >= 4:
        with session_scope() as db:
            controles_svc.decide(db, officer, cid, decision="action_plan", reason="Livret à mettre en place",
                                 action_plan_items="Livret pour chaque salarié",
                                 action_plan_deadline=today() + timedelta(days=30))
    if reached >= 5:
        with session_scope() as db:
            controles_svc.add_evidence(db, structure["actor"], cid, pieces()[:1], "Livrets")
    return {"id": cid, "agrement_id": aid}


def _controle_env(people, stage, key):
    return dossier_env("controles", Controle, controle(people, stage), key)


def _controle_row(e):
    with session_scope() as db:
        c = db.get(Controle, e["id"])
        return (c.state, c.visit_place, len(c.findings or []), c.decision,
                len(controle_queries.files_of(db, c.id)), c.version)


CONTROLE_CASES: list[Case] = [
    # contrôles
    Case("visite", lambda p: _controle_env(p, "assigned", "visite"), "controleur", visit_fields, _controle_row,
         lambda e, after: eq(after[:2], ("visit_scheduled", f"{EVIL} salle 2")),
         lambda e, _: [("controle_changed", e["id"])], "structure"),
    Case("rapport", lambda p: _controle_env(p, "visited", "rapport"), "controleur",
         lambda e: {"constat_1_critere": "Encadrants formés à l'EPSP", "constat_1_statut": "conforme",
                    "constat_2_critere": "Livret d'évaluation des blocs", "constat_2_statut": "non_conforme",
                    "constat_2_commentaire": EVIL, "summary": "Structure bien tenue ; un écart."},
         _controle_row, lambda e, after: eq(after[:5], ("report_submitted", "Saint-Étienne", 2, None, 1)),
         lambda e, _: [("controle_changed", e["id"])], "officer",
         files=lambda e: {"rapport": ("rapport signé.pdf", PDF, "application/pdf")}),
    Case("decision", lambda p: _controle_env(p, "reported", "decision"), "officer",
         lambda e: {"decision": "action_plan", "reason": EVIL, "action_plan_items": "Mettre en place le livret",
                    "action_plan_deadline": (today() + timedelta(days=45)).isoformat()},
         _controle_row, lambda e, after: eq((after[0], after[3]), ("action_plan", "action_plan")),
         lambda e, _: [("controle_changed", e["id"])], "controleur"),
    Case("preuves", lambda p: _controle_env(p, "action_plan", "preuves"), "structure",
         lambda e: {"comment": f"{EVIL} livrets remis"}, _controle_row,
         lambda e, after: eq((after[0], after[4]), ("action_plan", 1)),
         lambda e, _: [("controle_changed", e["id"])], "controleur",
         files=lambda e: {"evidence": ("livrets.pdf", PDF, "application/pdf")}),
    Case("cloturer", lambda p: _controle_env(p, "evidence", "cloturer"), "officer",
         lambda e: {"comment": f"{EVIL} preuves suffisantes"}, _controle_row,
         lambda e, after: eq(after[0], "closed"), lambda e, _: [("controle_changed", e["id"])], "structure"),
    Case("annuler", lambda p: _controle_env(p, "planned", "annuler"), "officer",
         lambda e: {"reason": f"{EVIL} doublon"}, _controle_row, lambda e, after: eq(after[0], "cancelled"),
         lambda e, _: [("controle_changed", e["id"])], "controleur"),
]
