"""E-mails of the appeals (recours): the acknowledgement and the decision, French, escaped, complete."""

from __future__ import annotations

from datetime import datetime, UTC

import jinja2
import pytest

from documents.samples import (
    SAMPLE_HOLDER_FIRST_NAMES,
    SAMPLE_HOLDER_LAST_NAME,
    SAMPLE_STRUCTURE_NAME,
    sample_recours_context,
)
from notifications.outbox import render_message
from tests.notifications.mail_checks import check_referenced_mail

ESCAPED_STRUCTURE = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Fils"


HOLDER = f"{SAMPLE_HOLDER_FIRST_NAMES} {SAMPLE_HOLDER_LAST_NAME}"


ESCAPED_HOLDER = "Marie-Noëlle O&#39;Brien-Lefèvre &lt;script&gt;"

RECOURS_MAILS = {
    "appeals/recours_recu": "[REC-2026-0001] Accusé de réception de votre recours",
    "appeals/recours_decision": "[REC-2026-0001] Décision sur votre recours : recours rejeté",
}


@pytest.mark.parametrize(("template", "expected"), RECOURS_MAILS.items())
def test_every_recours_mail_renders(template, expected) -> None:
    context = {**sample_recours_context(), "action_url": "https://cqp.example.org/recours/1"}
    subject, text, html = render_message(template, context)

    assert subject == expected
    check_referenced_mail(subject, text, html, "REC-2026-0001")
    assert f"Candidate\u00a0: {HOLDER}" in text and ESCAPED_HOLDER in html  # candidate_sex F
    assert f"Structure\u00a0: {SAMPLE_STRUCTURE_NAME}" in text and ESCAPED_STRUCTURE in html
    assert "jury JURY-2026-0001 du 12 juin 2026" in text
    assert "Madame, Monsieur," in text and "Madame, Monsieur," in html
    assert 'href="https://cqp.example.org/recours/1"' in html


def test_recours_recu_acknowledges_with_grounds_and_deadline() -> None:
    _, text, html = render_message("appeals/recours_recu", sample_recours_context())

    assert f"Nous accusons réception du recours formé le 1er juillet 2026 à 10 h 15 au nom de {HOLDER}" in text
    assert "contre la décision du jury JURY-2026-0001 du 12 juin 2026" in text
    assert "Le bloc BC02 n'a pas été évalué <b>équitablement</b>.\nL'évaluateur était mon encadrant & tuteur." in text
    assert "évalué &lt;b&gt;équitablement&lt;/b&gt;.<br>\nL&#39;évaluateur était mon encadrant &amp; tuteur." in html
    assert "au plus tard le 12 août 2026" in text
    assert "La décision vous sera notifiée par écrit." in text


@pytest.mark.parametrize(
    ("decision", "subject_end", "expected"),
    [
        ("upheld", "recours fondé", "est déclaré fondé\u00a0: la décision du jury est modifiée pour"),
        ("rejected", "recours rejeté", "est rejeté\u00a0: la décision du jury est confirmée"),
        ("inadmissible", "recours irrecevable", "est déclaré irrecevable"),
    ],
)
def test_recours_decision_per_decision(decision, subject_end, expected) -> None:
    context = {**sample_recours_context(decision=decision), "attachment_names": ["REC-2026-0001-decision.pdf"]}
    subject, text, html = render_message("appeals/recours_decision", context)

    assert subject == f"[REC-2026-0001] Décision sur votre recours : {subject_end}"
    assert expected in text
    assert "Motifs de la décision\u00a0:\n\nLe jury a réexaminé l'ensemble des preuves du bloc BC02." in text
    assert "avec le &lt;i&gt;membre&lt;/i&gt; du jury." in html
    assert ("procès-verbal modificatif" in text) is (decision == "upheld")
    assert ("voies de recours" in text) is (decision != "upheld")
    assert "Pièce jointe\u00a0: REC-2026-0001-decision.pdf" in text


def test_recours_decision_without_reason_and_unknown_decision() -> None:
    _, text, _ = render_message("appeals/recours_decision", sample_recours_context(decision_reason=None))
    assert "Motifs de la décision" not in text

    with pytest.raises(jinja2.UndefinedError):
        render_message("appeals/recours_decision", sample_recours_context(decision=None))


def test_filed_at_is_shown_in_paris_time() -> None:
    context = sample_recours_context(filed_at=datetime(2026, 12, 31, 23, 30, tzinfo=UTC))
    _, text, _ = render_message("appeals/recours_recu", context)

    assert "formé le 1er janvier 2027 à 0 h 30" in text
