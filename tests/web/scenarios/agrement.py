"""Agrément dossiers at their step (requests, agréments) and the cases of their back-office actions."""

from __future__ import annotations

from sqlmodel import select

from certification.clock import today
from certification.controle import queries as controle_queries
from certification.controle.models import Controle
from certification.db import session_scope
from certification.agrement.models import Agrement, AgrementRequest
from certification.agrement import service as requests_svc
from certification.agrement import queries as agrement_queries
from certification.agrement import lifecycle
from tests.factories import (
    grant_agrement,
    siret,
    structure_account,
    structure_id_of,
    submit_request,
)
from tests.web.scenarios.common import PDF, EVIL, Case, dossier_env, eq, state


def agrement(people, suspended: bool = False) -> dict:
    aid = grant_agrement(people)
    if suspended:
        with session_scope() as db:
            lifecycle.suspend(db, people["officer"]["actor"], aid, "Contrôle en cours")
    return {"id": aid}


def structure_one(people) -> tuple[int, dict]:
    """Structure 1, its granted CQP SP agrément and its account (people["structure"]), made once."""
    if "structure" not in people:
        grant_agrement(people, 1)
        structure_account(people, siret(1))
    with session_scope() as db:
        aid = db.exec(select(Agrement.id).where(Agrement.structure_id == structure_id_of(1))).first()
    return aid, people["structure"]


def incomplete_request(people, n: int = 1) -> dict:
    """A request of the mandataire (for structure ``n``) whose compléments the officer asked for."""
    rid = submit_request(people["mandataire"]["actor"], n)
    with session_scope() as db:
        requests_svc.request_complements(db, people["officer"]["actor"], rid, "Statuts signés de l'association",
                                         deadline_days=15)
    return {"id": rid}


def _agrement_case(key, suspended, expected):
    def setup(people):
        return dossier_env("agrements", Agrement, agrement(people, suspended), key)

    return Case(key, setup, "officer", lambda e: {"reason": f"{EVIL} décision du {today():%d/%m/%Y}"},
                lambda e: state(Agrement, e["id"]), lambda e, after: eq(after, expected),
                lambda e, _: [("agrement_changed", e["id"])], "mandataire")


def _open_controle(aid: int) -> int | None:
    with session_scope() as db:
        c = controle_queries.open_controle_of(db, aid)
        return c.id if c else None


def _plan_controle_env(people) -> dict:
    return dossier_env("agrements", Agrement, agrement(people), "controle")


def _request_row(e):
    with session_scope() as db:
        r = db.get(AgrementRequest, e["id"])
        return r.state, r.round, len(agrement_queries.pieces_of(db, r.id))


def _renewal_of(e):
    with session_scope() as db:
        r = agrement_queries.open_renewal_of(db, e["id"])
        return r.id if r else None


def _renewal_check(_e, after):
    with session_scope() as db:
        r = db.get(AgrementRequest, after)
        pieces_kinds = sorted(p.kind for p in agrement_queries.pieces_of(db, r.id))
    eq((r.state, r.kind, pieces_kinds), ("submitted", "renewal", ["attestation_epsp", "dossier", "programme"]))


AGREMENT_CASES: list[Case] = [
    # agrément requests (the mandataire's steps)
    Case("transmettre", lambda p: dossier_env("demandes", AgrementRequest, incomplete_request(p), "transmettre"),
         "mandataire", lambda e: {"comment": f"{EVIL} statuts signés joints"}, _request_row,
         lambda e, after: eq(after, ("submitted", 2, 3)), lambda e, _: [("agrement_request_changed", e["id"])],
         "officer", files=lambda e: {"statuts": ("statuts signés.pdf", PDF, "application/pdf")}),
    Case("retirer-demande", lambda p: dossier_env("demandes", AgrementRequest, incomplete_request(p), "retirer"),
         "mandataire", lambda e: {"reason": f"{EVIL} la structure renonce"}, _request_row,
         lambda e, after: eq(after[0], "withdrawn"), lambda e, _: [("agrement_request_changed", e["id"])],
         "officer"),
    Case("renouveler", lambda p: dossier_env("agrements", Agrement, agrement(p), "renouveler"), "mandataire",
         lambda e: {"motivation": f"{EVIL} activité poursuivie"}, _renewal_of, _renewal_check,
         lambda e, after: [("agrement_request_changed", after)], "officer",
         files=lambda e: {"programme": ("programme 2027.pdf", PDF, "application/pdf")},
         location=lambda e, after: f"/app/demandes/{after}?fait=renouvellement"),
    # agréments
    _agrement_case("suspendre", False, "suspended"),
    _agrement_case("lever", True, "active"),
    _agrement_case("retirer", False, "withdrawn"),
    Case("controle", _plan_controle_env, "officer", lambda e: {"reason": f"{EVIL} signalement d'un salarié"},
         lambda e: _open_controle(e["id"]),
         lambda e, after: eq(state(Controle, after), "planned"), lambda e, after: [("controle_changed", after)],
         "mandataire", location=lambda e, after: f"/app/controles/{after}?fait=planifie"),
]
