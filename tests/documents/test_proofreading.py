"""Proofreading: every template of documents/templates (PDF) and notifications/templates (subject,
text and HTML parts of each e-mail), found in the directories, rendered with tricky data (names
starting with an accented vowel, a ligature or an h, a female president, a male candidate, a
certifier name starting with a vowel) and checked as a certification officer would before signing
(the rules are in tests/documents/proofreading.py):

- no « de », « le », « la », « que » left unelided before a vowel or a mute h;
- the certifier's name always has its article (« l'Organisme… », « du Conseil… »), except
  standing alone (letterhead, e-mail header);
- no English word, no raw value (None, True, null…), no technical identifier in the French text;
- no template leftover ({{ … }}, {% … %}) nor empty placeholder (« , », « le . », « n° »);
- agreement with the recorded sex (président/présidente, né/née, Madame/Monsieur…), neutral
  forms only where the sex is not recorded;
- French typography in documents and in both parts of every e-mail;
- dates in order (PV signed and certificate issued on or after the jury's date).
"""

from __future__ import annotations

import io
import re
from datetime import date
from functools import partial

import pytest
from pypdf import PdfReader

from documents import render
from documents.formatting import MONTHS_FR
from documents.samples import sample_certificate, sample_context, sample_controle_context, sample_jury_context
from notifications.outbox import env as mail_env
from notifications.outbox import render_message
from tests.documents import proofreading as proof
from tests.documents.letters import LETTERS

PEOPLE = [  # (first names, last name, sex)
    ("Éloïse", "N'Diaye-Lefèvre", "F"),
    ("Zoë", "Ærøskøbing", "F"),
    ("Ophélie", "d'Harcourt", "F"),
    ("Aïssatou", "Diallo", "F"),
    ("Hugo", "Ernaux", "M"),
    ("Yannick", "Le Hir", None),
]
DATE = re.compile(rf"(\d{{1,2}})(?:er)? ({'|'.join(MONTHS_FR)}) (\d{{4}})")


def _tricky_jury() -> dict:
    context = sample_jury_context(len(PEOPLE))
    jury = context["jury"]
    president = jury["members"][0]
    president.update(name="Ophélie d'Harcourt", sex="F")
    jury["members"][1].update(name="Hugo Ernaux", sex="M")
    jury["president_name"] = jury["pv_signed_by"] = "Ophélie d'Harcourt"
    for candidate, (first, last, sex) in zip(jury["candidates"], PEOPLE):
        candidate.update(first_names=first, last_name=last, sex=sex)
    return context


def _tricky(template: str) -> dict:
    if template == "jury/pv_jury.html":
        return _tricky_jury()
    context = LETTERS[template]()
    if "certificate" in context:
        context["certificate"].update(holder_first_names="Hugo", holder_last_name="Ernaux", holder_sex="M")
    if "recours" in context:
        context["recours"].update(candidate_name="Éloïse N'Diaye-Lefèvre", candidate_sex="F")
    if "request" in context:
        context["request"].update(mandataire_name="Ophélie d'Harcourt")
    if "controle" in context:
        context["controle"].update(controleur_name="Éloïse N'Diaye-Lefèvre")
    return context


def _pdf_text(data: bytes) -> str:
    return " ".join(" ".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(data)).pages).split())


def _dates(text: str, after: str) -> list[date]:
    return (
        [date(int(y), MONTHS_FR.index(m) + 1, int(d)) for d, m, y in DATE.findall(text.split(after, 1)[1])][:1]
        if after in text
        else []
    )


# --- Every template, enumerated from the template directories ---------------------------------


