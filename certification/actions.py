"""Who may do what now: the actions an actor may take on a dossier, one function per process.

Each ``<process>_actions(session, actor, dossier)`` answers the names of the actions (the names of
the API's action endpoints, which the back-office forms reuse) that ``actor`` may take on the
dossier in its current state. The API's dossier reads, the back-office pages and anything else
that offers actions ask here, so the rule is written once, next to the services that enforce it.
The services still check everything themselves: an action listed here may still be refused (a
guard, a conflict of interest), and one not listed is refused by the service.

A process gathered in its own package keeps its function there, built on the helpers below
(the agrément: :mod:`certification.agrement.actions`; the contrôle:
:mod:`certification.controle.actions`; the training and the appuis:
:mod:`certification.training.actions`; the candidates: :mod:`certification.candidates.actions`;
the appeals: :mod:`certification.appeals.actions`).
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlmodel import Session

from certification.audit import Actor
from certification.models import Certificate, JurySession, Role
from certification.processes.certification import CERTIFICATE, JURY, JuryState
from certification.services import jury as jury_svc
from certification.statemachine import StateMachine

# Action name -> transition name, per process (the actions that are transitions of its machine).
JURY_ACTIONS = {
    "convene": "convene",
    "check-composition": "check_composition",
    "results": "record_results",
    "close-deliberation": "close_deliberation",
    "sign-pv": "sign_pv",
    "cancel": "cancel",
}
JURY_PRESIDENT_ACTIONS = ("results", "close-deliberation", "sign-pv")
JURY_EDITABLE = (JuryState.planned, JuryState.convened)
CERTIFICATE_ACTIONS = {"duplicate": "duplicate", "correct": "correct", "revoke": "revoke"}


def available_transitions(machine: StateMachine, state: str, role: Role) -> set[str]:
    """The names of the transitions ``role`` may fire from ``state`` (also used by the process
    packages' own ``actions`` modules, e.g. :mod:`certification.controle.actions`)."""
    return {t.name for t in machine.available(state, role)}


def named_actions(actions: Mapping[str, str], transitions: set[str]) -> list[str]:
    """The action names (in their declared order) whose transition is among ``transitions``."""
    return [action for action, transition in actions.items() if transition in transitions]


def jury_actions(session: Session, actor: Actor, jury: JurySession) -> list[str]:
    """An officer plans and runs the session; among the members only the president records the
    results, closes the deliberation and signs the PV."""
    role = actor.role
    actions = named_actions(JURY_ACTIONS, available_transitions(JURY, jury.state, role))
    if role is Role.jury_member:
        if not jury_svc.is_president(session, actor, jury):
            return []
        return [a for a in actions if a in JURY_PRESIDENT_ACTIONS]
    if role is Role.officer:
        extra = ["members", "candidates"] if jury.state in JURY_EDITABLE else []
        if jury.state == JuryState.convened:
            extra.append("attendance")
        return extra + actions
    return []


def certificate_actions(_session: Session, actor: Actor, certificate: Certificate) -> list[str]:
    return named_actions(CERTIFICATE_ACTIONS, available_transitions(CERTIFICATE, certificate.state, actor.role))
