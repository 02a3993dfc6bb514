"""Letters of the contrôle d'agrément (report and decisions), rendered to PDF and read back."""

from __future__ import annotations

from datetime import datetime, UTC

import jinja2
import pytest

from documents import render
from documents.samples import SAMPLE_STRUCTURE_NAME
from tests.texts import assert_contains, letter_text

pytestmark = pytest.mark.integration

LETTERS = {
    "controle/rapport_controle.html": "Rapport de contrôle d'agrément",
    "controle/decision_maintien.html": "Maintien de l'agrément n° AGR-CQP_SP-2026-0001",
    "controle/decision_plan_actions.html": "Plan d'actions à mettre en œuvre",
    "controle/decision_suspension.html": "Suspension de l'agrément n° AGR-CQP_SP-2026-0001",
    "controle/decision_retrait.html": "Retrait de l'agrément n° AGR-CQP_SP-2026-0001",
}


@pytest.mark.parametrize(("template", "heading"), LETTERS.items())
def test_every_controle_letter_renders_with_escaped_user_text(template, heading, controle_context, pdf_text) -> None:
    data = render.render_pdf(template, controle_context)

    assert data.startswith(b"%PDF-")
    assert_contains(pdf_text(data), [
        heading,
        SAMPLE_STRUCTURE_NAME,  # printed literally, never interpreted
        "SIRET 73282932000074",
        "Salarié Polyvalent",
        # The meta block (labels and values are extracted as two columns).
        "Référence Certification Agrément n° Validité Nature du contrôle",
        "CTL-2026-0001 CQP Salarié Polyvalent (CQP_SP) AGR-CQP_SP-2026-0001 du 1er janvier 2026 au 31 décembre 2028 Contrôle périodique",
        "Réf. CTL-2026-0001",
        "Page 1 / ",
    ])
    html = render.render_html(template, controle_context)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Fils" in html
    assert "{{" not in html and "{%" not in html


def test_rapport_lists_the_findings_with_their_status(controle_context, pdf_text) -> None:
    html = render.render_html("controle/rapport_controle.html", controle_context)
    text = pdf_text(render.render_pdf("controle/rapport_controle.html", controle_context))

    assert_contains(text, [
        "Contrôleur Visite Rapport déposé le",
        "Contrôle périodique François Lefèvre-N'Diaye le 12 mars 2026 de 9 h 30 à 12 h 30 20 mars 2026 à 17 h 45",  # Paris time
        "La visite sur place a eu lieu le 12 mars 2026 de 9 h 30 à 12 h 30 (heure de Paris)",
        "Atelier de l'Église, 12 rue de l'Église, 69007 Lyon",
        "Motif du contrôle",
        "mi-parcours",
        "Constats (3 critères examinés)",
        "1 critère conforme, 1 critère non conforme, 1 observation.",
        "Critère Constat Commentaire",
        "Encadrants formés à l'EPSP Conforme Deux encadrants formés en 2025.",
        "Suivi des évaluations en situation de production Non conforme Grilles d'évaluation absentes",
        "Pas de <i>traçabilité</i> des preuves.",  # markup typed by the contrôleur, shown as is
        "Information des candidats Observation Livret d'accueil",
        "Structure globalement conforme. Un écart sur le suivi des évaluations.",
        "Contrôleur mandaté par le certificateur",
    ])
    # Line breaks of the comments and of the summary are kept, their markup escaped.
    assert "absentes pour 3 candidats.<br>\nPas de &lt;i&gt;traçabilité&lt;/i&gt; des preuves." in html
    assert "Structure globalement conforme.<br>\nUn écart" in html


def test_rapport_without_visit_nor_findings(controle_context) -> None:
    controle_context["controle"].update(
        visit_at=None, visit_end=None, visit_place=None, controleur_name=None, reason=None,
        findings=[], report_summary=None,
    )
    text = letter_text("controle/rapport_controle.html", controle_context)

    assert_contains(text, [
        "réalisé sur pièces, sans visite sur place",
        "Constats (0 critère examiné)",
        "Aucun constat n'a été consigné.",
        "Aucune synthèse n'a été rédigée.",
    ])
    assert "Motif du contrôle" not in text


def test_a_visit_over_two_days_shows_both_dates(controle_context) -> None:
    controle_context["controle"].update(
        visit_at=datetime(2026, 3, 12, 8, 30, tzinfo=UTC),
        visit_end=datetime(2026, 3, 13, 11, 30, tzinfo=UTC),
    )
    html = render.render_html("controle/rapport_controle.html", controle_context)

    assert "du 12 mars 2026 à 9 h 30 au 13 mars 2026 à 12 h 30" in html


