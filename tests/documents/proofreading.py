"""What a certification officer checks before signing a letter or letting an e-mail go, as code.

:func:`universe` builds ONE context holding every key any document or e-mail template uses, filled
with tricky data: names starting with an accented vowel, a ligature or an h (« Éloïse
N'Diaye-Lefèvre », « Zoë Ærøskøbing », « Ophélie d'Harcourt »), a female president, a male
candidate, a structure whose name starts with a vowel and holds « » guillemets, a certifier whose
name starts with a vowel. A template added to ``documents/templates`` or ``notifications/templates``
is rendered with it without any change here; one that needs a key nobody provides fails loudly
(the environments are strict): add the key to the sample of its process in :mod:`documents.samples`.

:func:`problems` lists what an officer would send back, in French, one entry per problem.
"""

from __future__ import annotations

from collections.abc import Callable
import copy
import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, meta
from markupsafe import Markup

from documents import render
from documents.french import H_ASPIRE
from documents.samples import (
    SAMPLE_OTHER_STRUCTURE_NAME,
    sample_activity_context,
    sample_agrement,
    sample_alert,
    sample_appui,
    sample_attestation,
    sample_certificate,
    sample_controle,
    sample_cpf,
    sample_enrollment,
    sample_jury,
    sample_recours,
    sample_request,
    sample_training_context,
    sample_vae,
)
from notifications import outbox

MAIL_DIR = Path(outbox.TEMPLATES_DIR)
DOCUMENT_DIR = Path(render.TEMPLATES_DIR)

CERTIFIER = "Organisme certificateur CQP de la branche des ACI"  # the default: starts with a vowel

# --- The people of the tricky data ----------------------------------------------------------

PRESIDENT = "Ophélie d'Harcourt"  # F, presides the jury, recipient of the e-mails
CANDIDATE = ("Hugo", "Ernaux")  # M, the candidate of the results e-mail and the certificate
APPELLANT = "Éloïse N'Diaye-Lefèvre"  # F, files the recours; mandataire of the agrément request
FORMATEUR = "Zoë Ærøskøbing"  # F, trains the encadrants and leads the appuis
ENCADRANT = ("Yannick", "Le Hir")  # an encadrant: his sex is not recorded (Encadrant has no sex)
CANDIDATES = [  # (first names, last name, sex) of the jury session
    ("Éloïse", "N'Diaye-Lefèvre", "F"),
    ("Zoë", "Ærøskøbing", "F"),
    ("Ophélie", "d'Harcourt", "F"),
    ("Aïssatou", "Diallo", "F"),
    (*CANDIDATE, "M"),
    ("Yannick", "Le Hir", "M"),
]
MEMBERS = [  # (name, sex, college, president)
    (PRESIDENT, "F", "employeur", True),
    ("Hugo Ernaux", "M", "employeur", False),
    ("Aïssatou Diallo", "F", "salarie", False),
    ("Yannick Le Hir", "M", "salarie", False),
]

#: Scenarios: every template is rendered with each, to go through its branches.
SCENARIOS = {
    "known": {},  # every sex recorded
    "unknown": {"unknown_sex": True, "controle": "compliant", "recours": "rejected"},
    "suspension": {
        "controle": "suspension",
        "recours": "upheld",
        "attestation": True,
        "rescheduled": True,
        "days_left": 1,
        "last_reminder": True,
    },
    "withdrawal": {"controle": "withdrawal", "recours": "inadmissible", "days_left": -3, "candidate": 1},
}


def proofread_jury(options: dict[str, Any], sex: Callable[[str | None], str | None]) -> tuple[dict, dict, dict]:
    """The jury of the proofreading (its members and candidates named and sexed), the candidate the
    letters are about and his certificate (or attestation)."""
    from flows.jury import outcome_label

    jury = sample_jury(
        len(CANDIDATES),
        president_name=PRESIDENT,
        pv_signed_by=PRESIDENT,
        place="Hôtel de la Région, 1 esplanade François-Mitterrand, 69002 Lyon",
    )
    jury["members"] = [
        {
            "name": name,
            "sex": sex(member_sex),
            "college": college,
            "is_president": president,
            "present": True,
            "college_label": "collège employeurs" if college == "employeur" else "collège salariés",
        }
        for name, member_sex, college, president in MEMBERS
    ]
    for candidate, (first, last, candidate_sex) in zip(jury["candidates"], CANDIDATES):
        candidate.update(
            first_names=first,
            last_name=last,
            sex=sex(candidate_sex),
            structure_name=SAMPLE_OTHER_STRUCTURE_NAME,
            outcome_label=outcome_label(candidate["outcome"], sex(candidate_sex)),
            email="candidat@example.org",
            structure_email="contact@aci-exemple.fr",
            certificate=None,
        )
    candidate = jury["candidates"][options.get("candidate", 4)]
    holder = {"holder_first_names": CANDIDATE[0], "holder_last_name": CANDIDATE[1], "holder_sex": sex("M")}
    certificate = sample_attestation(**holder) if options.get("attestation") else sample_certificate(**holder)
    candidate["certificate"] = certificate
    return jury, candidate, certificate


