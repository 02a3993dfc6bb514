"""A référentiel file: YAML (or JSON, which is YAML), one file per version of a certification,
validated by pydantic models. Every error names its place: the file, the line (the YAML is composed
with its marks, so each field path has the line it was written on) and the field path, in French:
« CQP_SP-1.yaml, ligne 12 : blocs[1].code : champ obligatoire » (list positions count from 1)."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from certification.errors import ValidationFailed

REGISTRY_CODE = re.compile(r"(RNCP|RS)(\d{1,16})")
BLOC_CODE = r"^[A-Z0-9][A-Z0-9_-]{0,19}$"
CERTIFICATION_CODE = r"^[A-Z0-9][A-Z0-9_]{0,19}$"
# The mark of a content the certificateur has still to write: a version holding it cannot be activated.
TO_COMPLETE = "à compléter par le certificateur"
MAX_BYTES = 512 * 1024

Path = tuple[str | int, ...]


class _Loader(yaml.SafeLoader):
    """Safe YAML in which dates stay text: pydantic reads them, and a wrong one (2027-13-01) is
    reported at its place like any other error."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class ReferentielInvalid(ValidationFailed):
    """A file refused; ``errors`` lists every problem, each naming its place."""

    code = "referentiel_invalid"

    def __init__(self, errors: list[str]):
        shown = errors[:10] + ([f"… et {len(errors) - 10} autre(s) erreur(s)"] if len(errors) > 10 else [])
        super().__init__("Fichier de référentiel refusé :\n" + "\n".join(shown), details={"errors": errors})
        self.errors = errors


def _text(value: Any) -> Any:
    """YAML reads ``version: 2019`` as a number: a label is text all the same."""
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CertificationIn(_Model):
    code: str = Field(pattern=CERTIFICATION_CODE)
    title: str = Field(min_length=1, max_length=200)


class RegistryIn(_Model):
    kind: Literal["RNCP", "RS"] | None = None
    code: str = Field(default="", max_length=40)

    @model_validator(mode="after")
    def _code_of_kind(self) -> RegistryIn:
        if self.code:
            match = REGISTRY_CODE.fullmatch(self.code)
            if match is None:
                raise ValueError("code : « RNCP » ou « RS » suivi du numéro de la fiche, par exemple RS5286")
            if self.kind and match.group(1) != self.kind:
                raise ValueError(f"le code {self.code} n'est pas du répertoire {self.kind}")
            self.kind = match.group(1)  # type: ignore[assignment]
        return self


class BlocIn(_Model):
    code: str = Field(pattern=BLOC_CODE)
    title: str = Field(min_length=1, max_length=300)
    competences: list[str] = Field(default_factory=list)
    assessment_methods: list[str] = Field(default_factory=list)
    criteria: list[str] = Field(default_factory=list)


