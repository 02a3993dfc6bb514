"""Who may do what now on a dossier de VAE (see :mod:`certification.actions` for the rule shared
by every process): the names of the API's action endpoints, which the back-office forms reuse."""

from __future__ import annotations

from sqlmodel import Session

from certification.actions import available_transitions, named_actions
from certification.audit import Actor
from certification.models import Role
from certification.vae.models import VaeDossier
from certification.vae.queries import jury_sessions_of, presides, sitting_holding
from certification.vae.states import VAE, VaeState

# Action name -> transition name (the actions that are transitions of the dossier's machine).
VAE_ACTIONS = {
    "recevabilite": "declare_recevable",
    "livret2": "deposit_livret2",
    "interview": "record_interview",
    "abandon": "abandon",
}


def vae_actions(db: Session, actor: Actor, dossier: VaeDossier) -> list[str]:
    """The accompaniment is recorded by the structure or the officer while the dossier is open; among
    the jury members, only the president of the candidate's session records the interview; no
    abandon while a pending jury session holds the candidate."""
    actions = named_actions(VAE_ACTIONS, available_transitions(VAE, dossier.state, actor.role))
    if actor.role is Role.jury_member and "interview" in actions:
        sessions = jury_sessions_of(db, dossier.candidate_id)
        if not sessions or not presides(db, actor.user_id, sessions[-1]):
            actions.remove("interview")
    if "abandon" in actions and sitting_holding(db, dossier.candidate_id) is not None:
        actions.remove("abandon")  # not before the deliberation of the session that holds him
    if actor.role in (Role.structure, Role.officer) and dossier.state in (VaeState.recevable, VaeState.livret2_depose):
        actions.append("accompaniment")
    return actions


def vae_waiting_for(dossier: VaeDossier) -> str | None:
    state = VaeState(dossier.state)
    return {
        VaeState.demande_deposee: f"chargé·e de certification : décision de recevabilité avant le "
                           f"{dossier.recevabilite_due_on:%d/%m/%Y}",
        VaeState.recevable: "structure : dépôt du livret 2",
        VaeState.livret2_depose: "chargé·e de certification : inscription à une session de jury, puis entretien",
        VaeState.entretien_realise: "jury : délibération sur les blocs demandés",
    }.get(state)