def test_every_template_file_is_proofread() -> None:
    """Each file of documents/templates and notifications/templates is rendered below: either it is an
    entry point (a PDF template, one of the three parts of an e-mail) or one of them builds on it."""
    documents = proof.document_templates()
    assert {
        "jury/pv_jury.html",
        "jury/certificat.html",
        "reporting/rapport_activite.html",
        "training/attestation_formation_epsp.html",
    } <= set(documents) and "base.html" not in documents
    covered = proof.reachable(render.env, proof.DOCUMENT_DIR, documents)
    assert set(proof.template_files(proof.DOCUMENT_DIR, (".html",))) - covered == set()
    mails = proof.mail_templates()
    assert len(mails) >= 40 and "training/convocation_formation" in mails and "cpf/alerte" in mails
    parts = [f"{name}{part}" for name in mails for part in proof.MAIL_PARTS]
    assert all((proof.MAIL_DIR / part).is_file() for part in parts), "an e-mail lacks a subject, text or HTML part"
    covered = proof.reachable(mail_env, proof.MAIL_DIR, parts)
    assert set(proof.template_files(proof.MAIL_DIR, (".j2",))) - covered == set()


def test_encadrants_have_no_recorded_sex() -> None:
    """The reason why e-mails to encadrants write « inscrit·e »: if Encadrant gets a sex, they must agree."""
    from certification.training.models import Encadrant

    assert "sex" not in Encadrant.model_fields


@pytest.mark.parametrize("scenario", sorted(proof.SCENARIOS))
@pytest.mark.parametrize("template", proof.document_templates())
def test_every_document_reads_as_correct_french(template: str, scenario: str) -> None:
    html = render.render_html(template, proof.universe(scenario))
    neutral = proof.neutral_allowed(render.env, proof.DOCUMENT_DIR, template)
    assert proof.problems(proof.html_lines(html), scenario=scenario, neutral_allowed=neutral) == []


@pytest.mark.parametrize("template", proof.document_templates())
def test_every_pdf_reads_as_correct_french(template: str) -> None:
    """The PDF itself, as the reader gets it (text extracted from the pages)."""
    lines = proof.pdf_lines(render.render_pdf(template, proof.universe("known")))
    neutral = proof.neutral_allowed(render.env, proof.DOCUMENT_DIR, template)
    assert proof.problems(lines, scenario="known", neutral_allowed=neutral, layout=False) == []
    assert proof.CERTIFIER in " ".join(lines)


@pytest.mark.parametrize("scenario", sorted(proof.SCENARIOS))
@pytest.mark.parametrize("template", proof.mail_templates())
def test_every_mail_reads_as_correct_french(template: str, scenario: str) -> None:
    subject, text, html = render_message(template, proof.universe(scenario))
    neutral = proof.neutral_allowed(mail_env, proof.MAIL_DIR, f"{template}.txt.j2")
    check = partial(proof.problems, scenario=scenario, neutral_allowed=neutral, mail=True)
    assert check([subject]) == []
    assert check(proof.text_lines(text)) == []
    assert check(proof.html_lines(html)) == []


@pytest.mark.parametrize("template", proof.mail_templates())
def test_every_mail_has_french_typography_in_both_parts(template: str) -> None:
    """Non-breaking spaces before « : ; ! ? » and inside « », in the plain-text part as in the HTML one."""
    _, text, html = render_message(template, proof.universe("known"))
    assert proof.typography_faults(proof.text_lines(text)) == []
    assert proof.typography_faults(proof.html_lines(html)) == []
    assert "\u00a0:" in text and "\u00a0:" in html


@pytest.mark.parametrize("template", proof.document_templates())
def test_every_document_has_french_typography(template: str) -> None:
    assert proof.typography_faults(proof.html_lines(render.render_html(template, proof.universe("known")))) == []


@pytest.mark.parametrize(
    "line",
    [
        "Objet : décision",
        "Objet: décision",
        "Pourquoi ?",
        "Pourquoi?",
        "« Les Jardins »",
        "«\u202fLes Jardins»",
        "Fin ; suite",
    ],
)
def test_the_typography_check_catches_each_fault(line: str) -> None:
    assert proof.typography_faults([line])


def test_the_typography_check_accepts_french_typography_and_urls() -> None:
    assert (
        proof.typography_faults(
            [
                "Objet\u00a0: décision\u202f; pourquoi\u202f? «\u202fLes Jardins\u202f»",
                "Lien\u00a0: https://cqp.example.org/verify?c=1",
                "9 h 30",
            ]
        )
        == []
    )


