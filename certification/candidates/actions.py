"""Who may do what now on a candidate (see :mod:`certification.actions` for the rule shared by
every process): the names of the API's action endpoints, which the back-office forms reuse, that
an actor may take on a candidate in his current state."""

from __future__ import annotations

from sqlmodel import Session

from certification.actions import available_transitions, named_actions
from certification.audit import Actor
from certification.candidates.models import Candidate
from certification.candidates.states import CANDIDATE, CandidateState
from certification.models import Role

# Action name -> transition name (the actions that are transitions of the candidate's machine).
CANDIDATE_ACTIONS = {
    "start-training": "start_training",
    "ready": "mark_ready",
    "postpone": "postpone",
    "resume": "resume",
    "withdraw": "withdraw",
}


def candidate_actions(_session: Session, actor: Actor, candidate: Candidate) -> list[str]:
    """The structure and the officer follow the candidate; evaluations are recorded until the jury."""
    role = actor.role
    if role not in (Role.structure, Role.officer):
        return []
    actions = named_actions(CANDIDATE_ACTIONS, available_transitions(CANDIDATE, candidate.state, role))
    if candidate.pathway == "vae":  # presented to the jury by his dossier de VAE (certification/vae/)
        return [a for a in actions if a not in ("start-training", "ready")]
    if candidate.state in (CandidateState.registered, CandidateState.in_training):
        actions.insert(0, "evaluations")
    return actions
