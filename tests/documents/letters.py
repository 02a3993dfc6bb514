"""Every PDF template with a complete sample context (archival, layout and proofreading tests)."""

from __future__ import annotations

from collections.abc import Callable

from documents.samples import (
    sample_attestation,
    sample_certificate_context,
    sample_context,
    sample_controle_context,
    sample_jury_context,
    sample_recours_context,
)


def _controle(decision: str | None, **extra) -> Callable[[], dict]:
    def build() -> dict:
        context = sample_controle_context()
        if decision:
            context["controle"].update(decision=decision, **extra)
        return context

    return build


def _pv() -> dict:
    """Six candidates, with the outcome labels of the domain (« certification obtenue » is the longest)."""
    from certification.jury.states import OUTCOME_LABELS

    context = sample_jury_context(6)
    for candidate in context["jury"]["candidates"]:
        candidate["outcome_label"] = OUTCOME_LABELS[candidate["outcome"]]
    return context


def _attestation() -> dict:
    context = sample_certificate_context()
    context["certificate"] = sample_attestation()
    return context


LETTERS: dict[str, Callable[[], dict]] = {
    "agrement/accuse_reception.html": sample_context,
    "agrement/demande_complements.html": sample_context,
    "agrement/classement_sans_suite.html": sample_context,
    "agrement/decision_agrement.html": sample_context,
    "agrement/refus_agrement.html": sample_context,
    "controle/rapport_controle.html": _controle(None),
    "controle/decision_maintien.html": _controle(
        "compliant", decision_reason=None, action_plan_items=None, action_plan_deadline=None
    ),
    "controle/decision_plan_actions.html": _controle("action_plan"),
    "controle/decision_suspension.html": _controle("suspension", decision_reason="Plan d'actions non réalisé."),
    "controle/decision_retrait.html": _controle("withdrawal", decision_reason="Manquements graves et répétés."),
    "appeals/recours_decision.html": sample_recours_context,
    "jury/pv_jury.html": _pv,
    "jury/certificat.html": sample_certificate_context,
    "jury/attestation_blocs.html": _attestation,
}