def test_guillemets_get_thin_spaces_in_both_parts() -> None:
    """The structure's name « Atelier d'insertion « Les Jardins de l'Œuvre » » as typed by its user."""
    _, text, html = render_message("agrement/accuse_reception", proof.universe("known"))
    assert "Atelier d'insertion «\u202fLes Jardins de l'Œuvre\u202f»" in text
    assert "Atelier d&#39;insertion «\u202fLes Jardins de l&#39;Œuvre\u202f»" in html


def test_pv_agrees_with_the_sex_and_its_dates_are_in_order() -> None:
    text = _pdf_text(render.render_pdf("jury/pv_jury.html", _tricky_jury()))
    assert "Ophélie d'Harcourt, présidente du jury – présente" in text
    assert "Hugo Ernaux – présent" in text
    assert "née le" in text and "né le" in text and "né·e le" in text  # F, M and not recorded
    (held,) = _dates(text, "Date et heure")
    (signed,) = _dates(text, "Procès-verbal signé par Ophélie d'Harcourt")
    assert held <= signed


@pytest.mark.parametrize("kind", ["jury/certificat.html", "jury/attestation_blocs.html"])
def test_certificates_name_the_signatory_agree_and_are_issued_after_the_jury(kind: str) -> None:
    text = _pdf_text(render.render_pdf(kind, _tricky(kind)))
    assert "Hugo Ernaux" in text and "né le" in text and "née le" not in text
    assert "Pour l'Organisme certificateur CQP de la branche des ACI, Claire Martin" in text
    (jury_day,) = _dates(text, "réuni le")
    (issued,) = _dates(text, "Délivré le") or _dates(text, "délivré le")
    assert jury_day <= issued


def _mail_contexts() -> dict[str, dict]:
    jury = _tricky_jury()
    president, male = jury["jury"]["members"][0], jury["jury"]["candidates"][4]
    agrement = {**sample_context(), "recipient_name": "Ophélie d'Harcourt", "recipient_sex": "F"}
    agrement["request"].update(mandataire_name="Éloïse N'Diaye-Lefèvre")
    return {
        **{
            f"agrement/{name}": agrement
            for name in (
                "accuse_reception",
                "demande_complements",
                "relance_complements",
                "classement_sans_suite",
                "demande_avis",
                "relance_avis",
                "avis_rendu",
                "decision_agrement",
                "refus_agrement",
            )
        },
        "jury/convocation_jury": {**jury, "member": president},
        "jury/resultats_jury": {
            **jury,
            "candidate": male,
            "certificate": sample_certificate(holder_first_names="Hugo", holder_last_name="Ernaux"),
        },
        "jury/pv_a_signer": {**jury, "recipient_name": "Ophélie d'Harcourt", "recipient_sex": "F"},
        "controle/mission_controle": {
            **sample_controle_context(),
            "recipient_name": "Aïssatou Diallo",
            "recipient_sex": "F",
        },
    }


def test_mails_agree_with_the_recipient() -> None:
    contexts = _mail_contexts()
    _, text, _ = render_message("jury/convocation_jury", contexts["jury/convocation_jury"])
    assert "Vous êtes convoquée" in text and "En tant que présidente du jury" in text
    _, text, _ = render_message("jury/resultats_jury", contexts["jury/resultats_jury"])
    assert "le parcours d'Hugo Ernaux (candidat " in text
    _, text, _ = render_message("jury/pv_a_signer", contexts["jury/pv_a_signer"])
    assert "À l'attention d'Ophélie d'Harcourt" in text
    _, text, _ = render_message("agrement/accuse_reception", contexts["agrement/accuse_reception"])
    assert "\nMadame,\n" in text and "Madame, Monsieur" not in text  # the recipient's sex is known
    assert "Nous vous prions d'agréer, Madame, l'expression" in text
    assert "Le service de la certification de l'Organisme certificateur" in text
    _, text, _ = render_message(
        "agrement/accuse_reception", {**contexts["agrement/accuse_reception"], "recipient_sex": None}
    )
    assert "\nMadame, Monsieur,\n" in text  # unknown: both