def universe(scenario: str = "known") -> dict[str, Any]:
    """The context of every template, for ``scenario`` (see :data:`SCENARIOS`)."""
    options = SCENARIOS[scenario]
    unknown = options.get("unknown_sex", False)

    def sex(value: str | None) -> str | None:
        return None if unknown else value

    jury, candidate, certificate = proofread_jury(options, sex)

    days_left = options.get("days_left", 5)
    controle = sample_controle(
        controleur_name="Aïssatou Diallo",
        controleur_sex=sex("F"),
        structure_name=SAMPLE_OTHER_STRUCTURE_NAME,
        days_left=days_left,
        visit_sequence=1 if options.get("rescheduled") else 0,
    )
    decision = options.get("controle", "action_plan")
    controle["decision"] = decision
    if decision == "compliant":  # maintained without reason (the plan's fields stay for the plan's letter)
        controle.update(decision_reason=None)
    training_context = sample_training_context(
        schedule_sequence=1 if options.get("rescheduled") else 0, formateur_name=FORMATEUR, formateur_sex=sex("F")
    )
    enrollment = sample_enrollment(
        first_names=ENCADRANT[0],
        last_name=ENCADRANT[1],
        name=" ".join(ENCADRANT),
        structure_name=SAMPLE_OTHER_STRUCTURE_NAME,
    )
    training_context["attestation"]["structure_name"] = SAMPLE_OTHER_STRUCTURE_NAME
    context: dict[str, Any] = {
        **sample_activity_context(),
        "certifier_name": CERTIFIER,
        "today": jury["pv_signed_at"].date(),
        "recipient_name": "" if unknown else PRESIDENT,
        "recipient_sex": sex("F"),
        "action_url": "https://cqp.example.org/app/dossiers/1",
        "attachment_names": ["décision.pdf"],
        "days_left": days_left,
        "avis_deadline": sample_request()["avis_deadline"],
        "mail_reference": "jury:1",
        "request": sample_request(
            mandataire_name=APPELLANT,
            structure_name=SAMPLE_OTHER_STRUCTURE_NAME,
            avis="défavorable" if scenario == "suspension" else "favorable",
        ),
        "controle": controle,
        "vae": sample_vae(
            structure_name=SAMPLE_OTHER_STRUCTURE_NAME,
            days_left=days_left,
            decision="non_recevable" if scenario in ("suspension", "withdrawal") else "recevable",
            candidate_name="Éloïse N'Diaye-Lefèvre",
            candidate_sex=sex("F"),
            accompanist_name=None if unknown else "Hélène Dubois",
        ),
        "agrement": sample_agrement(structure_name=SAMPLE_OTHER_STRUCTURE_NAME, days_left=days_left),
        "jury": jury,
        "member": jury["members"][0],
        "candidate": candidate,
        "certificate": certificate,
        "recours": sample_recours(
            candidate_name=APPELLANT,
            candidate_sex=sex("F"),
            structure_name=SAMPLE_OTHER_STRUCTURE_NAME,
            decision=options.get("recours", "rejected"),
        ),
        "flag_reason": "Agrément de la structure retiré le 2 juin 2026.",
        "structure_name": SAMPLE_OTHER_STRUCTURE_NAME,
        "listed": jury["candidates"],
        "documents_attached": True,
        "training": training_context["training"],
        "enrollment": enrollment,
        "attestation": training_context["attestation"],
        "appui": sample_appui(
            formateur_name=FORMATEUR,
            formateur_sex=sex("F"),
            requested_by="Aïssatou Diallo",
            visit_sequence=1 if options.get("rescheduled") else 0,
        ),
        "cpf": sample_cpf(
            last=options.get("last_reminder", False),
            deposited_on=sample_cpf()["produced_on"] if options.get("last_reminder") else None,
            export_error="Le flux est refusé par le schéma : champ idClient manquant."
            if options.get("last_reminder")
            else None,
        ),
        "alert": sample_alert(status="failed" if options.get("last_reminder") else "pending"),
    }
    return copy.deepcopy(context)


