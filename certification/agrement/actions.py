"""Who may do what now on an agrément request and on a granted agrément (see
:mod:`certification.actions` for the rule shared by every process): the names of the API's action
endpoints, which the back-office forms reuse, that an actor may take in their current state."""

from __future__ import annotations

from sqlmodel import Session

from certification.actions import available_transitions, named_actions
from certification.agrement.models import Agrement, AgrementRequest
from certification.agrement.queries import open_renewal_of
from certification.agrement.states import AGREMENT, AGREMENT_REQUEST, VALID_AGREMENT_STATES, RequestState
from certification.audit import Actor
from certification.models import Role

# Action name -> transition name (the actions that are transitions of the request's and of the
# agrément's machines).
REQUEST_ACTIONS = {
    "request-complements": "request_complements",
    "complements": "provide_complements",
    "admissible": "declare_admissible",
    "avis": "give_avis",
    "decision": "grant",
    "withdraw": "withdraw",
}
AGREMENT_ACTIONS = {"suspend": "suspend", "reinstate": "reinstate", "withdraw": "withdraw"}


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


def agrement_actions(db: Session, actor: Actor, agrement: Agrement) -> list[str]:
    """A mandataire asks for the renewal of an agrément in force (once); the officer suspends,
    reinstates or withdraws it."""
    if actor.role is Role.mandataire:
        assert agrement.id is not None  # a stored row
        renewable = agrement.state in VALID_AGREMENT_STATES and open_renewal_of(db, agrement.id) is None
        return ["renewal"] if renewable else []
    return named_actions(AGREMENT_ACTIONS, available_transitions(AGREMENT, agrement.state, actor.role))


def request_waiting_for(request: AgrementRequest) -> str | None:
    state = RequestState(request.state)
    if state is RequestState.submitted:
        return "chargé·e de certification : examen de la recevabilité"
    if state is RequestState.incomplete:
        return f"mandataire : compléments attendus avant le {request.complements_deadline:%d/%m/%Y}"
    if state is RequestState.under_review and not request.avis:
        deadline = f" avant le {request.avis_deadline:%d/%m/%Y}" if request.avis_deadline else ""
        return f"mandataire : avis attendu{deadline}"
    if state is RequestState.under_review:
        return "chargé·e de certification : décision"
    return None
