"""The jury session and the certificate as explicit state machines: states, labels, guards, roles."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from certification.models import Role
from certification.statemachine import StateMachine, transition



# --- jury sessions -------------------------------------------------------------------------


class JuryState(StrEnum):
    planned = "planned"
    convened = "convened"
    composition_checked = "composition_checked"
    deliberated = "deliberated"
    pv_signed = "pv_signed"
    results_notified = "results_notified"
    cancelled = "cancelled"


JURY_STATE_LABELS = {
    JuryState.planned: "planifiée",
    JuryState.convened: "membres convoqués",
    JuryState.composition_checked: "composition vérifiée",
    JuryState.deliberated: "délibération close",
    JuryState.pv_signed: "PV signé",
    JuryState.results_notified: "résultats notifiés",
    JuryState.cancelled: "annulée",
}
COLLEGES = {"employeur": "collège employeurs", "salarie": "collège salariés"}
DELIBERATION_RESULTS = {"validated": "validé", "not_validated": "non validé", "absent": "absent"}
OUTCOME_LABELS = {
    "certified": "certification obtenue",
    "partial": "validation partielle",
    "none": "aucun bloc validé",
    "absent": "absent",
}


def _can_convene(jury: Any, ctx: Mapping[str, Any]) -> str | None:
    if ctx.get("members", 0) < jury.quorum:
        return f"Au moins {jury.quorum} membres doivent être désignés avant la convocation."
    if not ctx.get("candidates"):
        return "Aucun candidat n'est inscrit à la session."
    return None


def composition_refusal(problems: Sequence[str]) -> str | None:
    """Why the jury may not deliberate (``None`` when its composition is regular)."""
    return "Composition irrégulière : " + " ; ".join(problems) + "." if problems else None


def missing_results_refusal(missing: Sequence[str]) -> str | None:
    """Why the deliberation may not be closed: the candidates whose results are missing."""
    return "Résultats manquants : " + ", ".join(missing[:10]) + ("…" if len(missing) > 10 else "") + "." \
        if missing else None


def _composition(jury: Any, ctx: Mapping[str, Any]) -> str | None:
    return composition_refusal(ctx.get("composition_problems", []))


def _all_results(jury: Any, ctx: Mapping[str, Any]) -> str | None:
    return missing_results_refusal(ctx.get("missing_results", []))


JURY = StateMachine(
    name="jury_session",
    states=JURY_STATE_LABELS,
    transitions=[
        transition("convene", [JuryState.planned], JuryState.convened, [Role.officer], "convoquer les membres", guards=[_can_convene]),
        transition("check_composition", [JuryState.convened], JuryState.composition_checked, [Role.officer], "vérifier la composition",
                   guards=[_composition]),
        transition("record_results", [JuryState.composition_checked], JuryState.composition_checked, [Role.officer, Role.jury_member],
                   "enregistrer les résultats d'un candidat"),
        transition("close_deliberation", [JuryState.composition_checked], JuryState.deliberated, [Role.officer, Role.jury_member],
                   "clore la délibération", guards=[_all_results]),
        transition("sign_pv", [JuryState.deliberated], JuryState.pv_signed, [Role.jury_member, Role.officer], "signer le procès-verbal"),
        transition("notify_results", [JuryState.pv_signed], JuryState.results_notified, [Role.system], "notifier les résultats"),
        transition("amend_after_appeal", [JuryState.results_notified], JuryState.pv_signed, [Role.officer],
                   "modifier le PV après recours", requires_reason=True),
        transition("cancel", [JuryState.planned, JuryState.convened, JuryState.composition_checked], JuryState.cancelled, [Role.officer], "annuler",
                   requires_reason=True),
    ],
)
PENDING_JURY_STATES = frozenset({JuryState.planned, JuryState.convened, JuryState.composition_checked, JuryState.deliberated})


# --- certificates --------------------------------------------------------------------------


class CertificateState(StrEnum):
    valid = "valid"
    revoked = "revoked"
    superseded = "superseded"  # an attestation replaced by the certificate after an appeal


CERTIFICATE_STATE_LABELS = {
    CertificateState.valid: "valide",
    CertificateState.revoked: "révoqué",
    CertificateState.superseded: "remplacé",
}
KIND_LABELS = {
    "certificate": "Certificat de qualification professionnelle",
    "attestation": "Attestation de validation de blocs de compétences",
}
CERTIFICATE = StateMachine(
    name="certificate",
    states=CERTIFICATE_STATE_LABELS,
    transitions=[
        transition("duplicate", [CertificateState.valid], CertificateState.valid, [Role.officer], "délivrer un duplicata", requires_reason=True),
        transition("correct", [CertificateState.valid], CertificateState.valid, [Role.officer], "corriger", requires_reason=True),
        transition("revoke", [CertificateState.valid], CertificateState.revoked, [Role.officer], "révoquer", requires_reason=True),
        transition("supersede", [CertificateState.valid], CertificateState.superseded, [Role.system, Role.officer], "remplacer"),
    ],
)