def test_an_unknown_finding_status_fails_loudly(controle_context) -> None:
    controle_context["controle"]["findings"][0]["status"] = "peut-être"
    with pytest.raises(jinja2.UndefinedError):
        render.render_html("controle/rapport_controle.html", controle_context)


def test_decision_maintien_recalls_the_observations(controle_context, pdf_text) -> None:
    controle_context["controle"].update(decision="compliant", decision_reason=None, action_plan_items=None,
                                        action_plan_deadline=None)
    text = pdf_text(render.render_pdf("controle/decision_maintien.html", controle_context))

    assert_contains(text, [
        "Décision de maintien de l'agrément à l'issue du contrôle",
        "décide de maintenir l'agrément n° AGR-CQP_SP-2026-0001, jusqu'à son échéance du 31 décembre 2028",
        "Vu le rapport de contrôle établi par François Lefèvre-N'Diaye, déposé le 20 mars 2026",
        "Information des candidats : Livret d'accueil à mettre à jour",
        "Pour l'Organisme certificateur CQP de la branche des ACI, Claire Martin Responsable de la certification",
    ])
    assert "Grilles d'évaluation absentes" not in text  # only the observations are recalled


def test_decision_plan_actions_gives_items_deadline_and_consequence(controle_context, pdf_text) -> None:
    html = render.render_html("controle/decision_plan_actions.html", controle_context)
    text = pdf_text(render.render_pdf("controle/decision_plan_actions.html", controle_context))

    assert_contains(text, [
        "Décision de mise en œuvre d'un plan d'actions",
        "Contrôle périodique 1er avril 2026",  # meta: "Échéance du plan"
        "au plus tard le 1er avril 2026",
        "1. Mettre en place une grille d'évaluation par candidat ;",
        "2. Archiver les preuves d'évaluation <signées> ;",
        "Écarts constatés Suivi des évaluations en situation de production",
        "L'agrément reste en vigueur pendant la durée du plan.",
        "le certificateur pourra suspendre l'agrément",
        "recours gracieux",
        "deux mois",
    ])
    assert "par candidat\u202f;<br>\n2. Archiver les preuves d&#39;évaluation &lt;signées&gt;\u202f;<br>\n3." in html


def test_decision_suspension_gives_reasons_effects_lifting_and_recourse(controle_context, pdf_text) -> None:
    controle_context["controle"].update(decision="suspension",
                                        decision_reason="Plan d'actions non réalisé.\nAucun justificatif <reçu>.")
    html = render.render_html("controle/decision_suspension.html", controle_context)
    text = pdf_text(render.render_pdf("controle/decision_suspension.html", controle_context))

    assert_contains(text, [
        "Décision de suspension de l'agrément",
        "décide de suspendre l'agrément",
        "Plan d'actions non réalisé. Aucun justificatif <reçu>.",
        "dont l'échéance était fixée au 1er avril 2026",
        "ne peut plus inscrire de nouveau candidat",
        "en attente de passage devant un jury",
        "Levée de la suspension",
        "Voies de recours",
        "recours gracieux",
        "deux mois",
    ])
    assert "Plan d&#39;actions non réalisé.<br>\nAucun justificatif &lt;reçu&gt;." in html


def test_decision_retrait_gives_reasons_effects_and_recourse(controle_context) -> None:
    controle_context["controle"].update(decision="withdrawal", decision_reason="Manquements graves et répétés.",
                                        action_plan_items=None, action_plan_deadline=None)
    assert_contains(letter_text("controle/decision_retrait.html", controle_context), [
        "Décision de retrait de l'agrément",
        "décide de retirer l'agrément",
        "Manquements graves et répétés.",
        "avant son échéance initiale du 31 décembre 2028",
        "ne peut plus inscrire de candidat",
        "Les blocs de compétences déjà validés leur restent acquis.",
        "nouvelle demande d'agrément",
        "recours gracieux",
        "deux mois",
    ])


@pytest.mark.parametrize("template", LETTERS)
def test_a_missing_controle_key_fails_loudly(template, controle_context) -> None:
    del controle_context["controle"]["agrement_number"]
    with pytest.raises(jinja2.UndefinedError):
        render.render_html(template, controle_context)
