"""The VAE pathway as an explicit state machine: request, recevabilité, livret 2, interview.

After the interview the candidate is a normal candidate of his jury session: the deliberation
per bloc, the PV, the certificate or attestation and the CPF export are the jury's own.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from certification.clock import now
from certification.models import Role
from certification.statemachine import StateMachine, context_required, transition


class VaeState(StrEnum):
    demande_deposee = "demande_deposee"
    recevable = "recevable"
    non_recevable = "non_recevable"
    livret2_depose = "livret2_depose"
    entretien_realise = "entretien_realise"
    abandonne = "abandonne"


VAE_STATE_LABELS = {
    VaeState.demande_deposee: "demande déposée : recevabilité à examiner",
    VaeState.recevable: "demande recevable : livret 2 attendu",
    VaeState.non_recevable: "demande non recevable",
    VaeState.livret2_depose: "livret 2 déposé : entretien avec le jury à tenir",
    VaeState.entretien_realise: "entretien avec le jury réalisé : délibération du jury",
    VaeState.abandonne: "abandonné",
}

# The officer's recevabilité decision -> transition name.
RECEVABILITE_DECISIONS = {"recevable": "declare_recevable", "non_recevable": "declare_non_recevable"}

OPEN_VAE_STATES = frozenset({VaeState.demande_deposee, VaeState.recevable, VaeState.livret2_depose})


def _interview_held(dossier: Any, ctx: Mapping[str, Any]) -> str | None:
    at = ctx.get("interview_at")
    if at is None or at > now():
        return "L'entretien ne peut être enregistré qu'une fois tenu (date passée)."
    return None


_in_a_session = context_required(
    "in_session", "Le candidat n'est inscrit à aucune session de jury : l'entretien ne peut pas être enregistré."
)


VAE = StateMachine(
    name="vae_dossier",
    states=VAE_STATE_LABELS,
    transitions=[
        transition("declare_recevable", [VaeState.demande_deposee], VaeState.recevable, [Role.officer], "déclarer la demande recevable"),
        transition("declare_non_recevable", [VaeState.demande_deposee], VaeState.non_recevable, [Role.officer],
                   "déclarer la demande non recevable", requires_reason=True),
        transition("deposit_livret2", [VaeState.recevable, VaeState.livret2_depose], VaeState.livret2_depose, [Role.structure, Role.officer],
                   "déposer le livret 2"),
        transition("record_interview", [VaeState.livret2_depose], VaeState.entretien_realise, [Role.officer, Role.jury_member],
                   "enregistrer l'entretien avec le jury", guards=[_in_a_session, _interview_held]),
        transition("abandon", [VaeState.demande_deposee, VaeState.recevable, VaeState.livret2_depose], VaeState.abandonne, [Role.structure, Role.officer],
                   "abandonner la démarche de VAE", requires_reason=True),
    ],
    events={"file": "dépôt de la demande de VAE", "accompaniment": "accompagnement renseigné"},
)
