"""The contrôle d'agrément process as an explicit state machine."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from certification.clock import today
from certification.models import Role
from certification.statemachine import StateMachine, context_required, transition
from certification.visits import visit_held


class ControleState(StrEnum):
    planned = "planned"
    assigned = "assigned"
    visit_scheduled = "visit_scheduled"
    report_submitted = "report_submitted"
    compliant = "compliant"
    action_plan = "action_plan"
    escalated = "escalated"  # action plan overdue: the officer must decide
    closed = "closed"  # action plan closed on evidence
    suspended = "suspended"
    withdrawn = "withdrawn"
    cancelled = "cancelled"


CONTROLE_STATE_LABELS = {
    ControleState.planned: "planifié",
    ControleState.assigned: "confié à un contrôleur",
    ControleState.visit_scheduled: "visite programmée",
    ControleState.report_submitted: "rapport déposé",
    ControleState.compliant: "conforme : agrément maintenu",
    ControleState.action_plan: "plan d'actions en cours",
    ControleState.escalated: "plan d'actions échu : décision attendue",
    ControleState.closed: "plan d'actions clôturé",
    ControleState.suspended: "agrément suspendu",
    ControleState.withdrawn: "agrément retiré",
    ControleState.cancelled: "annulé",
}

KIND_LABELS = {
    "periodic": "contrôle périodique",
    "sampled": "contrôle par échantillonnage",
    "on_demand": "contrôle sur demande",
}

FINDING_STATUSES = ("conforme", "non_conforme", "observation")

# Decision of the officer on a report -> transition name.
DECISIONS = {
    "compliant": "conclude_compliant",
    "action_plan": "require_action_plan",
    "suspension": "suspend",
    "withdrawal": "withdraw",
}

OPEN_CONTROLE_STATES = frozenset({
    ControleState.planned, ControleState.assigned, ControleState.visit_scheduled,
    ControleState.report_submitted, ControleState.action_plan, ControleState.escalated,
})


_visit_happened = visit_held("Le rapport ne peut être déposé qu'après la visite.")
_has_findings = context_required("findings", "Le rapport doit comporter au moins un constat.")
_evidence_provided = context_required(
    "evidence_count", "Aucune preuve de réalisation du plan d'actions n'a été déposée."
)


def _plan_overdue(controle: Any, ctx: Mapping[str, Any]) -> str | None:
    deadline = controle.action_plan_deadline
    grace = ctx.get("grace_days", 0)
    if deadline is None or (today() - deadline).days <= grace:
        return "Le plan d'actions n'est pas échu."
    return None


CONTROLE = StateMachine(
    name="controle",
    states=CONTROLE_STATE_LABELS,
    transitions=[
        transition("assign", [ControleState.planned, ControleState.assigned, ControleState.visit_scheduled], ControleState.assigned, [Role.officer], "confier à un contrôleur"),
        transition("schedule_visit", [ControleState.assigned, ControleState.visit_scheduled], ControleState.visit_scheduled, [Role.controleur, Role.officer],
                   "programmer la visite"),
        transition("submit_report", [ControleState.visit_scheduled], ControleState.report_submitted, [Role.controleur], "déposer le rapport",
                   guards=[_visit_happened, _has_findings]),
        transition("conclude_compliant", [ControleState.report_submitted], ControleState.compliant, [Role.officer], "conclure à la conformité"),
        transition("require_action_plan", [ControleState.report_submitted], ControleState.action_plan, [Role.officer],
                   "exiger un plan d'actions", requires_reason=True),
        transition("escalate", [ControleState.action_plan], ControleState.escalated, [Role.system], "signaler le plan d'actions échu",
                   guards=[_plan_overdue]),
        transition("close_action_plan", [ControleState.action_plan, ControleState.escalated], ControleState.closed, [Role.officer],
                   "clôturer le plan d'actions", guards=[_evidence_provided]),
        transition("suspend", [ControleState.report_submitted, ControleState.action_plan, ControleState.escalated], ControleState.suspended, [Role.officer],
                   "suspendre l'agrément", requires_reason=True),
        transition("withdraw", [ControleState.report_submitted, ControleState.action_plan, ControleState.escalated], ControleState.withdrawn, [Role.officer],
                   "retirer l'agrément", requires_reason=True),
        transition("cancel", [ControleState.planned, ControleState.assigned, ControleState.visit_scheduled], ControleState.cancelled, [Role.officer], "annuler",
                   requires_reason=True),
    ],
)
