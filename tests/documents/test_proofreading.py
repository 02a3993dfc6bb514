"""Proofreading: every document template and the e-mails rendered with tricky data (names starting
with an accented vowel or an h, a female president, a male candidate, a certifier name starting with
a vowel), checked as a certification officer would before signing:

- no « de », « le », « la », « que » left unelided before a vowel;
- the certifier's name always has its article (« l'Organisme… », « par l'Organisme… »), except
  standing alone (letterhead, e-mail header);
- no English word in the French text;
- agreement with the recorded sex, no « (e) »;
- dates in order (PV signed and certificate issued on or after the jury's date).
"""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from markupsafe import Markup
from pypdf import PdfReader

from documents import render
from documents.formatting import MONTHS_FR
from documents.samples import sample_certificate, sample_context, sample_controle_context, sample_jury_context
from notifications.outbox import render_message
from tests.documents.letters import LETTERS

CERTIFIER = "Organisme certificateur CQP de la branche des ACI"
PEOPLE = [  # (first names, last name, sex)
    ("Éloïse", "N'Diaye-Lefèvre", "F"),
    ("Zoë", "Ærøskøbing", "F"),
    ("Ophélie", "d'Harcourt", "F"),
    ("Aïssatou", "Diallo", "F"),
    ("Hugo", "Ernaux", "M"),
    ("Yannick", "Le Hir", None),
]
ENGLISH = ("generated", "queued", "granted", "pending", "submitted", "refused", "validated", "not_validated",
           "results_notified", "certified", "partial", "withdrawn", "suspended", "expired", "draft",
           "compliant", "action_plan", "upheld", "rejected", "signed", "notified", "Mail", "Document generated")
VOWEL = "AEIOUÉÈÊËÀÂÎÏÔÙÛÜŒÆaeiouéèêëàâîïôùûüœæ"
UNELIDED = re.compile(rf"(?<![\w'’-])([Dd]e|[Ll]e|[Ll]a|[Qq]ue) ([{VOWEL}][\w'’-]*|[Hh](?:é|e|ô|u)[\w'’-]*)")
H_ASPIRE_OK = {"Harcourt", "haut", "hauteur", "huit"}
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
    if template == "pv_jury.html":
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


def _html_lines(html: str) -> list[str]:
    """Text of an HTML document, one line per block, <head> left out."""
    html = re.sub(r"(?s)<head>.*?</head>|<style.*?</style>", "", html)
    html = re.sub(r"(?i)<(br|/p|/div|/li|/tr|/h\d|/td|/th|/dt|/dd|/section|/header|/footer)\b[^>]*>", "\n", html)
    text = Markup(re.sub(r"<[^>]+>", " ", html)).unescape()
    return [" ".join(line.split()) for line in text.split("\n") if line.strip()]


def _problems(lines: list[str]) -> list[str]:
    found = []
    text = " ".join(lines)
    for article, word in UNELIDED.findall(text):
        if word.strip("'’") not in H_ASPIRE_OK:
            found.append(f"« {article} {word} » sans élision")
    for line in lines:
        for match in re.finditer(re.escape(CERTIFIER), line):
            before = line[:match.start()]
            if line.strip() != CERTIFIER and not re.search(r"[lL]['’]$", before) and not before.endswith("– "):
                found.append(f"nom du certificateur sans article : « {line[:120]} »")
    for word in ENGLISH:
        if re.search(rf"(?<![\w/.-]){re.escape(word)}(?![\w/.-])", text):
            found.append(f"mot anglais « {word} »")
    if "(e)" in text:
        found.append("« (e) » au lieu de l'accord")
    return found


def _dates(text: str, after: str) -> list[date]:
    return [date(int(y), MONTHS_FR.index(m) + 1, int(d)) for d, m, y in DATE.findall(text.split(after, 1)[1])][:1] \
        if after in text else []


