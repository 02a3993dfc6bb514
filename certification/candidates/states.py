"""The candidate's states, their labels and his state machine (who may fire what): registered,
in training, ready for the jury, postponed, withdrawn, certified; and the evaluation results."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from certification.models import Role
from certification.statemachine import StateMachine, transition


class CandidateState(StrEnum):
    registered = "registered"
    in_training = "in_training"
    ready_for_jury = "ready_for_jury"
    postponed = "postponed"
    withdrawn = "withdrawn"
    certified = "certified"


CANDIDATE_STATE_LABELS = {
    CandidateState.registered: "inscrit",
    CandidateState.in_training: "en formation",
    CandidateState.ready_for_jury: "prêt pour le jury",
    CandidateState.postponed: "ajourné",
    CandidateState.withdrawn: "retiré",
    CandidateState.certified: "certifié",
}

EVALUATION_RESULTS = {"acquis": "acquis", "en_cours": "en cours d'acquisition", "non_acquis": "non acquis"}


def evaluations_refusal(candidate: Any, ctx: Mapping[str, Any]) -> str | None:
    """Why the candidate may not be presented to a jury yet (``ctx``: the blocs to assess, those
    evaluated « acquis »), or None."""
    missing = [b for b in ctx.get("blocs_to_assess", ()) if b not in set(ctx.get("evaluated_blocs", ()))]
    if not ctx.get("blocs_to_assess"):
        return "Tous les blocs sont déjà acquis : aucun bloc à présenter au jury."
    if missing:
        return "Évaluations manquantes pour les blocs : " + ", ".join(missing) + "."
    return None


CANDIDATE = StateMachine(
    name="candidate",
    states=CANDIDATE_STATE_LABELS,
    transitions=[
        transition("start_training", [CandidateState.registered], CandidateState.in_training, [Role.structure, Role.officer], "commencer la formation"),
        transition("mark_ready", [CandidateState.in_training], CandidateState.ready_for_jury, [Role.structure, Role.officer], "présenter au jury",
                   guards=[evaluations_refusal]),
        transition("postpone", [CandidateState.registered, CandidateState.in_training, CandidateState.ready_for_jury], CandidateState.postponed, [Role.structure, Role.officer], "ajourner",
                   requires_reason=True),
        transition("resume", [CandidateState.postponed], CandidateState.in_training, [Role.structure, Role.officer], "reprendre la formation"),
        transition("withdraw", [CandidateState.registered, CandidateState.in_training, CandidateState.ready_for_jury, CandidateState.postponed], CandidateState.withdrawn, [Role.structure, Role.officer],
                   "retirer le candidat", requires_reason=True),
        transition("return_to_training", [CandidateState.ready_for_jury], CandidateState.in_training, [Role.system, Role.officer],
                   "retour en formation (blocs manquants)"),
        transition("certify", [CandidateState.ready_for_jury, CandidateState.in_training], CandidateState.certified, [Role.system], "certifier"),
        # The VAE pathway (certification/vae/): the livret 2 deposited, the candidate goes to the jury.
        transition("present_by_vae", [CandidateState.registered, CandidateState.in_training], CandidateState.ready_for_jury, [Role.structure, Role.officer],
                   "présenter au jury (VAE : livret 2 déposé)"),
        transition("abandon_vae", [CandidateState.ready_for_jury], CandidateState.registered, [Role.structure, Role.officer],
                   "démarche de VAE abandonnée : retour à l'inscription", requires_reason=True),
    ],
)
