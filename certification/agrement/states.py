"""The agrément request process and the life of a granted agrément, as explicit state machines."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from certification.clock import today
from certification.models import Role
from certification.statemachine import StateMachine, transition


REQUIRED_PIECE_KINDS: dict[str, str] = {
    "dossier": "dossier de demande d'agrément",
    "attestation_epsp": "attestation de formation EPSP d'un encadrant",
}
PIECE_KINDS: dict[str, str] = {
    **REQUIRED_PIECE_KINDS,
    "statuts": "statuts ou conventionnement ACI",
    "programme": "programme et organisation de la formation",
    "complement": "pièce complémentaire",
    "autre": "autre pièce",
}


class RequestState(StrEnum):
    submitted = "submitted"
    incomplete = "incomplete"
    admissible = "admissible"
    under_review = "under_review"
    granted = "granted"
    refused = "refused"
    closed = "closed"  # classée sans suite (no answer to the demande de compléments)
    withdrawn = "withdrawn"  # désistement of the mandataire


REQUEST_STATE_LABELS = {
    RequestState.submitted: "déposée",
    RequestState.incomplete: "incomplète (compléments demandés)",
    RequestState.admissible: "recevable",
    RequestState.under_review: "en instruction",
    RequestState.granted: "agrément accordé",
    RequestState.refused: "agrément refusé",
    RequestState.closed: "classée sans suite",
    RequestState.withdrawn: "retirée par le mandataire",
}

OPEN_REQUEST_STATES = frozenset(
    {RequestState.submitted, RequestState.incomplete, RequestState.admissible, RequestState.under_review}
)


def _required_pieces_present(request: Any, ctx: Mapping[str, Any]) -> str | None:
    kinds = set(ctx.get("piece_kinds", ()))
    if ctx.get("epsp_trained"):  # an EPSP-trained encadrant on record stands in for the attestation
        kinds.add("attestation_epsp")
    missing = [label for kind, label in REQUIRED_PIECE_KINDS.items() if kind not in kinds]
    if missing:
        return "Pièces obligatoires manquantes : " + ", ".join(missing) + "."
    return None


def _avis_given(request: Any, _ctx: Mapping[str, Any]) -> str | None:
    if not request.avis:
        return "L'avis du mandataire doit être rendu avant la décision."
    return None


def _avis_not_given(request: Any, _ctx: Mapping[str, Any]) -> str | None:
    if request.avis:
        return "L'avis du mandataire a déjà été rendu."
    return None


def _complements_deadline_passed(request: Any, ctx: Mapping[str, Any]) -> str | None:
    deadline = request.complements_deadline
    if deadline is None or ctx.get("today", today()) <= deadline:
        return "Le délai de réponse à la demande de compléments n'est pas échu."
    return None


AGREMENT_REQUEST = StateMachine(
    name="agrement_request",
    states=REQUEST_STATE_LABELS,
    transitions=[
        transition(
            "request_complements", [RequestState.submitted, RequestState.admissible], RequestState.incomplete, [Role.officer],
            "demander des compléments", requires_reason=True,
        ),
        transition("provide_complements", [RequestState.incomplete], RequestState.submitted, [Role.mandataire], "transmettre les compléments"),
        transition(
            "close_unanswered", [RequestState.incomplete], RequestState.closed, [Role.system, Role.officer], "classer sans suite",
            guards=[_complements_deadline_passed], requires_reason=True,
        ),
        transition(
            "declare_admissible", [RequestState.submitted], RequestState.admissible, [Role.officer], "déclarer recevable",
            guards=[_required_pieces_present],
        ),
        transition("start_review", [RequestState.admissible], RequestState.under_review, [Role.system, Role.officer], "ouvrir l'instruction"),
        transition(
            "give_avis", [RequestState.under_review], RequestState.under_review, [Role.mandataire], "rendre l'avis", guards=[_avis_not_given]
        ),
        transition("grant", [RequestState.under_review], RequestState.granted, [Role.officer], "accorder l'agrément", guards=[_avis_given]),
        transition(
            "refuse", [RequestState.under_review], RequestState.refused, [Role.officer], "refuser l'agrément",
            guards=[_avis_given], requires_reason=True,
        ),
        transition(
            "withdraw", [RequestState.submitted, RequestState.incomplete, RequestState.admissible, RequestState.under_review], RequestState.withdrawn, [Role.mandataire],
            "retirer la demande", requires_reason=True,
        ),
    ],
)


class AgrementState(StrEnum):
    active = "active"
    expiring = "expiring"
    renewed = "renewed"
    expired = "expired"
    suspended = "suspended"
    withdrawn = "withdrawn"


AGREMENT_STATE_LABELS = {
    AgrementState.active: "en vigueur",
    AgrementState.expiring: "arrive à échéance",
    AgrementState.renewed: "renouvelé",
    AgrementState.expired: "expiré",
    AgrementState.suspended: "suspendu",
    AgrementState.withdrawn: "retiré",
}

# States in which the structure may register candidates and present them to a jury.
VALID_AGREMENT_STATES = frozenset({AgrementState.active, AgrementState.expiring})

AGREMENT = StateMachine(
    name="agrement",
    states=AGREMENT_STATE_LABELS,
    transitions=[
        transition("mark_expiring", [AgrementState.active], AgrementState.expiring, [Role.system], "signaler l'échéance prochaine"),
        transition("renew", [AgrementState.active, AgrementState.expiring], AgrementState.renewed, [Role.system, Role.officer], "renouveler"),
        transition("expire", [AgrementState.active, AgrementState.expiring], AgrementState.expired, [Role.system], "constater l'expiration"),
        transition("suspend", [AgrementState.active, AgrementState.expiring], AgrementState.suspended, [Role.officer], "suspendre", requires_reason=True),
        transition("reinstate", [AgrementState.suspended], AgrementState.active, [Role.officer], "lever la suspension", requires_reason=True),
        transition(
            "withdraw", [AgrementState.active, AgrementState.expiring, AgrementState.suspended], AgrementState.withdrawn, [Role.officer], "retirer l'agrément",
            requires_reason=True,
        ),
    ],
)