def test_a_certifier_name_with_another_article(monkeypatch) -> None:
    """A name that takes « le »: « du Conseil… », « au Conseil… », never « de le »."""
    from certification.settings import reset_settings_cache

    monkeypatch.setenv("CQP_CERTIFIER_NAME", "Conseil paritaire de la certification des ACI")
    reset_settings_cache()
    try:
        html = render.render_html("agrement/decision_agrement.html", sample_context())
        _, text, _ = render_message("agrement/accuse_reception", sample_context())
    finally:
        monkeypatch.delenv("CQP_CERTIFIER_NAME")
        reset_settings_cache()
    lines = " ".join(proof.html_lines(html))
    assert "Le Conseil paritaire de la certification des ACI décide" in lines
    assert "Pour le Conseil paritaire" in lines
    assert "Le service de la certification du Conseil paritaire" in text and "de le " not in text


@pytest.mark.parametrize(
    ("line", "fault"),
    [
        ("Le parcours de Aïssatou Diallo.", "« de Aïssatou » sans élision"),
        ("Le dossier de Éloïse N'Diaye-Lefèvre.", "« de Éloïse » sans élision"),
        ("Nous confirmons que il est convoqué.", "« que il » sans élision"),
        ("Décision de Organisme certificateur CQP de la branche des ACI.", "« de Organisme » sans élision"),
        ("Organisme certificateur CQP de la branche des ACI décide d'accorder l'agrément.", "sans article"),
        ("Document generated : décision.pdf", "mot anglais ou valeur brute « Document generated »"),
        ("Mail queued pour la structure.", "mot anglais ou valeur brute « Mail queued »"),
        ("Statut : granted", "mot anglais ou valeur brute « granted »"),
        ("Avis : None", "mot anglais ou valeur brute « None »"),
        ("Présence : True", "mot anglais ou valeur brute « True »"),
        ("État : results_notified", "identifiant technique « results_notified »"),
        ("Lieu : {{ jury.place }}", "reste de gabarit"),
        ("{% if jury.place %}Lieu", "reste de gabarit"),
        ("Structure : Atelier , 69007 Lyon", "valeur vide"),
        ("Le jury réuni le .", "valeur vide"),
        ("Décision n° , notifiée", "valeur vide"),
        ("Ophélie d'Harcourt, président du jury – présente", "accord : « président » après Ophélie d'Harcourt"),
        ("Hugo Ernaux – présente", "accord : « présente » après Hugo Ernaux"),
        ("Candidat : Éloïse N'Diaye-Lefèvre", "accord : « candidat » avant Éloïse N'Diaye-Lefèvre"),
        ("Zoë Ærøskøbing, formateur EPSP", "accord : « formateur » après Zoë Ærøskøbing"),
        ("Ophélie d'Harcourt, né·e le 3 mars 1980", "forme neutre alors que le sexe est connu"),
        ("Hugo Ernaux, candidat(e) libre", "forme neutre alors que le sexe est connu"),
        ("Madame, Monsieur,", "« Madame, Monsieur » alors que le destinataire est connu"),
    ],
)
def test_the_proofreader_catches_each_fault(line: str, fault: str) -> None:
    """Each rule of the proofreading can fail: a line with the fault is reported."""
    found = proof.problems([line], scenario="known", mail=True)
    assert any(fault in problem for problem in found), found


