"""Who may do what now on a jury session or a certificate (see :mod:`certification.actions` for
the rule shared by every process): the names of the API's action endpoints, which the back-office
forms reuse, that an actor may take on them in their current state."""

from __future__ import annotations

from sqlmodel import Session

from certification.actions import available_transitions, named_actions
from certification.audit import Actor
from certification.jury import service as jury_svc
from certification.jury.models import Certificate, JurySession
from certification.jury.states import CERTIFICATE, JURY, JuryState
from certification.models import Role

# Action name -> transition name (the actions that are transitions of the machines).
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


def jury_actions(db: Session, actor: Actor, jury: JurySession) -> list[str]:
    """An officer plans and runs the session; among the members only the president records the
    results, closes the deliberation and signs the PV."""
    role = actor.role
    actions = named_actions(JURY_ACTIONS, available_transitions(JURY, jury.state, role))
    if role is Role.jury_member:
        if not jury_svc.is_president(db, actor, jury):
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
