"""Jury sessions and certificates at their step and the cases of their back-office actions."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from certification.clock import now
from certification.db import session_scope
from certification.jury.models import Certificate, Deliberation, JuryCandidate, JuryMember, JurySession
from certification.jury import service as jury_svc
from certification.jury import queries as jury_queries
from tests.factories import (
    issue_results,
    jury_members,
    plan_past_session,
    ready_candidates,
)
from tests.web.scenarios.common import EVIL, Case, count, created, dossier_env, env, eq, local_input, state
from tests.web.scenarios.agrement import structure_one


JURY_STAGES = ("planned", "composed", "convened", "checked", "results", "deliberated", "notified")


def jury(people, stage: str, *, members: bool = True, candidates: bool = True, results=None) -> dict:
    """A CQP SP session with one ready candidate of structure 1 and a jury paritaire, up to ``stage``."""
    officer = people["officer"]["actor"]
    _, structure = structure_one(people)
    candidate_ids = ready_candidates(structure, 1)
    team = jury_members(people)
    reached = JURY_STAGES.index(stage)
    with session_scope() as db:
        # the session sat two hours ago: attendance, results and the PV come after its date
        sid = plan_past_session(db, officer, days_ago=1 / 12, place="Lyon, salle Gerland").id
        if reached >= 1 or members:
            for m in team:
                jury_svc.add_member(db, officer, sid, user_id=m["user"]["id"], college=m["college"],
                                    is_president=m["is_president"])
        if reached >= 1 or candidates:
            jury_svc.add_candidates(db, officer, sid, candidate_ids)
        if reached >= 2:
            jury_svc.convene(db, officer, sid)
        if reached >= 3:
            jury_svc.check_composition(db, officer, sid)
        if reached >= 4:
            for row in jury_queries.candidates_of(db, sid):
                jury_svc.record_results(db, officer, sid, row.candidate_id,
                                        results or {b: "validated" for b in row.blocs})
        if reached >= 5:
            jury_svc.close_deliberation(db, officer, sid)
        if reached >= 6:
            jury_svc.sign_pv(db, people["presidente"]["actor"], sid)
    if reached >= 6:
        issue_results(sid)
    return {"id": sid, "candidate_id": candidate_ids[0], "members": [m["user"]["id"] for m in team]}


def certificate(people) -> dict:
    """The certificate of the candidate of a session whose results are notified (all blocs validated)."""
    j = jury(people, "notified")
    with session_scope() as db:
        return {"id": db.exec(select(Certificate.id).where(Certificate.candidate_id == j["candidate_id"])).one()}


def _jury_env(people, stage, key, **kw):
    return dossier_env("jurys", JurySession, jury(people, stage, **kw), key)


def _per_candidate(e: dict) -> dict:
    return {**e, "form": f"form-resultats-{e['candidate_id']}"}


def _jury_row(e):
    with session_scope() as db:
        j = db.get(JurySession, e["id"])
        members = db.exec(select(JuryMember).where(JuryMember.session_id == j.id).order_by(JuryMember.id)).all()
        return (j.state, len(members), tuple(m.present for m in members),
                count(JuryCandidate, JuryCandidate.session_id == j.id),
                count(Deliberation, Deliberation.session_id == j.id))


def _certificate_env(people, key: str) -> dict:
    return dossier_env("certificats", Certificate, certificate(people), key)


def _certificate_row(e):
    with session_scope() as db:
        k = db.get(Certificate, e["id"])
        return k.state, k.version, k.holder_last_name, k.holder_sex


def _certificate_flow(e, _after):
    return [("certificate_changed", e["id"])]


JURY_CASES: list[Case] = [
    # jury sessions
    Case("planifier", lambda p: (jury_members(p), env("/app/jurys", "/app/jurys/planifier"))[1], "officer",
         lambda e: {"certification_code": "CQP_SP", "scheduled_at": local_input(now() + timedelta(days=20)),
                    "place": f"{EVIL} Lyon", "quorum": "4", "duration_minutes": "180"},
         created(JurySession), lambda e, after: eq(state(JurySession, after), "planned"),
         lambda e, after: [("jury_changed", after)], "presidente",
         location=lambda e, after: f"/app/jurys/{after}?fait=planifier"),
    Case("membre", lambda p: _jury_env(p, "planned", "membre", members=False), "officer",
         lambda e: {"user_id": str(e["members"][0]), "college": "employeur", "is_president": "1"}, _jury_row,
         lambda e, after: eq(after[1], 1), lambda e, _: [("jury_changed", e["id"])], "formateur", escaped=False),
    Case("candidats", lambda p: _jury_env(p, "planned", "candidats", candidates=False), "officer",
         lambda e: {f"candidat_{e['candidate_id']}": "1"}, _jury_row, lambda e, after: eq(after[3], 1),
         lambda e, _: [("jury_changed", e["id"])], "structure", escaped=False),
    Case("convoquer", lambda p: _jury_env(p, "composed", "convoquer"), "officer", lambda e: {}, _jury_row,
         lambda e, after: eq(after[0], "convened"), lambda e, _: [("jury_changed", e["id"])], "presidente",
         escaped=False),
    Case("presences", lambda p: _jury_env(p, "convened", "presences"), "officer",
         lambda e: {f"present_{uid}": "1" for uid in e["members"]}, _jury_row,
         lambda e, after: eq(after[2], (True, True, True, True)), lambda e, _: [("jury_changed", e["id"])],
         "presidente", escaped=False),
    Case("composition", lambda p: _jury_env(p, "convened", "composition"), "officer", lambda e: {}, _jury_row,
         lambda e, after: eq(after[0], "composition_checked"), lambda e, _: [("jury_changed", e["id"])],
         "presidente", escaped=False),
    Case("resultats", lambda p: _per_candidate(_jury_env(p, "checked", "resultats")), "presidente",
         lambda e: {"candidate_id": str(e["candidate_id"]), "bloc_SP-B1": "validated", "bloc_SP-B2": "not_validated",
                    "bloc_SP-B3": "validated", "comment": EVIL},
         _jury_row, lambda e, after: eq((after[0], after[4]), ("composition_checked", 3)),
         lambda e, _: [("jury_changed", e["id"])], "salarie1"),
    Case("cloturer-jury", lambda p: {**_jury_env(p, "results", "cloturer"), "form": "form-cloturer"}, "presidente",
         lambda e: {}, _jury_row, lambda e, after: eq(after[0], "deliberated"),
         lambda e, _: [("jury_changed", e["id"])], "salarie1", escaped=False),
    Case("signer", lambda p: _jury_env(p, "deliberated", "signer"), "presidente", lambda e: {}, _jury_row,
         lambda e, after: eq(after[0], "pv_signed"), lambda e, _: [("jury_changed", e["id"])], "salarie1",
         escaped=False),
    Case("annuler-jury", lambda p: {**_jury_env(p, "planned", "annuler"), "form": "form-annuler"}, "officer",
         lambda e: {"reason": f"{EVIL} salle indisponible"}, _jury_row, lambda e, after: eq(after[0], "cancelled"),
         lambda e, _: [("jury_changed", e["id"])], "presidente"),
]


CERTIFICATE_CASES: list[Case] = [
    # certificates
    Case("duplicata", lambda p: _certificate_env(p, "duplicata"), "officer",
         lambda e: {"reason": f"{EVIL} original perdu"}, _certificate_row, lambda e, after: eq(after[:2], ("valid", 2)),
         _certificate_flow, "structure"),
    Case("corriger", lambda p: _certificate_env(p, "corriger"), "officer",
         lambda e: {"last_name": "Martin N'Guessan", "first_names": "Zoé-Hélène", "birth_date": "1990-01-02",
                    "sex": "F", "reason": f"{EVIL} erreur de saisie"},
         _certificate_row, lambda e, after: eq(after, ("valid", 2, "Martin N'Guessan", "F")), _certificate_flow,
         "structure"),
    Case("revoquer", lambda p: _certificate_env(p, "revoquer"), "officer",
         lambda e: {"reason": f"{EVIL} fraude établie"}, _certificate_row, lambda e, after: eq(after[0], "revoked"),
         _certificate_flow, "structure"),
]