@pytest.mark.parametrize(
    "line",
    [
        "Le parcours d'Aïssatou Diallo, de Zoë Ærøskøbing et d'Ophélie d'Harcourt.",
        "Le jury de Harcourt, de Yannick Le Hir ; le huit.",
        "Pour l'Organisme certificateur CQP de la branche des ACI, Claire Martin",
        "Ophélie d'Harcourt, présidente du jury – présente ; Hugo Ernaux – présent",
        "Lien : https://cqp.example.org/verify/SP-2026-000123?c=abc, fichier livret_accueil_2026.pdf",
    ],
)
def test_the_proofreader_accepts_correct_french(line: str) -> None:
    assert proof.problems([line], scenario="known", mail=True) == []


@pytest.mark.parametrize(("index", "greeting"), [(4, "Monsieur,"), (0, "Madame,"), (None, "Madame, Monsieur,")])
def test_results_mail_greets_the_candidate_by_the_recorded_sex(index, greeting: str) -> None:
    """The flow sends the results to the candidate with no recipient_sex: the candidate's own sex decides."""
    context = {**proof.universe("known"), "recipient_name": "", "recipient_sex": None}
    if index is None:
        context["candidate"] = {**context["candidate"], "sex": None}
    else:
        context["candidate"] = context["jury"]["candidates"][index]
    _, text, html = render_message("jury/resultats_jury", context)
    assert f"\n{greeting}\n" in text and f">{greeting}</p>" in html
    assert f"Nous vous prions d'agréer, {greeting[:-1]}, l'expression" in text


OTHER_CERTIFIERS = [
    "Conseil paritaire de la certification des ACI",
    "Union des employeurs de l'insertion",
    "Hôtel des métiers de l'insertion",
]


@pytest.mark.parametrize("name", OTHER_CERTIFIERS)
def test_every_template_with_another_certifier_name(name: str, monkeypatch) -> None:
    """A certifier configured with a name taking « le » (« du Conseil… », « au Conseil… »), or starting
    with a vowel or a mute h (« l'Union… », « de l'Hôtel… »): every template keeps the article."""
    from certification.settings import reset_settings_cache

    monkeypatch.setenv("CQP_CERTIFIER_NAME", name)
    reset_settings_cache()
    try:
        context = {**proof.universe("known"), "certifier_name": name}
        found = []
        for template in proof.document_templates():
            lines = proof.html_lines(render.render_html(template, context))
            found += [
                f"{template}: {p}"
                for p in proof.problems(lines, scenario="known", certifier=name, neutral_allowed=True)
                if "certificateur" in p or "élision" in p or "de le" in p
            ]
            assert any(name in line for line in lines), template
        for template in proof.mail_templates():
            subject, text, html = render_message(template, context)
            for lines in ([subject], proof.text_lines(text), proof.html_lines(html)):
                found += [
                    f"{template}: {p}"
                    for p in proof.problems(lines, scenario="known", certifier=name, neutral_allowed=True)
                    if "certificateur" in p or "élision" in p or "de le" in p
                ]
    finally:
        monkeypatch.delenv("CQP_CERTIFIER_NAME")
        reset_settings_cache()
    assert found == []


def test_the_proofreader_catches_a_certifier_without_its_article() -> None:
    name = OTHER_CERTIFIERS[0]
    assert proof.problems([f"La décision de le {name}."], scenario="known", certifier=name)
    assert proof.problems([f"{name} décide d'accorder l'agrément."], scenario="known", certifier=name)
    assert proof.problems([f"Délivré par {name}."], scenario="known", certifier=name)
    assert (
        proof.problems(
            [f"Le {name} décide ; pour le {name} ; délivré au {name}, du {name}."], scenario="known", certifier=name
        )
        == []
    )


@pytest.mark.parametrize(
    ("line", "faulty"),
    [
        ("Le dossier de Hélène Martin.", True),
        ("Le dossier d'Hélène Martin.", False),
        ("Le dossier de Yves Martin.", True),
        ("Le dossier de Yannick Le Hir.", False),
        ("Le jury de la Haute-Savoie, le hameau.", False),
        ("La attestation est jointe.", True),
    ],
)
def test_the_elision_check_knows_h_and_y(line: str, faulty: bool) -> None:
    assert any("élision" in p for p in proof.problems([line], scenario="unknown")) is faulty