def people(scenario: str) -> dict[str, str]:
    """Full name -> recorded sex of the people :func:`universe` names (the encadrant has none)."""
    if SCENARIOS[scenario].get("unknown_sex"):
        return {}
    found = {f"{first} {last}": sex for first, last, sex in CANDIDATES}
    found.update({name: sex for name, sex, _, _ in MEMBERS})
    found.update({PRESIDENT: "F", APPELLANT: "F", FORMATEUR: "F", "Aïssatou Diallo": "F"})
    return found


# --- Templates ------------------------------------------------------------------------------


def neutral_allowed(env: Environment, directory: Path, name: str) -> bool:
    """A template about an encadrant may use neutral forms: the sex of encadrants is not recorded."""
    sources = reachable(env, directory, [name])
    return any("enrollment." in (directory / source).read_text(encoding="utf-8") for source in sources)


def _references(env: Environment, directory: Path, name: str) -> set[str]:
    source = (directory / name).read_text(encoding="utf-8")
    return {ref for ref in meta.find_referenced_templates(env.parse(source)) if ref}


def template_files(directory: Path, suffixes: tuple[str, ...]) -> list[str]:
    """The template names under ``directory``, its process folders included (``controle/…``)."""
    return sorted(
        p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file() and p.name.endswith(suffixes)
    )


def entry_points(env: Environment, directory: Path, suffixes: tuple[str, ...]) -> list[str]:
    """The templates rendered by the code: the files no other template extends, includes or imports."""
    files = template_files(directory, suffixes)
    referenced = set().union(*(_references(env, directory, name) for name in files))
    return [name for name in files if name not in referenced]


def reachable(env: Environment, directory: Path, roots: list[str]) -> set[str]:
    """``roots`` and every template they extend, include or import, recursively."""
    seen, todo = set(), list(roots)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += _references(env, directory, name)
    return seen


MAIL_PARTS = (".subject.j2", ".txt.j2", ".html.j2")


def mail_templates() -> list[str]:
    """Every e-mail of ``notifications/templates`` (process folders included): the names with a subject,
    text or HTML part."""
    names = {name.split(".")[0] for name in template_files(MAIL_DIR, MAIL_PARTS)}
    return sorted(n for n in names if not n.rsplit("/", 1)[-1].startswith("_"))


def document_templates() -> list[str]:
    """Every PDF template of ``documents/templates`` (the HTML files no other one builds on)."""
    return entry_points(render.env, DOCUMENT_DIR, (".html",))


def document_template_of(kind: str) -> str | None:
    """The PDF template of the document ``kind``: ``<kind>.html``, at the top or in a process's folder."""
    return next((name for name in document_templates() if name.rsplit("/", 1)[-1] == f"{kind}.html"), None)


# --- Text of a rendering --------------------------------------------------------------------

_BLOCK_TAGS = re.compile(
    r"(?i)<(?:br|/?p|/?div|/?li|/?ul|/?ol|/?tr|/?h\d|/?td|/?th|dt|/dd|/?section|/?header|"
    r"/?footer|/?table|/?tbody|/?thead|/?caption|/?figure|/?figcaption|/?svg)\b[^>]*>"
)


def html_lines(html: str) -> list[str]:
    """Text of an HTML document, one line per block; <head>, styles and SVG charts left out.
    Inline tags (strong, em, a, span) join their text without a space: « <strong>X</strong>. »
    reads « X. »."""
    html = re.sub(r"(?is)<head>.*?</head>|<style.*?</style>|<script.*?</script>|<svg.*?</svg>", "\n", html)
    html = re.sub(r"(?i)</dt>", " ", html)  # « Agrément n° » and its value on one line
    html = _BLOCK_TAGS.sub("\n", html)
    text = Markup(re.sub(r"<[^>]+>", "", html)).unescape()
    return [re.sub(r"[ \t\r]+", " ", line).strip() for line in text.split("\n") if line.strip()]  # keeps the NBSPs


def pdf_lines(data: bytes) -> list[str]:
    """Text of a PDF as the extractor gives it, line by line."""
    import io

    from pypdf import PdfReader

    text = "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)
    return [re.sub(r"[ \t\r]+", " ", line).strip() for line in text.split("\n") if line.strip()]


def text_lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines() if line.strip()]


# --- The checks -----------------------------------------------------------------------------