@pytest.mark.parametrize("template", sorted(LETTERS))
def test_documents_read_as_correct_french(template: str) -> None:
    context = _tricky(template)
    html = render.render_html(template, context)
    assert _problems(_html_lines(html)) == []
    pdf = _pdf_text(render.render_pdf(template, context))
    assert "Organisme certificateur CQP de la branche des ACI" in pdf


def test_pv_agrees_with_the_sex_and_its_dates_are_in_order() -> None:
    text = _pdf_text(render.render_pdf("pv_jury.html", _tricky_jury()))
    assert "Ophélie d'Harcourt, présidente du jury – présente" in text
    assert "Hugo Ernaux – présent" in text
    assert "née le" in text and "né le" in text and "né·e le" in text  # F, M and not recorded
    (held,) = _dates(text, "Date et heure")
    (signed,) = _dates(text, "Procès-verbal signé par Ophélie d'Harcourt")
    assert held <= signed


@pytest.mark.parametrize("kind", ["certificat.html", "attestation_blocs.html"])
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
        **{name: agrement for name in ("accuse_reception", "demande_complements", "relance_complements",
                                       "classement_sans_suite", "demande_avis", "relance_avis", "avis_rendu",
                                       "decision_agrement", "refus_agrement")},
        "convocation_jury": {**jury, "member": president},
        "resultats_jury": {**jury, "candidate": male,
                           "certificate": sample_certificate(holder_first_names="Hugo", holder_last_name="Ernaux")},
        "pv_a_signer": {**jury, "recipient_name": "Ophélie d'Harcourt", "recipient_sex": "F"},
        "mission_controle": {**sample_controle_context(), "recipient_name": "Aïssatou Diallo", "recipient_sex": "F"},
    }


@pytest.mark.parametrize("template", sorted(_mail_contexts()))
def test_mails_read_as_correct_french(template: str) -> None:
    subject, text, html = render_message(template, _mail_contexts()[template])
    assert _problems([subject, *text.splitlines()]) == []
    assert _problems(_html_lines(html)) == []


def test_mails_agree_with_the_recipient() -> None:
    contexts = _mail_contexts()
    _, text, _ = render_message("convocation_jury", contexts["convocation_jury"])
    assert "Vous êtes convoquée" in text and "En tant que présidente du jury" in text
    _, text, _ = render_message("resultats_jury", contexts["resultats_jury"])
    assert "le parcours d'Hugo Ernaux (candidat " in text
    _, text, _ = render_message("pv_a_signer", contexts["pv_a_signer"])
    assert "À l'attention d'Ophélie d'Harcourt" in text
    _, text, _ = render_message("accuse_reception", contexts["accuse_reception"])
    assert "\nMadame,\n" in text and "Madame, Monsieur" not in text  # the recipient's sex is known
    assert "Nous vous prions d'agréer, Madame, l'expression" in text
    assert "Le service de la certification de l'Organisme certificateur" in text
    _, text, _ = render_message("accuse_reception", {**contexts["accuse_reception"], "recipient_sex": None})
    assert "\nMadame, Monsieur,\n" in text  # unknown: both


def test_a_certifier_name_with_another_article(monkeypatch) -> None:
    """A name that takes « le »: « du Conseil… », « au Conseil… », never « de le »."""
    from certification.settings import reset_settings_cache

    monkeypatch.setenv("CQP_CERTIFIER_NAME", "Conseil paritaire de la certification des ACI")
    reset_settings_cache()
    try:
        html = render.render_html("decision_agrement.html", sample_context())
        _, text, _ = render_message("accuse_reception", sample_context())
    finally:
        monkeypatch.delenv("CQP_CERTIFIER_NAME")
        reset_settings_cache()
    lines = " ".join(_html_lines(html))
    assert "Le Conseil paritaire de la certification des ACI décide" in lines
    assert "Pour le Conseil paritaire" in lines
    assert "Le service de la certification du Conseil paritaire" in text and "de le " not in text
