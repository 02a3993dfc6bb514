"""The forms of the back-office: what an action asks (:class:`Input`), what it does
(:class:`FormAction`), the dossiers they act on (:class:`DossierKind`), and the helpers that read a
posted form with French messages (:mod:`api.web.actions` shows and applies them)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from api.web.session import WebUser
from certification.audit import Actor
from certification.errors import ValidationFailed
from certification.models import Role
from documents.formatting import DISPLAY_TZ

MAX_TEXT = 10000

# who may take a back-office action (FormAction.roles)
OFFICERS = frozenset({Role.officer})
MANDATAIRES = frozenset({Role.mandataire})


# --- descriptions ------------------------------------------------------------------------------

Rows = Callable[[dict, Any], Sequence[tuple]]  # (id, label[, default value])
Choices = Sequence[tuple[str, str]] | Callable[[dict, Any], Sequence[tuple[str, str]]]


@dataclass(frozen=True)
class Input:
    """One input of an action's form. ``widget``: text, textarea, number, date, datetime, email,
    select, radio, checkbox, file (PDF), or one field per row of ``rows``: checkboxes, matrix (a
    radio group per row) and grid (the ``columns`` inputs per row)."""

    name: str
    label: str
    widget: str = "text"
    required: bool = False
    choices: Choices = ()
    rows: Rows | None = None  # checkboxes, matrix: fields « <name>_<row> »; grid: « <name>_<row>_<column> »
    columns: tuple[Input, ...] = ()  # grid
    default: str | Callable[[dict, Any], str] = ""
    help: str = ""
    id: str | None = None
    attrs: tuple[tuple[str, str], ...] = ()
    empty: str = "Aucun élément."

    @property
    def prefix(self) -> str | None:
        return f"{self.name}_" if self.widget in ("checkboxes", "matrix", "grid") else None


@dataclass(frozen=True)
class Parsed:
    values: dict[str, Any]
    summary: list[tuple[str, str]]  # what the confirmation page shows
    title: str | None = None


@dataclass(frozen=True)
class FormAction:
    key: str  # URL segment
    title: str  # heading of the form and of the confirmation page
    roles: frozenset[Role]  # roles that may ever take it (others: 403)
    api_action: str | None  # must be among the dossier's allowed actions (certification.actions)
    inputs: tuple[Input, ...]
    parse: Callable[[Mapping[str, str], dict], Parsed]  # ctx["uploads"]: (kind, file name) of the files sent
    apply: Callable[[Session, Actor, int | None, dict], Any]
    done: str  # message shown once applied
    button: str = "Confirmer"
    submit: str = ""  # label of the form's button (default: the title)
    per: Callable[[dict], Sequence[tuple[str, str]]] | None = None  # one form per item (value, label)
    per_field: str = ""  # the field carrying the item's value
    redirect: Callable[[Any], str] | None = None  # where to go once applied (a created dossier)
    dispatch: Callable[[int | None, dict, Any], Sequence[tuple[str, int]]] | None = None  # flows to run
    refusal: str | None = None  # audited name of an assignment refused for a conflict of interest

    @property
    def files(self) -> dict[str, Input]:
        return {i.name: i for i in self.inputs if i.widget == "file"}

    def collect(self, form: Mapping[str, Any]) -> dict[str, str]:
        """The fields of this action in ``form`` (carried from the form to the confirmation)."""
        names = [i.name for i in self.inputs if i.widget != "file" and not i.prefix]
        if self.per_field:
            names.append(self.per_field)
        out = {name: str(form.get(name, "")) for name in names}
        prefixes = tuple(i.prefix for i in self.inputs if i.prefix)
        if prefixes:
            out |= {k: v for k, v in form.items() if k.startswith(prefixes) and isinstance(v, str)}
        return out


@dataclass(frozen=True)
class DossierKind:
    section: str  # URL segment, key of api.web.render.SECTIONS
    title: str  # the dossiers, in French (list heading, refusals)
    param: str  # name of the id in the URLs
    template: str
    context: Callable[[Session, WebUser, int], dict]  # 404 for a dossier the user may not see
    entity: str  # key of the dossier in the context
    on_change: str | None  # name of the flows.dispatch function (looked up when called)
    entity_type: str = ""  # table of the dossier (traces of refused assignments)
    actions: dict[str, FormAction] = field(default_factory=dict)
    listing: Callable[[Session, WebUser], dict] | None = None  # title, columns, rows, empty, actions
    creations: dict[str, FormAction] = field(default_factory=dict)  # forms of the list page
    documents: Callable[[Session, dict], set[tuple[str, int]]] | None = None  # entities whose PDFs are shown
    files: Callable[[Session, dict, int], tuple[Any, str, str]] | None = None  # uploaded file -> path, name, type
    messages: dict[str, str] = field(default_factory=dict)  # other « fait » messages (a dossier created elsewhere)

    def url(self, entity_id: int | None = None) -> str:
        return f"/app/{self.section}" + (f"/{entity_id}" if entity_id is not None else "")


def actions_of(*actions: FormAction) -> dict[str, FormAction]:
    return {a.key: a for a in actions}


# --- parsing helpers (French messages) -----------------------------------------------------------


def text(form: Mapping[str, str], name: str, *, required: str | None = None, max_len: int = MAX_TEXT) -> str:
    value = form.get(name, "").strip()
    if required and not value:
        raise ValidationFailed(required, code="field_required")
    if len(value) > max_len:
        raise ValidationFailed(f"Texte trop long ({max_len} caractères au plus).", code="text_too_long")
    return value


def choice(form: Mapping[str, str], name: str, options: Mapping[str, str], message: str) -> str:
    value = form.get(name, "")
    if value not in options:
        raise ValidationFailed(message, code="choice_required")
    return value


def integer(form: Mapping[str, str], name: str, *, lo: int, hi: int, message: str, default: int | None = None) -> int:
    raw = form.get(name, "").strip()
    if not raw and default is not None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationFailed(message, code="bad_number") from None
    if not lo <= value <= hi:
        raise ValidationFailed(message, code="bad_number")
    return value


def day(form: Mapping[str, str], name: str, *, required: str | None = None) -> date | None:
    raw = form.get(name, "").strip()
    if not raw:
        if required:
            raise ValidationFailed(required, code="field_required")
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed("Date invalide (format attendu : AAAA-MM-JJ).", code="bad_date") from None


def moment(form: Mapping[str, str], name: str, *, required: str) -> datetime:
    """A ``datetime-local`` input, in French local time."""
    raw = form.get(name, "").strip()
    if not raw:
        raise ValidationFailed(required, code="field_required")
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed("Date et heure invalides (format attendu : AAAA-MM-JJTHH:MM).",
                               code="bad_datetime") from None
    return value.replace(tzinfo=DISPLAY_TZ) if value.tzinfo is None else value


def pick(form: Mapping[str, str], name: str, items: Sequence[Mapping[str, Any]], message: str) -> Mapping[str, Any]:
    """The item of ``items`` (dicts with an ``id``) chosen in ``name``."""
    raw = form.get(name, "").strip()
    found = next((i for i in items if str(i["id"]) == raw), None)
    if found is None:
        raise ValidationFailed(message, code="choice_required")
    return found


def row_values(form: Mapping[str, str], prefix: str) -> dict[str, str]:
    """The fields of a checkboxes or matrix input: row id -> value."""
    return {k[len(prefix):]: v for k, v in form.items() if k.startswith(prefix)}


def reason(form: Mapping[str, str], label: str = "Motif") -> Parsed:
    """The parse of an action whose only field is a required reason (``reason``)."""
    value = text(form, "reason", required=f"{label} obligatoire.")
    return Parsed({"reason": value}, [(label, value)])


REASON = Input("reason", "Motif", "textarea", required=True)


def with_reason(do: Callable[[Session, Actor, int, str], Any]) -> Callable[[Session, Actor, int | None, dict], Any]:
    """The apply of an action taken with a reason: the service ``do(db, actor, dossier_id, reason)``."""
    return lambda db, actor, dossier_id, values: do(db, actor, dossier_id, values["reason"])
COMMENT = Input("comment", "Commentaire (facultatif)", "textarea")


def optional_comment(form: Mapping[str, str], _ctx: dict) -> Parsed:
    value = text(form, "comment")
    return Parsed({"comment": value}, [("Commentaire", value or "—")])


