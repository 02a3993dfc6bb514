"""E-mails of the contrôles d'agrément: French, escaped, complete."""

from __future__ import annotations

from datetime import datetime, UTC

import jinja2
import pytest

from notifications.outbox import render_message
from tests.notifications.mail_checks import check_common
from tests.texts import assert_contains

CONTROLE_MAILS = {
    "controle/mission_controle": "[CTL-2026-0001] Mission de contrôle d'agrément confiée",
    "controle/convocation_visite": "[CTL-2026-0001] Modification de la date de visite : contrôle de votre agrément le 12 mars 2026",
    "controle/rapport_depose": "[CTL-2026-0001] Rapport de contrôle déposé : décision à prendre",
    "controle/decision_controle": "[CTL-2026-0001] Contrôle de votre agrément : plan d'actions à réaliser avant le 1er avril 2026",
    "controle/relance_plan_actions": "[CTL-2026-0001] Rappel : plan d'actions à réaliser avant le 1er avril 2026",
    "controle/plan_actions_echu": "[CTL-2026-0001] Plan d'actions échu depuis 5 jours : décision à prendre",
    "controle/cloture_plan_actions": "[CTL-2026-0001] Clôture du plan d'actions : agrément maintenu",
}
TO_STAFF = {"controle/mission_controle", "controle/rapport_depose", "controle/plan_actions_echu"}


@pytest.mark.parametrize(("template", "expected"), CONTROLE_MAILS.items())
def test_every_controle_mail_renders(template, expected, controle_context) -> None:
    if template == "controle/plan_actions_echu":
        controle_context["controle"]["days_left"] = -5
    subject, text, html = render_message(template, controle_context)

    assert subject == expected
    assert "CTL-2026-0001" in text and "CTL-2026-0001" in html
    check_common(subject, text, html, "https://cqp.example.org/controles/1", staff=template in TO_STAFF)


def test_mission_asks_to_plan_the_visit_and_to_declare_conflicts(controle_context) -> None:
    _, text, html = render_message("controle/mission_controle", controle_context)

    assert "Le contrôle périodique de l'agrément n° AGR-CQP_SP-2026-0001" in text
    assert "Adresse\u00a0: 12 rue de l'Église\n69007 Lyon" in text
    assert "12 rue de l&#39;Église<br>\n69007 Lyon" in html
    assert "Motif du contrôle" in text and "mi-parcours" in text
    assert "convenir de la date de la visite" in text
    assert "indépendance du contrôle" in text


def test_first_convocation_gives_date_paris_time_place_notes_and_invitation(controle_context) -> None:
    controle_context["controle"]["visit_sequence"] = 0
    context = {**controle_context, "attachment_names": ["invitation.ics"]}
    subject, text, html = render_message("controle/convocation_visite", context)

    assert subject == "[CTL-2026-0001] Contrôle de votre agrément : visite le 12 mars 2026"
    assert "Modification" not in subject + text + html
    assert_contains(text, [
        "Date\u00a0: le 12 mars 2026 de 9 h 30 à 12 h 30 (heure de Paris)",
        "Lieu\u00a0: Atelier de l'Église, 12 rue de l'Église, 69007 Lyon",
        "Contrôleur\u00a0: François Lefèvre-N'Diaye (francois.lefevre@controleurs.example.org)",
        "Accès par la cour.\nPrévoir les <b>livrets</b> des candidats & les plannings.",
        "L'invitation jointe (fichier invitation.ics)",
        "Pièce jointe\u00a0: invitation.ics",
    ])
    assert_contains(html, [
        "Accès par la cour.<br>\nPrévoir les &lt;b&gt;livrets&lt;/b&gt; des candidats &amp; les plannings.",
        "Pièce jointe\u00a0: invitation.ics",
    ])
    assert "met à jour le rendez-vous précédent" not in text


