"""Appeals (recours) at their step and the cases of their back-office actions."""

from __future__ import annotations

from certification.db import session_scope
from certification.jury.models import JurySession
from certification.appeals.models import Appeal
from certification.appeals import service as appeals_svc
from tests.web.scenarios.common import EVIL, PARTIAL, Case, dossier_env, eq
from tests.web.scenarios.jury import jury


def appeal(people, admissible: bool = False) -> dict:
    j = jury(people, "notified", results=PARTIAL)
    with session_scope() as db:
        a = appeals_svc.file_appeal(db, people["structure"]["actor"], candidate_id=j["candidate_id"],
                                    jury_session_id=j["id"], grounds="Le bloc SP-B2 a été évalué sans le livret.")
        if admissible:
            appeals_svc.declare_admissible(db, people["officer"]["actor"], a.id)
        return {"id": a.id, "session_id": j["id"]}


def _appeal_env(people, admissible, key):
    return dossier_env("recours", Appeal, appeal(people, admissible), key)


def _appeal_row(e):
    with session_scope() as db:
        return db.get(Appeal, e["id"]).state, db.get(JurySession, e["session_id"]).pv_version


APPEAL_CASES: list[Case] = [
    # recours
    Case("recevable", lambda p: _appeal_env(p, False, "recevable"), "officer", lambda e: {}, _appeal_row,
         lambda e, after: eq(after, ("admissible", 1)), lambda e, _: [("jury_changed", e["session_id"])],
         "structure", escaped=False),
    Case("irrecevable", lambda p: _appeal_env(p, False, "irrecevable"), "officer",
         lambda e: {"reason": f"{EVIL} hors délai"}, _appeal_row, lambda e, after: eq(after, ("inadmissible", 1)),
         lambda e, _: [("jury_changed", e["session_id"])], "structure"),
    Case("rejeter", lambda p: _appeal_env(p, True, "rejeter"), "officer",
         lambda e: {"reason": f"{EVIL} évaluation conforme"}, _appeal_row, lambda e, after: eq(after, ("rejected", 1)),
         lambda e, _: [("jury_changed", e["session_id"])], "structure"),
    Case("fonde", lambda p: _appeal_env(p, True, "fonde"), "officer",
         lambda e: {"bloc_SP-B1": "validated", "bloc_SP-B2": "validated", "bloc_SP-B3": "validated",
                    "reason": f"{EVIL} livret retrouvé"},
         _appeal_row, lambda e, after: eq(after, ("upheld", 2)), lambda e, _: [("jury_changed", e["session_id"])],
         "structure"),
]
