"""Candidates, jury sessions, certificates and appeals (recours) as explicit state machines."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from certification.models import Role
from certification.statemachine import StateMachine, transition

O, S, ST, J = Role.officer, Role.system, Role.structure, Role.jury_member


# --- candidates ----------------------------------------------------------------------------


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


def _evaluated(candidate: Any, ctx: Mapping[str, Any]) -> str | None:
    missing = [b for b in ctx.get("blocs_to_assess", ()) if b not in set(ctx.get("evaluated_blocs", ()))]
    if not ctx.get("blocs_to_assess"):
        return "Tous les blocs sont déjà acquis : aucun bloc à présenter au jury."
    if missing:
        return "Évaluations manquantes pour les blocs : " + ", ".join(missing) + "."
    return None


CANDIDATE = StateMachine(
    name="candidate",
    states=CANDIDATE_STATE_LABELS,
    initial=CandidateState.registered,
    final=frozenset({CandidateState.withdrawn, CandidateState.certified}),
    transitions=[
        transition("start_training", [CandidateState.registered], CandidateState.in_training, [ST, O], "commencer la formation"),
        transition("mark_ready", [CandidateState.in_training], CandidateState.ready_for_jury, [ST, O], "présenter au jury",
                   guards=[_evaluated]),
        transition("postpone", [CandidateState.registered, CandidateState.in_training, CandidateState.ready_for_jury], CandidateState.postponed, [ST, O], "ajourner",
                   requires_reason=True),
        transition("resume", [CandidateState.postponed], CandidateState.in_training, [ST, O], "reprendre la formation"),
        transition("withdraw", [CandidateState.registered, CandidateState.in_training, CandidateState.ready_for_jury, CandidateState.postponed], CandidateState.withdrawn, [ST, O],
                   "retirer le candidat", requires_reason=True),
        transition("return_to_training", [CandidateState.ready_for_jury], CandidateState.in_training, [S, O],
                   "retour en formation (blocs manquants)"),
        transition("certify", [CandidateState.ready_for_jury, CandidateState.in_training], CandidateState.certified, [S], "certifier"),
        # The VAE pathway (certification/vae/): the livret 2 deposited, the candidate goes to the jury.
        transition("present_by_vae", [CandidateState.registered, CandidateState.in_training], CandidateState.ready_for_jury, [ST, O],
                   "présenter au jury (VAE : livret 2 déposé)"),
    ],
)


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


J_ = JuryState
JURY = StateMachine(
    name="jury_session",
    states=JURY_STATE_LABELS,
    initial=J_.planned,
    final=frozenset({J_.cancelled}),
    transitions=[
        transition("convene", [J_.planned], J_.convened, [O], "convoquer les membres", guards=[_can_convene]),
        transition("check_composition", [J_.convened], J_.composition_checked, [O], "vérifier la composition",
                   guards=[_composition]),
        transition("record_results", [J_.composition_checked], J_.composition_checked, [O, J],
                   "enregistrer les résultats d'un candidat"),
        transition("close_deliberation", [J_.composition_checked], J_.deliberated, [O, J],
                   "clore la délibération", guards=[_all_results]),
        transition("sign_pv", [J_.deliberated], J_.pv_signed, [J, O], "signer le procès-verbal"),
        transition("notify_results", [J_.pv_signed], J_.results_notified, [S], "notifier les résultats"),
        transition("amend_after_appeal", [J_.results_notified], J_.pv_signed, [O],
                   "modifier le PV après recours", requires_reason=True),
        transition("cancel", [J_.planned, J_.convened, J_.composition_checked], J_.cancelled, [O], "annuler",
                   requires_reason=True),
    ],
)
PENDING_JURY_STATES = frozenset({J_.planned, J_.convened, J_.composition_checked, J_.deliberated})


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
    initial=CertificateState.valid,
    final=frozenset({CertificateState.revoked, CertificateState.superseded}),
    transitions=[
        transition("duplicate", [CertificateState.valid], CertificateState.valid, [O], "délivrer un duplicata", requires_reason=True),
        transition("correct", [CertificateState.valid], CertificateState.valid, [O], "corriger", requires_reason=True),
        transition("revoke", [CertificateState.valid], CertificateState.revoked, [O], "révoquer", requires_reason=True),
        transition("supersede", [CertificateState.valid], CertificateState.superseded, [S, O], "remplacer"),
    ],
)


# --- appeals -------------------------------------------------------------------------------


class AppealState(StrEnum):
    filed = "filed"
    admissible = "admissible"
    inadmissible = "inadmissible"
    upheld = "upheld"
    rejected = "rejected"


APPEAL_STATE_LABELS = {
    AppealState.filed: "déposé",
    AppealState.admissible: "recevable, en examen par le jury",
    AppealState.inadmissible: "irrecevable",
    AppealState.upheld: "fondé : décision modifiée",
    AppealState.rejected: "rejeté",
}
APPEAL = StateMachine(
    name="appeal",
    states=APPEAL_STATE_LABELS,
    initial=AppealState.filed,
    final=frozenset({AppealState.inadmissible, AppealState.upheld, AppealState.rejected}),
    transitions=[
        transition("declare_admissible", [AppealState.filed], AppealState.admissible, [O], "déclarer recevable"),
        transition("declare_inadmissible", [AppealState.filed], AppealState.inadmissible, [O], "déclarer irrecevable",
                   requires_reason=True),
        transition("uphold", [AppealState.admissible], AppealState.upheld, [O], "déclarer fondé", requires_reason=True),
        transition("reject", [AppealState.admissible], AppealState.rejected, [O], "rejeter", requires_reason=True),
    ],
)
