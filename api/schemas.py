"""Request and response bodies of the API (inputs refuse unknown fields)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.pagination import Page, Pager
from api.types import Email, UtcDateTime

# Characters ``str.strip`` removes: a required text made only of them is empty once stripped.
VISIBLE = r"[^\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"


def _visible_texts(schema: dict) -> None:
    """In the spec, a text that must not be empty must contain a visible character (inputs are stripped)."""
    for prop in schema.get("properties", {}).values():
        for variant in [prop, *prop.get("anyOf", [])]:
            if variant.get("type") == "string" and variant.get("minLength", 0) >= 1 and "pattern" not in variant:
                variant["pattern"] = VISIBLE


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra=_visible_texts)


class TokenIn(Strict):
    email: str = Field(max_length=254)
    password: str = Field(min_length=1, max_length=200)


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    role: str
    user_id: int


class MeOut(BaseModel):
    id: int
    email: str
    full_name: str
    role: str
    structure_id: int | None


class CommentIn(Strict):
    comment: str = Field(default="", max_length=10000)


class ReasonIn(Strict):
    reason: str = Field(min_length=1, max_length=10000)


class UserIn(Strict):
    email: Email
    full_name: str = Field(min_length=1, max_length=200)
    role: Literal["officer", "mandataire", "controleur", "formateur", "jury_member", "structure"]
    password: str | None = Field(default=None, max_length=200)  # policy: certification.passwords
    structure_siret: str | None = None
    sex: Literal["M", "F"] | None = Field(
        default=None, description="M or F, optional: « Madame »/« Monsieur » and agreed forms in letters and e-mails."
    )


class DocumentOut(BaseModel):
    id: int
    kind: str
    version: int
    filename: str
    sha256: str
    size: int
    created_at: UtcDateTime
    url: str


class EventOut(BaseModel):
    id: int
    at: UtcDateTime
    action: str
    from_state: str | None
    to_state: str | None
    actor_id: int | None
    actor_role: str
    actor_label: str
    reason: str | None
    data: dict


def _event_key(event: Any) -> tuple[str, int]:
    """Chronological order of a timeline, as the cursor stores it: the UTC time (fixed width, so that
    the strings sort like the times), then the id."""
    at = event.at if event.at.tzinfo is None else event.at.astimezone(UTC).replace(tzinfo=None)
    return at.strftime("%Y-%m-%dT%H:%M:%S.%f"), event.id


def timeline_page(pager: Pager, events: Iterable[Any]) -> Page[EventOut]:
    """A dossier's timeline (its audit events, oldest first) as one page of ``pager``; ``q`` searches the
    action, the states, the actor and the reason."""
    return pager.page(
        events,
        lambda e: EventOut.model_validate(e, from_attributes=True),
        key=_event_key,
        text=lambda e: (e.action, e.from_state, e.to_state, e.actor_label, e.reason),
    )


# --- shared by several processes: the visit on site (contrôle, appui), the structures ---


class VisitIn(Strict):
    visit_at: UtcDateTime = Field(description="Date et heure avec fuseau, ex. 2027-01-12T09:30:00+01:00")
    place: str = Field(min_length=1, max_length=300)
    notes: str = Field(default="", max_length=5000)
    duration_minutes: int | None = Field(default=None, ge=15, le=720)

    def planning(self) -> dict:
        """The visit's planning fields, as the services' ``schedule_visit`` takes them."""
        return {
            "visit_at": self.visit_at,
            "place": self.place,
            "notes": self.notes,
            "duration_minutes": self.duration_minutes,
        }


class LinkIn(Strict):
    user_id: int
    kind: Literal["mandataire", "formateur", "employee", "controleur"]
    reason: str = Field(min_length=1, max_length=2000)


class StructureOut(BaseModel):
    id: int
    siret: str
    name: str
    region: str
    email: str


class LinkOut(BaseModel):
    id: int
    user_id: int
    structure_id: int
    kind: str
    since: UtcDateTime