def test_a_moved_visit_says_so(controle_context) -> None:
    controle_context["controle"].update(
        visit_sequence=2,
        visit_at=datetime(2026, 3, 19, 13, 0, tzinfo=UTC),
        visit_end=datetime(2026, 3, 19, 15, 0, tzinfo=UTC),
        visit_place=None,
        visit_notes=None,
    )
    subject, text, html = render_message("controle/convocation_visite", controle_context)

    assert subject.startswith("[CTL-2026-0001] Modification de la date de visite")
    assert "19 mars 2026" in subject
    assert "Modification de la date de visite\u00a0: la visite de contrôle de votre structure a été déplacée." in text
    assert "<strong>Modification de la date de visite</strong>" in html
    assert "Date\u00a0: le 19 mars 2026 de 14 h 00 à 16 h 00 (heure de Paris)" in text
    assert "Lieu\u00a0: dans les locaux de la structure" in text
    assert "Informations pratiques" not in text
    assert "met à jour le rendez-vous précédent" in text


def test_convocation_in_summer_time(controle_context) -> None:
    controle_context["controle"].update(
        visit_at=datetime(2026, 7, 2, 7, 0, tzinfo=UTC),
        visit_end=datetime(2026, 7, 2, 10, 0, tzinfo=UTC),
    )
    _, text, _ = render_message("controle/convocation_visite", controle_context)

    assert "Date\u00a0: le 2 juillet 2026 de 9 h 00 à 12 h 00 (heure de Paris)" in text


def test_rapport_depose_summarises_the_findings(controle_context) -> None:
    _, text, html = render_message("controle/rapport_depose", controle_context)

    assert_contains(text, [
        "François Lefèvre-N'Diaye a déposé le 20 mars 2026 à 17 h 45 le rapport",
        "Constats\u00a0: 1 critère conforme, 1 critère non conforme, 1 observation.",
        "- Non conforme\u00a0: Suivi des évaluations en situation de production — Grilles",
        "La décision est désormais attendue",
    ])
    assert "Encadrants formés" not in text  # compliant criteria are only counted
    assert "Pas de &lt;i&gt;traçabilité&lt;/i&gt; des preuves." in html
    assert "Structure globalement conforme.<br>\nUn écart" in html


DECISIONS = {
    "compliant": (
        "[CTL-2026-0001] Contrôle de votre agrément : maintien de l'agrément",
        "a décidé de maintenir l'agrément n° AGR-CQP_SP-2026-0001",
    ),
    "action_plan": (
        "[CTL-2026-0001] Contrôle de votre agrément : plan d'actions à réaliser avant le 1er avril 2026",
        "au plus tard le 1er avril 2026. À défaut, le certificateur pourra suspendre l'agrément.",
    ),
    "suspension": (
        "[CTL-2026-0001] Contrôle de votre agrément : décision de suspension",
        "a décidé de suspendre l'agrément n° AGR-CQP_SP-2026-0001",
    ),
    "withdrawal": (
        "[CTL-2026-0001] Contrôle de votre agrément : décision de retrait",
        "a décidé de retirer l'agrément n° AGR-CQP_SP-2026-0001",
    ),
}


@pytest.mark.parametrize(("decision", "expected"), DECISIONS.items())
def test_decision_mail_follows_the_decision(decision, expected, controle_context) -> None:
    controle_context["controle"].update(decision=decision, decision_reason="Motif <b>grave</b>.\nDeuxième ligne.")
    context = {**controle_context, "attachment_names": ["décision CTL-2026-0001.pdf"]}
    subject, text, html = render_message("controle/decision_controle", context)

    assert subject == expected[0]
    assert expected[1] in text
    assert "Pièce jointe\u00a0: décision CTL-2026-0001.pdf" in text
    assert "jointe à ce message" in text
    others = {"compliant": "maintenir", "action_plan": "plan d'actions", "suspension": "suspendre",
              "withdrawal": "retirer"}
    for other, word in others.items():
        if other != decision and not (decision == "action_plan" and other == "suspension"):
            assert f"a décidé de {word}" not in text
    if decision in ("suspension", "withdrawal"):
        assert "Motif <b>grave</b>.\nDeuxième ligne." in text
        assert "Motif &lt;b&gt;grave&lt;/b&gt;.<br>\nDeuxième ligne." in html
        assert "recours gracieux dans un délai de deux mois" in text
    if decision == "action_plan":
        assert "2. Archiver les preuves d'évaluation <signées>\u202f;" in text
        assert "&lt;signées&gt;\u202f;<br>" in html
        assert "Déposer les justificatifs\u00a0: https://cqp.example.org/controles/1" in text