class EquivalenceIn(_Model):
    """A bloc of the earlier version (``from``) held by a returning candidate counts for the blocs
    ``to`` of this version."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, populate_by_name=True)

    from_: str = Field(alias="from", pattern=BLOC_CODE)
    to: list[str] = Field(min_length=1)


class CertificateRuleIn(_Model):
    all_blocs: bool = True
    required_blocs: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _some_rule(self) -> CertificateRuleIn:
        if self.all_blocs and self.required_blocs:
            raise ValueError("« all_blocs: true » ou une liste « required_blocs », pas les deux")
        if not self.all_blocs and not self.required_blocs:
            raise ValueError("sans « all_blocs: true », la liste « required_blocs » est obligatoire")
        return self


class ReferentielFile(_Model):
    """One version of a certification's référentiel."""

    certification: CertificationIn
    version: str = Field(min_length=1, max_length=20)
    title: str | None = Field(default=None, max_length=200)  # the version's title, if it differs
    registry: RegistryIn = Field(default_factory=RegistryIn)
    valid_from: date | None = None
    valid_until: date | None = None
    initial: bool = False  # the version the engine started with: created at installation, since always
    to_complete: list[str] = Field(default_factory=list)  # what the certificateur has still to write
    blocs: list[BlocIn] = Field(min_length=1)
    certificate_rule: CertificateRuleIn = Field(default_factory=CertificateRuleIn)
    # The equivalence table with an earlier version: its blocs held count for blocs of this one.
    from_version: str | None = Field(default=None, min_length=1, max_length=20)
    equivalences: list[EquivalenceIn] = Field(default_factory=list)

    _version_text = field_validator("version", "from_version", mode="before")(_text)

    @field_validator("blocs")
    @classmethod
    def _distinct_codes(cls, blocs: list[BlocIn]) -> list[BlocIn]:
        codes = [b.code for b in blocs]
        twice = sorted({c for c in codes if codes.count(c) > 1})
        if twice:
            raise ValueError(f"code de bloc en double : {', '.join(twice)}")
        return blocs

    @field_validator("valid_until")
    @classmethod
    def _after_start(cls, value: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("valid_from")
        if value is not None and start is not None and value < start:
            raise ValueError("la fin de validité précède valid_from")
        return value

    @model_validator(mode="after")
    def _known_required_blocs(self) -> ReferentielFile:
        codes = [b.code for b in self.blocs]
        unknown = [c for c in self.certificate_rule.required_blocs if c not in codes]
        if unknown:
            raise ValueError(f"certificate_rule.required_blocs : bloc inconnu {', '.join(unknown)}")
        return self

    @model_validator(mode="after")
    def _equivalences_to_this_version(self) -> ReferentielFile:
        if self.equivalences and not self.from_version:
            raise ValueError("equivalences : indiquez « from_version », la version dont les blocs sont repris")
        if self.from_version is not None and self.from_version == self.version:
            raise ValueError("from_version : une version ne peut pas reprendre ses propres blocs")
        return self

    def equivalence_errors(self) -> list[tuple[Path, str]]:
        """The table's blocs ``to`` that this version does not have, and a bloc ``from`` given twice
        (each with its place); the blocs ``from`` are checked against the earlier version at loading."""
        codes = {b.code for b in self.blocs}
        errors: list[tuple[Path, str]] = []
        seen: set[str] = set()
        for i, item in enumerate(self.equivalences):
            if item.from_ in seen:
                errors.append((("equivalences", i, "from"), f"bloc {item.from_} déjà repris plus haut"))
            seen.add(item.from_)
            errors += [(("equivalences", i, "to", j), f"bloc {code} inconnu dans la version « {self.version} »")
                       for j, code in enumerate(item.to) if code not in codes]
        return errors

    @property
    def version_title(self) -> str:
        return self.title or self.certification.title

    @property
    def required_blocs(self) -> list[str]:
        return [b.code for b in self.blocs] if self.certificate_rule.all_blocs else self.certificate_rule.required_blocs

    def content(self) -> dict:
        """The canonical content stored with the version (and hashed); without an equivalence table,
        the same as before there were any (the hashes of the versions loaded then stay theirs)."""
        content = self.model_dump(mode="json", by_alias=True)
        if not self.equivalences and self.from_version is None:
            del content["equivalences"], content["from_version"]
        return content

    def content_hash(self) -> str:
        return content_hash(self.content())

    def placeholders(self) -> list[str]:
        """Where the content is still « à compléter »: the ``to_complete`` list and every text marked so."""
        found = list(self.to_complete)
        for path, value in _walk(self.content(), ()):
            if isinstance(value, str) and TO_COMPLETE in value.casefold():
                found.append(f"{_dotted(path)} : {value}")
        return found


def content_hash(content: dict) -> str:
    return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _walk(value: Any, path: Path) -> list[tuple[Path, Any]]:
    if isinstance(value, dict):
        return [item for k, v in value.items() for item in _walk(v, (*path, k))]
    if isinstance(value, list):
        return [item for i, v in enumerate(value) for item in _walk(v, (*path, i))]
    return [(path, value)]


# --- reading, with the line of each field ---------------------------------------------------------------


def _dotted(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part + 1}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(racine)"


def _lines(node: yaml.Node, path: Path, lines: dict[Path, int], errors: list[str], name: str) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            label = key.value if isinstance(key, yaml.ScalarNode) else str(key)
            if label in seen:
                errors.append(f"{name}, ligne {key.start_mark.line + 1} : {_dotted((*path, label))} : clé en double")
            seen.add(label)
            lines[(*path, label)] = key.start_mark.line + 1
            _lines(value, (*path, label), lines, errors, name)
            lines[(*path, label)] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _lines(item, (*path, index), lines, errors, name)


MESSAGES = {
    "missing": "champ obligatoire",
    "extra_forbidden": "champ inconnu",
    "string_type": "texte attendu",
    "list_type": "liste attendue",
    "bool_type": "true ou false attendu",
    "bool_parsing": "true ou false attendu",
    "model_type": "ensemble de champs attendu",
    "model_attributes_type": "ensemble de champs attendu",
    "date_type": "date attendue (AAAA-MM-JJ)",
    "date_parsing": "date attendue (AAAA-MM-JJ)",
    "date_from_datetime_parsing": "date attendue (AAAA-MM-JJ)",
    "date_from_datetime_inexact": "date attendue (AAAA-MM-JJ), sans heure",
}


def _message(error: Any) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind in MESSAGES:
        return MESSAGES[kind]
    if kind == "string_too_short":
        return "ne doit pas être vide"
    if kind == "string_too_long":
        return f"{ctx.get('max_length')} caractères au plus"
    if kind == "too_short":
        return f"au moins {ctx.get('min_length')} élément(s)"
    if kind == "literal_error":
        return f"valeur parmi : {str(ctx.get('expected', '')).replace(' or ', ', ').replace(chr(39), '')}"
    if kind == "string_pattern_mismatch":
        return "code invalide (majuscules, chiffres, « - » ou « _ », 20 caractères au plus)"
    if kind == "value_error":
        return str(ctx.get("error", "valeur invalide"))
    return "valeur invalide"


def _place(name: str, lines: dict[Path, int], loc: Path) -> str:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return f"{name}, ligne {lines[loc[:end]]}"
    return name


def parse(text: str | bytes, name: str) -> ReferentielFile:
    """Validate a file's text; raises ReferentielInvalid listing each problem at its place."""
    if isinstance(text, bytes):
        if len(text) > MAX_BYTES:
            raise ReferentielInvalid([f"{name} : fichier trop volumineux ({MAX_BYTES // 1024} Kio au plus)"])
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise ReferentielInvalid([f"{name} : le fichier doit être encodé en UTF-8"]) from None
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 (a safe loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{name}, ligne {mark.line + 1}, colonne {mark.column + 1}" if mark else name
        raise ReferentielInvalid([f"{where} : syntaxe YAML invalide (indentation, « : » ou guillemets)"]) from None
    except yaml.YAMLError:
        raise ReferentielInvalid([f"{name} : syntaxe YAML invalide"]) from None
    if not isinstance(data, dict) or node is None:
        raise ReferentielInvalid([f"{name}, ligne 1 : le fichier doit décrire une version (certification, "
                                  "version, blocs…)"])
    lines: dict[Path, int] = {}
    errors: list[str] = []
    _lines(node, (), lines, errors, name)
    try:
        model = ReferentielFile.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            loc = tuple(part for part in error["loc"] if not (isinstance(part, str) and part.startswith("function-")))
            errors.append(f"{_place(name, lines, loc)} : {_dotted(loc) + ' : ' if loc else ''}{_message(error)}")
    else:
        errors += [f"{_place(name, lines, loc)} : {_dotted(loc)} : {message}"
                   for loc, message in model.equivalence_errors()]
    if errors:
        raise ReferentielInvalid(errors)
    return model
