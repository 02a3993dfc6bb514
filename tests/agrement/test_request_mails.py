"""Every e-mail template renders in French, with user text escaped in HTML."""

from __future__ import annotations

import jinja2
import pytest

from documents.samples import SAMPLE_STRUCTURE_NAME
from notifications.outbox import render_message

TEMPLATES = {
    "agrement/accuse_reception": "[AGR-2026-00001] Accusé de réception de votre demande d'agrément",
    "agrement/demande_complements": "[AGR-2026-00001] Demande de compléments sur votre demande d'agrément",
    "agrement/relance_complements": "[AGR-2026-00001] Rappel : compléments attendus avant le 23 décembre 2026",
    "agrement/classement_sans_suite": "[AGR-2026-00001] Classement sans suite de votre demande d'agrément",
    "agrement/demande_avis": "[AGR-2026-00001] Demande d'avis sur une demande d'agrément",
    "agrement/relance_avis": "[AGR-2026-00001] Rappel : avis attendu avant le 14 décembre 2026",
    "agrement/avis_rendu": "[AGR-2026-00001] Avis favorable rendu : décision à prendre",
    "agrement/decision_agrement": "[AGR-2026-00001] Décision d'agrément n° AGR-CQP_SP-2026-0001",
    "agrement/refus_agrement": "[AGR-2026-00001] Décision de refus d'agrément",
}


@pytest.mark.parametrize(("template", "subject"), TEMPLATES.items())
def test_every_mail_renders(template, subject, context) -> None:
    rendered_subject, text, html = render_message(template, context)

    assert rendered_subject == subject
    assert "\n" not in rendered_subject
    assert SAMPLE_STRUCTURE_NAME in text  # plain text: as typed
    assert "<script>" not in html  # HTML: escaped
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Fils" in html
    assert "CQP Salarié Polyvalent" in text and "CQP Salarié Polyvalent" in html
    assert 'href="https://cqp.example.org/agrement-requests/1"' in html
    greeting = "Bonjour," if template == "agrement/avis_rendu" else "Madame, Monsieur,"
    assert greeting in text and greeting in html
    assert "{{" not in text + html and "{%" not in text + html


def test_demande_complements_keeps_line_breaks_and_escapes(context) -> None:
    _, text, html = render_message("agrement/demande_complements", context)

    assert "- l'attestation EPSP de l'encadrant <b>principal</b>\u202f;\n- le budget prévisionnel." in text
    assert "&lt;b&gt;principal&lt;/b&gt;\u202f;<br>" in html
    assert "À défaut de réponse avant le 23 décembre 2026, la demande sera classée sans suite." in text


def test_reminders_count_the_days_left(context) -> None:
    context["days_left"] = 1
    _, text, _ = render_message("agrement/relance_complements", context)
    assert "Il vous reste 1 jour pour les transmettre" in text

    context["days_left"] = 15
    _, text, _ = render_message("agrement/relance_avis", context)
    assert "Il reste 15 jours avant l'échéance du 14 décembre 2026" in text


def test_recipient_and_attachments_are_mentioned(context) -> None:
    context.update(recipient_name="Hélène Lefèvre", attachment_names=["AGR-2026-00001-ar.pdf"])
    _, text, html = render_message("agrement/accuse_reception", context)

    assert "À l'attention d'Hélène Lefèvre" in text
    assert "Pièce jointe\u00a0: AGR-2026-00001-ar.pdf" in text
    assert "Pièce jointe\u00a0: AGR-2026-00001-ar.pdf" in html


def test_defaults_fill_the_optional_keys(context) -> None:
    for key in ("certifier_name", "today", "recipient_name", "action_url"):
        context.pop(key)
    _, text, html = render_message("agrement/accuse_reception", context)

    assert "Accéder au dossier" not in text and "<a href" not in html


def test_a_missing_required_key_fails_loudly(context) -> None:
    del context["avis_deadline"]
    with pytest.raises(jinja2.UndefinedError):
        render_message("agrement/demande_avis", context)