def test_an_unknown_decision_fails_loudly(controle_context) -> None:
    controle_context["controle"]["decision"] = None
    with pytest.raises(jinja2.UndefinedError):
        render_message("controle/decision_controle", controle_context)


@pytest.mark.parametrize(
    ("days_left", "subject_part", "sentence"),
    [
        (5, "Rappel : plan d'actions à réaliser avant le 1er avril 2026", "Il vous reste 5 jours pour transmettre"),
        (1, "Rappel : plan d'actions à réaliser avant le 1er avril 2026", "Il vous reste 1 jour pour transmettre"),
        (0, "Rappel : plan d'actions à réaliser avant le 1er avril 2026", "au plus tard aujourd'hui, 1er avril 2026"),
        (-1, "Plan d'actions : échéance du 1er avril 2026 dépassée", "est dépassée de 1 jour."),
        (-3, "Plan d'actions : échéance du 1er avril 2026 dépassée", "est dépassée de 3 jours."),
    ],
)
def test_action_plan_reminder_before_and_after_the_deadline(days_left, subject_part, sentence, controle_context) -> None:
    controle_context["controle"]["days_left"] = days_left
    subject, text, html = render_message("controle/relance_plan_actions", controle_context)

    assert subject == f"[CTL-2026-0001] {subject_part}"
    assert sentence in text
    assert "Justificatifs déjà reçus\u00a0:\n- grilles-évaluation.pdf, déposé le 25 mars 2026" in text
    overdue = days_left < 0
    assert ("pourra décider de suspendre l'agrément" in text) is overdue
    assert ("merci de ne pas tenir compte de ce message" in text) is not overdue
    assert "-" + str(abs(days_left)) + " jour" not in text  # never a negative count


def test_action_plan_reminder_without_evidence(controle_context) -> None:
    controle_context["controle"].update(evidence=[], days_left=-2)
    _, text, html = render_message("controle/relance_plan_actions", controle_context)

    assert "Aucun justificatif n'a été reçu à ce jour." in text
    assert "Aucun justificatif n'a été reçu à ce jour." in html


def test_overdue_plan_is_escalated_to_the_officers(controle_context) -> None:
    controle_context["controle"].update(days_left=-1, evidence=[])
    subject, text, _ = render_message("controle/plan_actions_echu", controle_context)

    assert subject == "[CTL-2026-0001] Plan d'actions échu depuis 1 jour : décision à prendre"
    assert "Cette échéance est dépassée de 1 jour" in text
    assert "Aucun justificatif n'a été reçu." in text
    assert "ou suspendre l'agrément" in text


def test_closing_the_plan_lists_the_evidence(controle_context) -> None:
    _, text, html = render_message("controle/cloture_plan_actions", controle_context)

    assert "Le plan d'actions est clôturé et l'agrément n° AGR-CQP_SP-2026-0001 est maintenu" in text
    assert "jusqu'à son échéance du 31 décembre 2028" in text
    assert "- livret_accueil_2026.pdf, déposé le 27 mars 2026" in text
    assert "<li>grilles-évaluation.pdf, déposé le 25 mars 2026</li>" in html


def test_recipient_name_is_shown(controle_context) -> None:
    controle_context["recipient_name"] = "François Lefèvre-N'Diaye"
    _, text, html = render_message("controle/mission_controle", controle_context)

    assert "À l'attention de François Lefèvre-N'Diaye" in text
    assert "À l'attention de François Lefèvre-N&#39;Diaye" in html


@pytest.mark.parametrize("template", sorted(CONTROLE_MAILS))
def test_a_missing_controle_key_fails_loudly(template, controle_context) -> None:
    controle_context["controle"]["days_left"] = -5
    del controle_context["controle"]["reference"]
    with pytest.raises(jinja2.UndefinedError):
        render_message(template, controle_context)
