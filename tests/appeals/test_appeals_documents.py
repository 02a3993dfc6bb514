"""The appeals' letter rendered to a real PDF and read back: « Décision sur votre recours » (fondé,
rejeté, irrecevable), escaped, its grounds and reasons kept line by line."""

from __future__ import annotations

import jinja2
import pytest

from documents import render
from documents.samples import (
    SAMPLE_HOLDER_FIRST_NAMES,
    SAMPLE_HOLDER_LAST_NAME,
    SAMPLE_STRUCTURE_NAME,
    sample_recours_context,
)
from tests.texts import assert_contains

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("decision", "heading", "expected"),
    [
        ("rejected", "Recours rejeté", "rejette votre recours : la décision du jury du 12 juin 2026 est confirmée"),
        ("inadmissible", "Recours irrecevable", "déclare votre recours irrecevable"),
        ("upheld", "Recours fondé", "Un procès-verbal modificatif du jury JURY-2026-0001 est établi"),
    ],
)
def test_recours_decision_letter(decision, heading, expected, pdf_text) -> None:
    context = sample_recours_context(decision=decision)
    data = render.render_pdf("appeals/recours_decision.html", context)
    text = pdf_text(data)
    html = render.render_html("appeals/recours_decision.html", context)

    assert data.startswith(b"%PDF-")
    assert_contains(
        text,
        [
            heading,
            expected,
            f"Objet : Décision sur votre recours : {heading[0].lower()}{heading[1:]}",
            f"{SAMPLE_HOLDER_FIRST_NAMES} {SAMPLE_HOLDER_LAST_NAME}",
            SAMPLE_STRUCTURE_NAME,
            "REC-2026-0001 CQP Salarié Polyvalent JURY-2026-0001 du 12 juin 2026 1er juillet 2026 à 10 h 15",
            "prend fin le 12 août 2026",
            # Grounds and reasons: escaped, line breaks kept.
            "Le bloc BC02 n'a pas été évalué <b>équitablement</b>. L'évaluateur était mon encadrant & tuteur.",
            "Motifs de la décision",
            "avec le <i>membre</i> du jury",
            "Réf. REC-2026-0001",
        ],
    )
    assert "évalué &lt;b&gt;équitablement&lt;/b&gt;.<br>\nL&#39;évaluateur" in html
    assert "<script>" not in html and "<b>" not in html and "<i>" not in html
    assert ("Voies de recours" in text) is (decision != "upheld")
    assert ("nouveaux documents" in text) is (decision == "upheld")


def test_recours_decision_without_reason_or_decision() -> None:
    html = render.render_html("appeals/recours_decision.html", sample_recours_context(decision_reason=None))
    assert "Motifs de la décision" not in html

    with pytest.raises(jinja2.UndefinedError):
        render.render_html("appeals/recours_decision.html", sample_recours_context(decision=None))
