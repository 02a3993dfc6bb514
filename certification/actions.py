"""Who may do what now: the actions an actor may take on a dossier, one function per process.

Each ``<process>_actions(db, actor, dossier)`` answers the names of the actions (the names of
the API's action endpoints, which the back-office forms reuse) that ``actor`` may take on the
dossier in its current state. The API's dossier reads, the back-office pages and anything else
that offers actions ask here, so the rule is written once, next to the services that enforce it.
The services still check everything themselves: an action listed here may still be refused (a
guard, a conflict of interest), and one not listed is refused by the service.

A process gathered in its own package keeps its function there, built on the helpers below
(the agrément: :mod:`certification.agrement.actions`; the contrôle:
:mod:`certification.controle.actions`; the training and the appuis:
:mod:`certification.training.actions`; the candidates: :mod:`certification.candidates.actions`;
the appeals: :mod:`certification.appeals.actions`; the jury sessions and the certificates:
:mod:`certification.jury.actions`).
"""

from __future__ import annotations

from collections.abc import Mapping


from certification.models import Role
from certification.statemachine import StateMachine


def available_transitions(machine: StateMachine, state: str, role: Role) -> set[str]:
    """The names of the transitions ``role`` may fire from ``state`` (also used by the process
    packages' own ``actions`` modules, e.g. :mod:`certification.controle.actions`)."""
    return {t.name for t in machine.available(state, role)}


def named_actions(actions: Mapping[str, str], transitions: set[str]) -> list[str]:
    """The action names (in their declared order) whose transition is among ``transitions``."""
    return [action for action, transition in actions.items() if transition in transitions]
