"""Dossiers at the step where a back-office action is due, built through the real services, and
the table of the actions tested by ``test_pages_actions.test_action_with_confirmation``: one module
per process, the machinery of the cases in ``common``.

Each :class:`Case` names the user who acts, the form he sends, what the page must show, how to
observe the dossier, what must have changed once confirmed, the flows that must run, and a user
whose role may not take the action (403)."""

from __future__ import annotations

from tests.web.scenarios.agrement import AGREMENT_CASES, agrement, incomplete_request, structure_one
from tests.web.scenarios.appeals import APPEAL_CASES, appeal
from tests.web.scenarios.candidates import CANDIDATE_CASES, candidate
from tests.web.scenarios.common import (
    ESCAPED,
    EVIL,
    PARTIAL,
    PDF,
    Case,
    count,
    env,
    events_of,
    local_input,
    state,
    touch,
)
from tests.web.scenarios.controle import CONTROLE_CASES, controle
from tests.web.scenarios.jury import CERTIFICATE_CASES, JURY_CASES, certificate, jury
from tests.web.scenarios.training import APPUI_CASES, TRAINING_CASES, appui, training

CASES: list[Case] = [*AGREMENT_CASES, *CONTROLE_CASES, *JURY_CASES, *APPEAL_CASES, *TRAINING_CASES, *APPUI_CASES,
                     *CANDIDATE_CASES, *CERTIFICATE_CASES]

__all__ = [
    "CASES", "ESCAPED", "EVIL", "PARTIAL", "PDF", "Case", "agrement", "appeal", "appui", "candidate", "certificate",
    "controle", "count", "env", "events_of", "incomplete_request", "jury", "local_input", "state", "structure_one",
    "touch", "training",
]
