"""Who may do what now on a contrôle d'agrément (see :mod:`certification.actions` for the rule
shared by every process): the names of the API's action endpoints, which the back-office forms
reuse, that an actor may take on a contrôle in its current state."""

from __future__ import annotations

from sqlmodel import Session

from certification.actions import available_transitions, named_actions
from certification.audit import Actor
from certification.controle.models import Controle
from certification.controle.states import CONTROLE, ControleState
from certification.models import Role

# Action name -> transition name (the actions that are transitions of the contrôle's machine).
CONTROLE_ACTIONS = {
    "assign": "assign",
    "visit": "schedule_visit",
    "report": "submit_report",
    "decision": "conclude_compliant",
    "close-action-plan": "close_action_plan",
    "cancel": "cancel",
}


def controle_actions(_session: Session, actor: Actor, controle: Controle) -> list[str]:
    """The structure also sends the evidence of its action plan while one is due."""
    actions = named_actions(CONTROLE_ACTIONS, available_transitions(CONTROLE, controle.state, actor.role))
    if actor.role is Role.structure and controle.state in ("action_plan", "escalated"):
        actions.append("evidence")
    return actions


def controle_waiting_for(controle: Controle) -> str | None:
    state = ControleState(controle.state)
    return {
        ControleState.planned: "chargé·e de certification : désigner un contrôleur",
        ControleState.assigned: "contrôleur : programmer la visite",
        ControleState.visit_scheduled: "contrôleur : visite puis dépôt du rapport",
        ControleState.report_submitted: "chargé·e de certification : décision",
        ControleState.action_plan: f"structure : plan d'actions avant le {controle.action_plan_deadline:%d/%m/%Y}"
        if controle.action_plan_deadline else None,
        ControleState.escalated: "chargé·e de certification : plan d'actions échu, décision",
    }.get(state)
