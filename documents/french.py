"""French grammar helpers for letters and e-mails: elision, agreement with the sex, typography.

Registered as Jinja2 filters and globals by :func:`documents.render.make_environment`, so that
every document and e-mail template writes ``{{ name | de }}`` ("d'Aïssatou", "de Zoë"),
``{{ sex | agree("président", "présidente") }}`` and the certifier's name with its article
(``{{ certifier.the }}`` -> "l'Organisme…"). :func:`typography` puts the French non-breaking
spaces before « : ; ! ? » and inside « » of a rendered text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from jinja2 import pass_eval_context
from markupsafe import Markup, escape

NNBSP = "\u202f"  # espace fine insécable: before ; ! ? and inside « »
NBSP = "\u00a0"  # espace insécable: before :

# Words starting with an h that is *not* mute (h aspiré): no elision before them.
H_ASPIRE = frozenset(
    {
        "hache",
        "haie",
        "hall",
        "halle",
        "hameau",
        "handicap",
        "hangar",
        "harcourt",
        "hardi",
        "haut",
        "haute",
        "hauteur",
        "havre",
        "hérisson",
        "héros",
        "hêtre",
        "hibou",
        "hollande",
        "homard",
        "honte",
        "hors",
        "hublot",
        "huit",
        "hurlement",
        "hutte",
    }
)
# Words starting with a vowel letter that is pronounced as a consonant: no elision either.
VOWEL_AS_CONSONANT = frozenset({"yaourt", "yacht", "yoga", "ouistiti", "onze", "onzième", "ouate"})

SEXES = ("M", "F")


def _base_letter(char: str) -> str:
    """``"É"`` -> ``"e"``, ``"Æ"`` -> ``"a"``: the letter without accent, lower case."""
    decomposed = unicodedata.normalize("NFD", char)[:1].lower()
    return {"æ": "a", "œ": "o", "ø": "o"}.get(decomposed, decomposed)


def starts_with_vowel_sound(word: str) -> bool:
    """Whether elision applies before ``word`` (vowel or mute h, accents included).

    ``"Éloïse"``, ``"Aïssatou"``, ``"Ophélie"``, ``"Hélène"``, ``"Ærøskøbing"`` -> True;
    ``"Zoë"``, ``"Harcourt"`` (h aspiré), ``"Yannick"`` -> False.
    """
    text = str(word or "").lstrip(" \"'«\u00a0\u202f(")
    if not text:
        return False
    first_word = re.split(r"[\s\-'’]", text, maxsplit=1)[0].lower()
    if first_word in VOWEL_AS_CONSONANT:
        return False
    letter = _base_letter(text[0])
    if letter in "aeiou":
        return True
    if letter == "h":
        return first_word not in H_ASPIRE and unicodedata.normalize("NFD", first_word) not in H_ASPIRE
    return False


def elide(article: str, word: Any) -> str:
    """``elide("de", "Aïssatou")`` -> ``"d'Aïssatou"``; ``elide("de", "Zoë")`` -> ``"de Zoë"``.

    Elides de, le, la, que, je, ne, se, me, te, jusque, lorsque, puisque (the final e or a).
    The article keeps its capital letter: ``elide("De", "Éloïse")`` -> ``"D'Éloïse"``.
    """
    text = str(word) if word is not None else ""
    if article.lower() in {
        "de",
        "le",
        "la",
        "que",
        "je",
        "ne",
        "se",
        "me",
        "te",
        "jusque",
        "lorsque",
        "puisque",
    } and starts_with_vowel_sound(text):
        return f"{article[:-1]}'{text}"
    return f"{article} {text}"


def article_of(word: Any, article: str = "de") -> str:
    """The article alone, elided or not, to put before a word printed separately (in bold):
    ``article_of("Aïssatou")`` -> ``"d'"``, ``article_of("Zoë")`` -> ``"de "``."""
    text = str(word) if word is not None else ""
    return elide(article, text)[: len(elide(article, text)) - len(text)]


def _elision_filter(article: str):
    """A Jinja filter ``{{ name | de }}``; in an autoescaped template the name is escaped,
    the elided article is not (``d'`` stays an apostrophe, not ``&#39;``)."""

    @pass_eval_context
    def apply(eval_ctx: Any, word: Any) -> Any:
        if not eval_ctx.autoescape:
            return elide(article, word)
        text = word if isinstance(word, Markup) else escape(str(word) if word is not None else "")
        return Markup(article_of(Markup(text).striptags(), article)) + text

    apply.__name__ = f"elide_{article}"
    return apply


# --- Agreement with the recorded sex -------------------------------------------------------


def normalized_sex(sex: Any) -> str | None:
    """``"F"``/``"f"``/``"femme"`` -> ``"F"``, ``"M"`` -> ``"M"``, anything else -> None (unknown)."""
    text = str(sex or "").strip().upper()[:1]
    if text in {"F", "W"}:
        return "F"
    if text in {"M", "H"}:
        return "M"
    return None


def neutral_form(masculine: str, feminine: str) -> str:
    """``("président", "présidente")`` -> ``"président·e"``; unrelated forms -> ``"masculine ou feminine"``."""
    if feminine.startswith(masculine):
        return f"{masculine}·{feminine[len(masculine) :]}"
    common = 0
    while common < min(len(masculine), len(feminine)) and masculine[common] == feminine[common]:
        common += 1
    if common >= 3:
        return f"{masculine}·{feminine[common:]}"
    return f"{masculine} ou {feminine}"


def agree(sex: Any, masculine: str, feminine: str | None = None, neutral: str | None = None) -> str:
    """The form agreed with the sex: ``agree("F", "président", "présidente")`` -> ``"présidente"``.

    ``feminine`` defaults to ``masculine + "e"``; an unknown sex gives the neutral form
    (``"président·e"``, or ``neutral`` when given).
    """
    feminine = feminine if feminine is not None else masculine + "e"
    match normalized_sex(sex):
        case "M":
            return masculine
        case "F":
            return feminine
    return neutral if neutral is not None else neutral_form(masculine, feminine)


def civility(sex: Any) -> str:
    """``"Madame"``, ``"Monsieur"``, or ``""`` when the sex is unknown."""
    return {"M": "Monsieur", "F": "Madame"}.get(normalized_sex(sex) or "", "")


def salutation(sex: Any = None, known: bool = True) -> str:
    """Opening of a letter: ``"Madame,"``, ``"Monsieur,"``; ``"Madame, Monsieur,"`` when unknown."""
    title = civility(sex) if known else ""
    return f"{title}," if title else "Madame, Monsieur,"


def addressed(name: Any, sex: Any = None) -> str:
    """``addressed("Éloïse Martin", "F")`` -> ``"Madame Éloïse Martin"``; unknown sex: the name alone."""
    title = civility(sex)
    return f"{title} {name}" if title else str(name or "")


# --- The certifier, with its article -------------------------------------------------------


def article_for(name: str, article: str | None = None) -> str:
    """The definite article of a name: ``article`` when given, else ``"l'"`` before a vowel sound,
    ``"le"`` otherwise (an explicit ``"la"`` or ``"les"`` is kept)."""
    if article:
        article = article.strip()
        return (
            "l'" if article in {"l'", "l’"} or (article in {"le", "la"} and starts_with_vowel_sound(name)) else article
        )
    return "l'" if starts_with_vowel_sound(name) else "le"


@dataclass(frozen=True)
class NounPhrase:
    """A name used with its definite article: ``the``, ``of`` (de), ``by`` (par), ``to`` (à)."""

    name: str
    article: str

    def _joined(self, article: str) -> str:
        """The name after its article; Markup, so that autoescaped templates keep the apostrophe
        (the name is escaped: a configured « & » prints as such in HTML)."""
        return Markup(article if article.endswith("'") else f"{article} ") + self.name

    @property
    def the(self) -> str:
        """``"l'Organisme…"``, ``"le Conseil…"``, ``"la Fédération…"``."""
        return self._joined(self.article)

    @property
    def The(self) -> str:  # noqa: N802 - reads as a capitalized sentence start in templates
        text = self.the
        return Markup(text[:1].upper()) + text[1:]

    @property
    def of(self) -> str:
        """``"de l'Organisme…"``, ``"du Conseil…"``, ``"de la Fédération…"``, ``"des …"``."""
        return {"le": Markup("du ") + self.name, "les": Markup("des ") + self.name}.get(self.article, "de " + self.the)

    @property
    def by(self) -> str:
        return "par " + self.the

    @property
    def to(self) -> str:
        """``"à l'Organisme…"``, ``"au Conseil…"``, ``"aux …"``."""
        return {"le": Markup("au ") + self.name, "les": Markup("aux ") + self.name}.get(self.article, "à " + self.the)

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Certifier(NounPhrase):
    """The certification body as configured: its name with article, address, signatory, logo."""

    address: str = ""
    signatory_name: str = ""
    signatory_title: str = ""
    signatory_sex: str | None = None
    logo_path: str | None = None

    @property
    def signed_for(self) -> str:
        """``"Pour l'organisme certificateur, Claire Martin, responsable de la certification"``."""
        parts = ["Pour " + self.the]
        parts += [escape(part) for part in (self.signatory_name, self.signatory_title) if part]
        return Markup(", ").join(parts)


def certifier_from_settings(settings: Any = None) -> Certifier:
    if settings is None:
        from certification.settings import get_settings

        settings = get_settings()
    name = settings.certifier_name
    return Certifier(
        name=name,
        article=article_for(name, settings.certifier_article),
        address=settings.certifier_address,
        signatory_name=settings.signatory_name,
        signatory_title=settings.signatory_title,
        signatory_sex=settings.signatory_sex,
        logo_path=settings.certifier_logo,
    )


class _CurrentCertifier:
    """Jinja global ``certifier``: the configured certifier, read at render time (settings may change)."""

    def __getattr__(self, attribute: str) -> Any:
        return getattr(certifier_from_settings(), attribute)

    def __str__(self) -> str:
        return str(certifier_from_settings())


CURRENT_CERTIFIER = _CurrentCertifier()


# --- Typography ----------------------------------------------------------------------------

_BEFORE_HIGH_PUNCTUATION = re.compile(r"[ \u00a0\u202f]+([;!?»])")
_BEFORE_COLON = re.compile(r"[ \u00a0\u202f]+:(?=[\s<]|$)")
_AFTER_GUILLEMET = re.compile(r"«[ \u00a0\u202f]+")
_HTML_TAG_OR_TEXT = re.compile(r"(<[^>]*>)")
_RAW_HTML_BLOCK = re.compile(r"(<(style|script)\b.*?</\2>)", re.S | re.I)


def _typography_text(text: str) -> str:
    text = _BEFORE_HIGH_PUNCTUATION.sub(lambda m: NNBSP + m.group(1), text)
    text = _BEFORE_COLON.sub(NBSP + ":", text)
    return _AFTER_GUILLEMET.sub("«" + NNBSP, text)


def typography(text: str) -> str:
    """Non-breaking spaces of French typography in a text: ``"Objet : x ; « y »"`` ->
    ``"Objet\u00a0: x\u202f; «\u202fy\u202f»"``. Only spaces already typed are replaced."""
    return _typography_text(str(text))


def typography_html(html: str) -> str:
    """:func:`typography` on the text of an HTML document, leaving tags, styles and scripts alone."""
    out, position = [], 0
    for raw in _RAW_HTML_BLOCK.finditer(html):
        out.append(_typography_outside_tags(html[position : raw.start()]))
        out.append(raw.group(0))
        position = raw.end()
    out.append(_typography_outside_tags(html[position:]))
    return "".join(out)


def _typography_outside_tags(html: str) -> str:
    return "".join(
        piece if piece.startswith("<") else _typography_text(piece) for piece in _HTML_TAG_OR_TEXT.split(html)
    )


def typography_filter(value: Any) -> Any:
    return Markup(typography_html(str(value))) if isinstance(value, Markup) else typography(value)


def upper_first(text: str) -> str:
    """The first letter in capital, the rest as written (Jinja's ``capitalize`` lowers the rest:
    « Dépôt de la demande de vae », « (open badges) »)."""
    return text[:1].upper() + text[1:] if text else text


FRENCH_FILTERS = {
    "upper_first": upper_first,
    "de": _elision_filter("de"),
    "De": _elision_filter("De"),
    "le": _elision_filter("le"),
    "la": _elision_filter("la"),
    "que": _elision_filter("que"),
    "article_of": article_of,
    "agree": agree,
    "civility": civility,
    "salutation": salutation,
    "addressed": addressed,
    "typo": typography_filter,
}

FRENCH_GLOBALS = {
    "elide": elide,
    "agree": agree,
    "civility": civility,
    "salutation": salutation,
    "certifier": CURRENT_CERTIFIER,
}
