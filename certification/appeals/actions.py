"""Who may do what now on an appeal (recours) (see :mod:`certification.actions` for the rule
shared by every process): the names of the API's action endpoints, which the back-office forms
reuse, that an actor may take on an appeal in its current state."""

from __future__ import annotations

from sqlmodel import Session

from certification.actions import available_transitions, named_actions
from certification.appeals.models import Appeal
from certification.appeals.states import APPEAL
from certification.audit import Actor

# Action name -> transition name (the actions that are transitions of the appeal's machine).
APPEAL_ACTIONS = {
    "admissible": "declare_admissible",
    "inadmissible": "declare_inadmissible",
    "reject": "reject",
    "uphold": "uphold",
}


def appeal_actions(_session: Session, actor: Actor, appeal: Appeal) -> list[str]:
    return named_actions(APPEAL_ACTIONS, available_transitions(APPEAL, appeal.state, actor.role))