VOWEL = "AEIOUYÉÈÊËÀÂÎÏÔÙÛÜŒÆØÅaeiouéèêëàâîïôùûüœæøå"
UNELIDED = re.compile(
    rf"(?<![\w'’-])([Dd]e|[Ll]e|[Ll]a|[Qq]ue|[Jj]usque|[Ll]orsque|[Pp]uisque) "
    rf"([{VOWEL}][\w'’-]*|[Hh][\w'’-]*)"
)
#: Words after which « de », « le »… stay whole: h aspiré (documents.french.H_ASPIRE) and « Le Hir »,
#: a surname whose « Le » is not an article.
NO_ELISION = H_ASPIRE | {"hir"}
Y_CONSONANT = re.compile(r"^[Yy][aeiouàâéèêëîïôöûü]")  # « de Yannick », « le yaourt »; but « d'Yves »
ENGLISH = (
    # timeline and technical words
    "Document generated",
    "Mail queued",
    "generated",
    "queued",
    "pending",
    "granted",
    "refused",
    "submitted",
    "scheduled",
    "deliberated",
    "signed",
    "notified",
    "results_notified",
    "validated",
    "not_validated",
    "previously_acquired",
    "certified",
    "partial",
    "withdrawn",
    "withdrawal",
    "suspended",
    "suspension_lifted",
    "expired",
    "expiring",
    "draft",
    "compliant",
    "action_plan",
    "upheld",
    "rejected",
    "inadmissible",
    "decided",
    "cancelled",
    "completed",
    "enrolled",
    "requested",
    "assigned",
    "reported",
    "failed",
    "sending",
    "sent",
    "periodic",
    "sampling",
    "on_demand",
    "revoked",
    "valid",
    "certificate",
    "attestation_blocs",
    # values printed raw
    "None",
    "True",
    "False",
    "null",
    "undefined",
    "nan",
)
_ENGLISH = re.compile(r"(?<![\w/.@-])(" + "|".join(re.escape(w) for w in ENGLISH) + r")(?![\w/.@-])")
_SNAKE_CASE = re.compile(r"(?<![\w/.@-])[a-z]+(?:_[a-z]+)+(?![\w/.@-])")  # an identifier: « results_notified »
_JINJA = re.compile(r"\{\{|\}\}|\{%|%\}|\{#|#\}")
_EMPTY_PLACEHOLDER = re.compile(r"[ \u00a0\u202f][,.](?=\s|$)|\(\s*\)|«[\s\u202f]*»|n°\s*(?:[,.;)]|$)|\S {2,}\S")

#: (masculine, feminine) forms that must agree with a person's recorded sex.
GENDERED = [
    ("président", "présidente"),
    ("présent", "présente"),
    ("absent", "absente"),
    ("né", "née"),
    ("candidat", "candidate"),
    ("convoqué", "convoquée"),
    ("désigné", "désignée"),
    ("formateur", "formatrice"),
    ("contrôleur", "contrôleuse"),
    ("inscrit", "inscrite"),
    ("Monsieur", "Madame"),
]
#: Neutral forms (« président·e », « (e) », « La ou le candidat·e »), right only when the sex is unknown.
NEUTRAL = re.compile(r"\w·\w|\(e\)|\(ne\)|\bLa ou le\b|\bla ou le\b|\belle ou il\b|\bElle ou il\b")


def _unelided(text: str) -> list[str]:
    found = []
    for article, word in UNELIDED.findall(text):
        first = re.split(r"[-'’]", word.lower(), maxsplit=1)[0]
        if first in NO_ELISION or Y_CONSONANT.match(word):
            continue
        if first[:1] == "h" and first[1:2] not in "aâàeéèêëiîïoôuûü":
            continue  # « h » then a consonant: an abbreviation (« le HLM »), not a word starting with a mute h
        found.append(f"« {article} {word} » sans élision")
    return found


_ARTICLE_BEFORE = re.compile(r"(?:[lL]['’]|\b(?:[lL][ea]|[dD]u|[aA]ux?|[dD]es) )$")


def _certifier_without_article(lines: list[str], certifier: str) -> list[str]:
    """The certifier's name is a common noun phrase (« l'Organisme… », « du Conseil… »): it always
    takes its article, except standing alone (letterhead) or after a dash (signature block)."""
    found = []
    for line in lines:
        for match in re.finditer(re.escape(certifier), line):
            before = line[: match.start()]
            if line.strip() != certifier and not _ARTICLE_BEFORE.search(before) and not before.endswith("– "):
                found.append(f"nom du certificateur sans article : « {line[:120]} »")
        if re.search(rf"\b(?:[dD]e|[àÀ]) (?:le|les) {re.escape(certifier)}", line):
            found.append(f"« de le » / « à le » au lieu de « du » / « au » : « {line[:120]} »")
    return found


