"""Who may do what now: the actions an actor may take on a dossier, one function per process.

Each ``<process>_actions(session, actor, dossier)`` answers the names of the actions (the names of
the API's action endpoints, which the back-office forms reuse) that ``actor`` may take on the
dossier in its current state. The API's dossier reads, the back-office pages and anything else
that offers actions ask here, so the rule is written once, next to the services that enforce it.
The services still check everything themselves: an action listed here may still be refused (a
guard, a conflict of interest), and one not listed is refused by the service.

A process gathered in its own package keeps its function there, built on the helpers below
(the contrôle: :mod:`certification.controle.actions`; the training and the appuis:
:mod:`certification.training.actions`; the candidates: :mod:`certification.candidates.actions`;
the appeals: :mod:`certification.appeals.actions`; the jury sessions and the certificates:
:mod:`certification.jury.actions`).
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlmodel import Session

from certification.audit import Actor
from certification.models import Agrement, AgrementRequest, Role
from certification.processes.agrement import AGREMENT, AGREMENT_REQUEST, VALID_AGREMENT_STATES
from certification.services import lifecycle
from certification.statemachine import StateMachine

# Action name -> transition name, per process (the actions that are transitions of its machine).
REQUEST_ACTIONS = {
    "request-complements": "request_complements",
    "complements": "provide_complements",
    "admissible": "declare_admissible",
    "avis": "give_avis",
    "decision": "grant",
    "withdraw": "withdraw",
}
AGREMENT_ACTIONS = {"suspend": "suspend", "reinstate": "reinstate", "withdraw": "withdraw"}


def available_transitions(machine: StateMachine, state: str, role: Role) -> set[str]:
    """The names of the transitions ``role`` may fire from ``state`` (also used by the process
    packages' own ``actions`` modules, e.g. :mod:`certification.controle.actions`)."""
    return {t.name for t in machine.available(state, role)}


def named_actions(actions: Mapping[str, str], transitions: set[str]) -> list[str]:
    """The action names (in their declared order) whose transition is among ``transitions``."""
    return [action for action, transition in actions.items() if transition in transitions]


def request_actions(_session: Session, actor: Actor, request: AgrementRequest) -> list[str]:
    """A mandataire acts on his own requests only, and gives one avis; the officer decides once
    the avis is given."""
    role = actor.role
    if role is Role.mandataire and request.mandataire_id != actor.user_id:
        return []
    names = available_transitions(AGREMENT_REQUEST, request.state, role)
    if role is Role.officer and "grant" in names and not request.avis:
        names -= {"grant", "refuse"}
    if role is Role.mandataire and request.avis:
        names.discard("give_avis")
    return named_actions(REQUEST_ACTIONS, names)


def agrement_actions(session: Session, actor: Actor, agrement: Agrement) -> list[str]:
    """A mandataire asks for the renewal of an agrément in force (once); the officer suspends,
    reinstates or withdraws it."""
    if actor.role is Role.mandataire:
        assert agrement.id is not None  # a stored row
        renewable = agrement.state in VALID_AGREMENT_STATES and lifecycle.open_renewal_of(session, agrement.id) is None
        return ["renewal"] if renewable else []
    return named_actions(AGREMENT_ACTIONS, available_transitions(AGREMENT, agrement.state, actor.role))
