"""French grammar helpers: elision, agreement with the sex, the certifier's article, typography."""

from __future__ import annotations

import pytest
from markupsafe import Markup

from documents.french import (
    NBSP,
    NNBSP,
    Certifier,
    NounPhrase,
    agree,
    article_for,
    article_of,
    elide,
    salutation,
    typography,
    typography_html,
)
from documents.render import env


@pytest.mark.parametrize(
    ("article", "word", "expected"),
    [
        ("de", "Éloïse N'Diaye-Lefèvre", "d'Éloïse N'Diaye-Lefèvre"),
        ("de", "Aïssatou", "d'Aïssatou"),
        ("de", "Ophélie d'Harcourt", "d'Ophélie d'Harcourt"),
        ("de", "Zoë Ærøskøbing", "de Zoë Ærøskøbing"),
        ("de", "Ærøskøbing", "d'Ærøskøbing"),
        ("de", "Hélène", "d'Hélène"),
        ("de", "Harcourt", "de Harcourt"),  # h aspiré
        ("de", "Yannick", "de Yannick"),
        ("le", "Organisme", "l'Organisme"),
        ("la", "Île", "l'Île"),
        ("que", "Ulysse", "qu'Ulysse"),
        ("De", "Œuvre", "D'Œuvre"),
        ("de", "Marc", "de Marc"),
    ],
)
def test_elision(article: str, word: str, expected: str) -> None:
    assert elide(article, word) == expected


def test_article_alone_before_a_word_printed_in_bold() -> None:
    assert article_of("Aïssatou") == "d'" and article_of("Zoë") == "de "
    assert article_of("Éloïse", "que") == "qu'" and article_of("Marc", "que") == "que "


@pytest.mark.parametrize(
    ("sex", "expected"),
    [("F", "présidente"), ("M", "président"), (None, "président·e"), ("", "président·e"), ("f", "présidente")],
)
def test_agreement_with_the_recorded_sex(sex, expected: str) -> None:
    assert agree(sex, "président", "présidente") == expected


def test_agreement_defaults_and_neutral_forms() -> None:
    assert agree("F", "présent") == "présente" and agree(None, "né", "née") == "né·e"
    assert agree(None, "Le candidat", "La candidate", "La ou le candidat·e") == "La ou le candidat·e"
    assert agree(None, "formateur", "formatrice") == "formateur·rice"


def test_salutation_only_falls_back_to_both_when_unknown() -> None:
    assert salutation("F") == "Madame," and salutation("M") == "Monsieur,"
    assert salutation(None) == "Madame, Monsieur,"


@pytest.mark.parametrize(
    ("name", "article", "the", "of", "to"),
    [
        (
            "Organisme certificateur CQP",
            None,
            "l'Organisme certificateur CQP",
            "de l'Organisme certificateur CQP",
            "à l'Organisme certificateur CQP",
        ),
        (
            "Conseil de la certification",
            None,
            "le Conseil de la certification",
            "du Conseil de la certification",
            "au Conseil de la certification",
        ),
        ("Fédération des ACI", "la", "la Fédération des ACI", "de la Fédération des ACI", "à la Fédération des ACI"),
        (
            "Association Chantier école",
            "la",
            "l'Association Chantier école",
            "de l'Association Chantier école",
            "à l'Association Chantier école",
        ),
    ],
)
def test_certifier_name_with_its_article(name: str, article, the: str, of: str, to: str) -> None:
    phrase = NounPhrase(name, article_for(name, article))
    assert (phrase.the, phrase.of, phrase.to, phrase.by) == (the, of, to, f"par {the}")
    assert phrase.The == the[0].upper() + the[1:]


def test_signatory_line() -> None:
    certifier = Certifier(
        "Organisme CQP", "l'", signatory_name="Claire Martin", signatory_title="responsable de la certification"
    )
    assert certifier.signed_for == "Pour l'Organisme CQP, Claire Martin, responsable de la certification"


def test_typography_puts_non_breaking_spaces() -> None:
    assert typography("Objet : recours ; « oui » ! Vraiment ?") == (
        f"Objet{NBSP}: recours{NNBSP}; «{NNBSP}oui{NNBSP}»{NNBSP}! Vraiment{NNBSP}?"
    )
    assert typography("https://x.org/a?b=1 et 10:30") == "https://x.org/a?b=1 et 10:30"


def test_typography_of_html_leaves_markup_and_styles() -> None:
    html = '<style>a :hover { color : red; }</style><p style="margin:0">Date : <b>1er mai</b> ; fin</p>'
    out = typography_html(html)
    assert out.startswith("<style>a :hover { color : red; }</style>")
    assert f'<p style="margin:0">Date{NBSP}: <b>1er mai</b>{NNBSP}; fin</p>' in out


def test_filters_escape_names_in_html_templates() -> None:
    template = env.from_string("parcours {{ name | de }} – {{ sex | agree('présent', 'présente') }}")
    assert template.render(name="Éloïse <b>", sex="F") == "parcours d'Éloïse &lt;b&gt; – présente"
    assert env.from_string("{{ certifier.the }}").render() == "l'Organisme certificateur CQP de la branche des ACI"
    assert env.from_string("{{ name | de }}").render(name=Markup("<i>Aïssatou</i>")) == "d'<i>Aïssatou</i>"
