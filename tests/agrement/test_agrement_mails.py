"""E-mails of the life of a granted agrément (expiry reminder, expiry, suspension, reinstatement,
withdrawal): French, escaped, complete."""

from __future__ import annotations

import jinja2
import pytest

from documents.samples import sample_agrement_context
from notifications.outbox import render_message
from tests.notifications.mail_checks import check_common

AGREMENT_MAILS = {
    "agrement/rappel_echeance_agrement": "[AGR-CQP_SP-2026-0001] Votre agrément arrive à échéance le 31 décembre 2028",
    "agrement/agrement_expire": "[AGR-CQP_SP-2026-0001] Expiration de votre agrément au 31 décembre 2028",
    "agrement/agrement_suspendu": "[AGR-CQP_SP-2026-0001] Suspension de votre agrément",
    "agrement/agrement_retabli": "[AGR-CQP_SP-2026-0001] Levée de la suspension de votre agrément",
    "agrement/agrement_retire": "[AGR-CQP_SP-2026-0001] Retrait de votre agrément",
}


@pytest.fixture
def agrement_context() -> dict:
    return sample_agrement_context()


@pytest.mark.parametrize(("template", "expected"), AGREMENT_MAILS.items())
def test_every_agrement_mail_renders(template, expected, agrement_context) -> None:
    subject, text, html = render_message(template, agrement_context)

    assert subject == expected
    assert "AGR-CQP_SP-2026-0001" in text and "AGR-CQP_SP-2026-0001" in html
    check_common(subject, text, html, "https://cqp.example.org/agrements/1", staff=False)


@pytest.mark.parametrize(
    ("days_left", "fragment"),
    [
        (90, "arrive à échéance le 31 décembre 2028\u00a0: il reste 90 jours."),
        (1, "arrive à échéance le 31 décembre 2028\u00a0: il reste 1 jour."),
        (0, "arrive à échéance le 31 décembre 2028, c'est-à-dire aujourd'hui."),
        (None, "arrive à échéance le 31 décembre 2028."),
    ],
)
def test_expiry_reminder_counts_the_days_and_explains_renewal(days_left, fragment, agrement_context) -> None:
    agrement_context["agrement"]["days_left"] = days_left
    _, text, _ = render_message("agrement/rappel_echeance_agrement", agrement_context)

    assert fragment in text
    assert "demander le renouvellement" in text
    assert "mandataire du certificateur" in text


@pytest.mark.parametrize(
    "template", ["agrement/agrement_suspendu", "agrement/agrement_retabli", "agrement/agrement_retire"]
)
def test_lifecycle_mails_give_the_reason_escaped_or_nothing(template, agrement_context) -> None:
    _, text, html = render_message(template, agrement_context)
    assert "Motifs\u00a0:\n\nPlan d'actions non réalisé à l'échéance.\nAbsence de <b>grilles</b> d'évaluation." in text
    assert "Plan d&#39;actions non réalisé à l&#39;échéance.<br>\nAbsence de &lt;b&gt;grilles&lt;/b&gt;" in html

    agrement_context["agrement"]["reason"] = None
    _, text, html = render_message(template, agrement_context)
    assert "Motifs" not in text and "Motifs" not in html


def test_suspension_and_withdrawal_mails_state_effects_and_recourse(agrement_context) -> None:
    _, suspended, _ = render_message("agrement/agrement_suspendu", agrement_context)
    _, withdrawn, _ = render_message("agrement/agrement_retire", agrement_context)
    _, reinstated, _ = render_message("agrement/agrement_retabli", agrement_context)
    _, expired, _ = render_message("agrement/agrement_expire", agrement_context)

    assert "ne peut plus inscrire de nouveau candidat" in suspended
    assert "recours gracieux" in suspended and "deux mois" in suspended
    assert "avant son échéance initiale du 31 décembre 2028" in withdrawn
    assert "recours gracieux" in withdrawn
    assert "de nouveau en vigueur jusqu'à son échéance du 31 décembre 2028" in reinstated
    assert "a pris fin le 31 décembre 2028" in expired and "nouvelle demande d'agrément" in expired


@pytest.mark.parametrize("template", sorted(AGREMENT_MAILS))
def test_a_missing_agrement_key_fails_loudly(template, agrement_context) -> None:
    del agrement_context["agrement"]["number"]
    with pytest.raises(jinja2.UndefinedError):
        render_message(template, agrement_context)
