"""E-mails of the jury sessions and results: French, escaped, complete (the recours' in tests/appeals)."""

from __future__ import annotations


import jinja2
import pytest

from documents.samples import (
    SAMPLE_HOLDER_FIRST_NAMES,
    SAMPLE_HOLDER_LAST_NAME,
    SAMPLE_STRUCTURE_NAME,
    sample_attestation,
    sample_certificate,
    sample_jury_context,
)
from notifications.outbox import render_message
from tests.notifications.mail_checks import check_referenced_mail
from tests.texts import assert_contains

ESCAPED_STRUCTURE = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Fils"
HOLDER = f"{SAMPLE_HOLDER_FIRST_NAMES} {SAMPLE_HOLDER_LAST_NAME}"
ESCAPED_HOLDER = "Marie-Noëlle O&#39;Brien-Lefèvre &lt;script&gt;"


def _jury_context(template: str) -> dict:
    context = sample_jury_context()
    jury = context["jury"]
    context["action_url"] = "https://cqp.example.org/juries/1"
    if template == "jury/convocation_jury":
        context["member"] = jury["members"][0]
    elif template == "jury/resultats_jury":
        context["candidate"] = jury["candidates"][0]
        context["certificate"] = sample_certificate()
    elif template == "jury/jury_signale":
        context["flag_reason"] = "Agrément de la structure <b>retiré</b> le 2 juin 2026.\n2 candidats concernés."
    return context


JURY_MAILS = {
    "jury/convocation_jury": "[JURY-2026-0001] Convocation au jury CQP Salarié Polyvalent du 12 juin 2026 (présidence)",
    "jury/resultats_jury": f"[JURY-2026-0001] Résultats du jury du 12 juin 2026 : {HOLDER}",
    "jury/pv_a_signer": "[JURY-2026-0001] Procès-verbal du jury du 12 juin 2026 à signer",
    "jury/jury_signale": "[JURY-2026-0001] Session de jury du 12 juin 2026 signalée : vérification nécessaire",
}
TO_STAFF = {"jury/pv_a_signer", "jury/jury_signale"}


@pytest.mark.parametrize(("template", "expected"), JURY_MAILS.items())
def test_every_jury_mail_renders(template, expected) -> None:
    subject, text, html = render_message(template, _jury_context(template))

    assert subject == expected
    check_referenced_mail(subject, text, html, "JURY-2026-0001")
    assert "Date\u00a0: 12 juin 2026 à 9 h 30 (heure de Paris)" in text  # summary box
    if template == "jury/resultats_jury":  # candidates have no account: the public verification page only
        assert 'href="https://cqp.example.org/verification/SP-2026-000123"' in html and "juries/1" not in html
    else:
        assert 'href="https://cqp.example.org/juries/1"' in html
    if template == "jury/convocation_jury":
        greeting = "Bonjour Hélène Lefèvre,"
    elif template == "jury/resultats_jury":  # to the candidate, whose sex is recorded (F)
        greeting = "Madame,"
    else:
        greeting = "Bonjour," if template in TO_STAFF else "Madame, Monsieur,"
    assert greeting in text and greeting in html


# --- Convocation ---------------------------------------------------------------------


def test_convocation_of_the_president_with_place_video_and_invitation() -> None:
    context = {**_jury_context("jury/convocation_jury"), "attachment_names": ["invitation.ics"]}
    _, text, html = render_message("jury/convocation_jury", context)

    assert "en qualité de membre du collège employeurs, et vous êtes désignée pour en assurer la présidence" in text
    assert "Date\u00a0: le 12 juin 2026 à 9 h 30 (heure de Paris)" in text
    assert "Lieu\u00a0: Maison de l'Emploi, 3 rue de l'Église, 69007 Lyon" in text
    assert "Participation à distance\u00a0: https://visio.example.org/jury/2026-0001?code=A1&lang=fr" in text
    url = "https://visio.example.org/jury/2026-0001?code=A1&amp;lang=fr"
    assert f'<a href="{url}" style="color:#1f3a5f;">{url}</a>' in html
    assert "Candidats\u00a0: 3" in text
    assert "le quorum (3 membres) est atteint" in text
    assert f"- {SAMPLE_STRUCTURE_NAME}\n" in text and f"<li>{ESCAPED_STRUCTURE}</li>" in html
    assert "Atelier d'insertion «\u202fLes Jardins de l'Œuvre\u202f»" in text
    assert "indépendant des structures des candidats" in text
    assert "L'invitation jointe (fichier .ics)" in text
    assert "Pièce jointe\u00a0: invitation.ics" in text and "Pièce jointe\u00a0: invitation.ics" in html


def test_convocation_of_a_member_by_video_only() -> None:
    context = _jury_context("jury/convocation_jury")
    context["member"] = context["jury"]["members"][3]  # hostile name, collège salariés
    context["jury"].update(place=None, video_link="javascript:alert(1)")
    subject, text, html = render_message("jury/convocation_jury", context)

    assert subject == "[JURY-2026-0001] Convocation au jury CQP Salarié Polyvalent du 12 juin 2026"
    assert "Bonjour Anne-Sophie L'Hôte <em>," in text
    assert "Bonjour Anne-Sophie L&#39;Hôte &lt;em&gt;," in html
    assert "en qualité de membre du collège salariés." in text
    assert "présidence" not in subject and "En tant que président" not in text
    assert "Présidence du jury\u00a0: Hélène Lefèvre" in text
    assert "Séance en visioconférence\u00a0: javascript:alert(1)" in text
    assert 'href="javascript' not in html  # only http(s) links become links
    assert "Lieu :" not in text