def _agreement(lines: list[str], known: dict[str, str]) -> list[str]:
    """A person's name next to a form of the other sex (« Ophélie d'Harcourt, président »,
    « Candidat : Éloïse… »): looked for on the person's line, up to the neighbouring name."""
    found = []
    names = sorted(known, key=len, reverse=True)
    any_name = re.compile("|".join(re.escape(n) for n in names)) if names else None
    for line in lines:
        if any_name is None:
            break
        matches = list(any_name.finditer(line))
        for index, match in enumerate(matches):
            sex = known[match.group(0)]
            start = matches[index - 1].end() if index else max(0, match.start() - 30)
            end = matches[index + 1].start() if index + 1 < len(matches) else match.end() + 60
            before = line[max(start, match.start() - 30) : match.start()]
            after = line[match.end() : min(end, match.end() + 60)]
            after = re.split(r"[.;]\s|\s[–—]\s(?!présent|absent)", after, maxsplit=1)[0]
            for masculine, feminine in GENDERED:
                wrong = masculine if sex == "F" else feminine
                for window, where in ((before, "avant"), (after, "après")):
                    if where == "avant" and not re.search(rf"\b{wrong}\b\s*[:\u00a0\u202f]*\s*$", window, re.I):
                        continue
                    if re.search(rf"(?<![\w·]){re.escape(wrong)}(?![\w·])", window, re.I):
                        found.append(f"accord : « {wrong} » {where} {match.group(0)} ({sex}) : « {line[:140]} »")
    return found


def problems(
    lines: list[str],
    *,
    scenario: str | None = None,
    known: dict[str, str] | None = None,
    neutral_allowed: bool = False,
    layout: bool = True,
    mail: bool = False,
    certifier: str = CERTIFIER,
) -> list[str]:
    """What an officer would send back in these lines of a rendered document or e-mail.

    ``known``: full name -> recorded sex of the people named (default: those of ``scenario``);
    ``neutral_allowed``: the text is about someone whose sex is not recorded (an encadrant);
    ``layout``: also check empty placeholders (not on text extracted from a PDF, whose spacing
    is the extractor's); ``mail``: the greeting must agree with a known recipient.
    """
    found: list[str] = []
    text = "\n".join(lines)  # a line is a block: « Reçue le » and the letterhead below are not one sentence
    found += _unelided(text)
    found += _certifier_without_article(lines, certifier)
    found += [f"mot anglais ou valeur brute « {w} »" for w in sorted(set(_ENGLISH.findall(text)))]
    found += [f"identifiant technique « {w} »" for w in sorted(set(_SNAKE_CASE.findall(text)))]
    found += [f"reste de gabarit : « {line[:120]} »" for line in lines if _JINJA.search(line)]
    if layout:
        found += [f"valeur vide : « {line[:120]} »" for line in lines if _EMPTY_PLACEHOLDER.search(line)]
    known = people(scenario) if known is None and scenario else known or {}
    if known:
        if not neutral_allowed:
            found += [
                f"forme neutre alors que le sexe est connu : « {line[:120]} »" for line in lines if NEUTRAL.search(line)
            ]
        found += _agreement(lines, known)
        if mail and "Madame, Monsieur" in text:
            found.append("« Madame, Monsieur » alors que le destinataire est connu")
    elif "(e)" in text:
        found.append("« (e) » au lieu de la forme neutre")
    return found


_TYPOGRAPHY = [
    (re.compile(r" [:;!?»]"), "espace ordinaire avant « : ; ! ? » » (espace insécable attendue)"),
    (re.compile(r"« "), "espace ordinaire après « « » (espace insécable attendue)"),
    (
        re.compile(r"[^\s\u00a0\u202f/]([;!?])(?=\s|$)|(?<![\s\u00a0\u202f])(?<!https)(?<!http):(?=\s|$)"),
        "ponctuation haute collée au mot",
    ),
    (re.compile(r"«(?![\u202f\u00a0])|(?<![\u202f\u00a0])»"), "guillemet sans espace insécable"),
]


def typography_faults(lines: list[str]) -> list[str]:
    """French typography of a rendered text: a non-breaking space (U+00A0 before « : », U+202F
    before « ; ! ? » and inside « ») and never an ordinary one, never none."""
    return [
        f"{label} : « {line[:120]} »"
        for line in lines
        for pattern, label in _TYPOGRAPHY
        if pattern.search(line.replace("://", "//"))
    ]
