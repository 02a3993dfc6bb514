"""The agrément's letters (documents/templates/agrement/) rendered to real PDFs and read back with pypdf."""

from __future__ import annotations

import jinja2
import pytest

from documents import render
from documents.samples import SAMPLE_STRUCTURE_NAME
from tests.texts import assert_contains, letter_text

LETTERS = [
    "agrement/accuse_reception.html",
    "agrement/demande_complements.html",
    "agrement/decision_agrement.html",
    "agrement/refus_agrement.html",
    "agrement/classement_sans_suite.html",
]


@pytest.mark.parametrize("template", LETTERS)
def test_every_letter_renders_with_escaped_user_text(template, context, pdf_text) -> None:
    data = render.render_pdf(template, context)

    assert data.startswith(b"%PDF-")
    # Markup typed by a user is printed literally, never interpreted.
    assert_contains(
        pdf_text(data), [SAMPLE_STRUCTURE_NAME, "Salarié Polyvalent", "d'agrément", "Réf. AGR-2026-00001", "Page 1 / "]
    )
    html = render.render_html(template, context)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Fils" in html


def test_accuse_reception_lists_the_pieces(context, pdf_text) -> None:
    text = pdf_text(render.render_pdf("agrement/accuse_reception.html", context))

    assert_contains(
        text,
        [
            "Accusé de réception",
            "23 novembre 2026 à 14 h 05",
            "SIRET 73282932000074",
            "statuts-signés.pdf",
            "1,2 Mo",
            "47,1 ko",
            "0123456789ab ",  # first 12 hex characters of the sha256 only
            "demande de compléments",
        ],
    )
    assert "0123456789abc" not in text


def test_demande_complements_keeps_the_officer_text_and_the_deadline(context, pdf_text) -> None:
    html = render.render_html("agrement/demande_complements.html", context)
    text = pdf_text(render.render_pdf("agrement/demande_complements.html", context))

    escaped = "- l&#39;attestation EPSP de l&#39;encadrant &lt;b&gt;principal&lt;/b&gt;\u202f;<br>"
    assert "Merci de fournir\u00a0:<br>\n" + escaped in html
    assert "<b>principal</b>" in text  # escaped, printed as typed
    assert "À défaut de réponse avant le 23 décembre 2026, la demande sera classée sans suite" in text


def test_decision_agrement_states_number_validity_scope_and_avis(context) -> None:
    assert_contains(
        letter_text("agrement/decision_agrement.html", context),
        [
            "Décision d'agrément n° AGR-CQP_SP-2026-0001",
            "du 1er janvier 2027 au 31 décembre 2029",
            "BC01 — Accueillir et informer",
            "Vu l'avis favorable rendu par Hélène Lefèvre",
            "Pour l'Organisme certificateur CQP de la branche des ACI, Claire Martin Responsable de la certification",
        ],
    )


def test_refus_agrement_gives_reasons_and_recourse(context) -> None:
    context["request"]["avis"] = "defavorable"
    assert_contains(
        letter_text("agrement/refus_agrement.html", context),
        [
            "Décision de refus d'agrément",
            "Absence d'encadrant formé à l'EPSP. Projet pédagogique incomplet.",
            "avis défavorable",
            "recours gracieux",
            "deux mois",
        ],
    )


def test_classement_sans_suite(context, pdf_text) -> None:
    text = pdf_text(render.render_pdf("agrement/classement_sans_suite.html", context))

    assert "Classement sans suite" in text
    assert "avant le 23 décembre 2026" in text
    assert "classée sans suite" in text


def test_long_letters_get_numbered_pages(context, pdf_text, pdf_pages) -> None:
    pieces = context["request"]["pieces"] * 40
    context["request"]["pieces"] = pieces
    data = render.render_pdf("agrement/accuse_reception.html", context)

    pages = pdf_pages(data)
    assert pages >= 2
    assert f"Page {pages} / {pages}" in pdf_text(data)


def test_missing_context_key_fails_loudly(context) -> None:
    del context["request"]["agrement_number"]
    with pytest.raises(jinja2.UndefinedError):
        render.render_html("agrement/decision_agrement.html", context)