def test_convocation_without_place_nor_link() -> None:
    context = _jury_context("jury/convocation_jury")
    context["jury"].update(place=None, video_link=None)
    _, text, _ = render_message("jury/convocation_jury", context)

    assert "Lieu\u00a0: il vous sera communiqué prochainement" in text


# --- Results -------------------------------------------------------------------------


def test_results_of_a_certified_candidate_with_the_certificate() -> None:
    context = {**_jury_context("jury/resultats_jury"), "attachment_names": ["SP-2026-000123.pdf"]}
    _, text, html = render_message("jury/resultats_jury", context)

    assert_contains(
        text,
        [
            f"a délibéré sur le parcours de {HOLDER} (candidate CAND-2026-00001, structure {SAMPLE_STRUCTURE_NAME})",
            "Décision du jury\u00a0: Certifié.",
            "Félicitations",
            "- BC02 – Réaliser des travaux d'entretien et de maintenance\u00a0: Acquis antérieurement",
            "- BC03 – Travailler en équipe & rendre compte de son activité\u00a0: Validé",
            "Document délivré\u00a0: Certificat de qualification professionnelle n° SP-2026-000123 (joint à ce message",
            "https://cqp.example.org/verification/SP-2026-000123",
            "recours auprès du certificateur dans un délai de deux mois",
            "Pièce jointe\u00a0: SP-2026-000123.pdf",
        ],
    )
    assert_contains(
        html,
        [
            ESCAPED_HOLDER,
            ESCAPED_STRUCTURE,
            "Travailler en équipe &amp; rendre compte",
            'href="https://cqp.example.org/verification/SP-2026-000123"',
        ],
    )


def test_results_of_a_partial_validation_with_the_attestation() -> None:
    context = _jury_context("jury/resultats_jury")
    context.update(candidate=context["jury"]["candidates"][1], certificate=sample_attestation())
    subject, text, html = render_message("jury/resultats_jury", context)

    assert subject == "[JURY-2026-0001] Résultats du jury du 12 juin 2026 : Jean-Émile <b>Durand</b> & D'Arcy"
    assert "&lt;b&gt;Durand&lt;/b&gt; &amp; D&#39;Arcy" in html
    assert "Décision du jury\u00a0: Validation partielle." in text
    assert "acquis pour une durée de cinq ans" in text and "que sur les blocs manquants" in text
    assert "- BC02 – Réaliser des travaux d'entretien et de maintenance\u00a0: Non validé" in text
    assert "Attestation de validation de blocs de compétences n° SP-2026-000124" in text


@pytest.mark.parametrize(
    ("index", "expected"),
    [(2, "Aucun bloc de compétences n'a été validé"), (3, "La candidate était absente lors de cette session")],
)
def test_results_without_document(index, expected) -> None:
    context = sample_jury_context(4)
    context.update(candidate=context["jury"]["candidates"][index], certificate=None)
    _, text, html = render_message("jury/resultats_jury", context)

    assert expected in text
    assert "Document délivré" not in text and "verification" not in html


# --- PV, flag ------------------------------------------------------------------------


def test_pv_a_signer_counts_outcomes_and_names_the_president() -> None:
    context = sample_jury_context(8)
    _, text, html = render_message("jury/pv_a_signer", context)

    assert (
        "Le procès-verbal de la session du jury JURY-2026-0001 (CQP Salarié Polyvalent, 12 juin 2026 à 9 h 30) est prêt à être signé."
        in text
    )
    assert "Candidats\u00a0: 8 (2 certifiés, 2 validations partielles, 2 sans bloc validé, 2 absents)" in text
    assert "La présidence du jury (Hélène Lefèvre) est invitée à relire le procès-verbal" in text
    assert "Accéder au dossier" not in text  # no action_url given


def test_pv_modificatif_a_signer() -> None:
    context = sample_jury_context(
        1, pv_version=3, recours_note="PV modificatif après recours R-2026-0001 <candidat 1>.", president_name=None
    )
    subject, text, html = render_message("jury/pv_a_signer", context)

    assert subject == "[JURY-2026-0001] PV modificatif n° 2 du jury du 12 juin 2026 à signer"
    assert_contains(
        text,
        [
            "Le procès-verbal modificatif n° 2 (version 3)",
            "PV modificatif après recours R-2026-0001 <candidat 1>.",
            "Présidence du jury\u00a0: non désignée",
            "La présidence du jury est invitée",
        ],
    )
    assert "R-2026-0001 &lt;candidat 1&gt;." in html


def test_jury_signale_quotes_the_reason() -> None:
    _, text, html = render_message("jury/jury_signale", _jury_context("jury/jury_signale"))

    assert (
        "La session du jury JURY-2026-0001 (CQP Salarié Polyvalent, 12 juin 2026 à 9 h 30, 3 candidats) a été signalée"
        in text
    )
    assert "Agrément de la structure <b>retiré</b> le 2 juin 2026.\n2 candidats concernés." in text
    assert "Agrément de la structure &lt;b&gt;retiré&lt;/b&gt; le 2 juin 2026.<br>\n2 candidats concernés." in html
    assert "Examiner la session" in text


def test_a_missing_jury_key_fails_loudly() -> None:
    context = _jury_context("jury/jury_signale")
    del context["flag_reason"]
    with pytest.raises(jinja2.UndefinedError):
        render_message("jury/jury_signale", context)
    context = _jury_context("jury/resultats_jury")
    del context["certificate"]
    with pytest.raises(jinja2.UndefinedError):
        render_message("jury/resultats_jury", context)
