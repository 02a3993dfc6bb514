"""The machinery of the back-office action cases: the :class:`Case` table row, the env of a dossier's
action, the readers of a dossier's state and audit rows, the user text every case sends (``EVIL``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import func, select

from certification.audit import SYSTEM, record_event
from certification.clock import now
from certification.db import session_scope
from certification.models import AuditEvent
from documents.formatting import to_local


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


EVIL = '<script>alert("x")</script>'


ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"


PARTIAL = {"SP-B1": "validated", "SP-B2": "not_validated", "SP-B3": "validated"}


def local_input(moment: datetime) -> str:
    """A ``datetime-local`` value (French local time)."""
    return to_local(moment).strftime("%Y-%m-%dT%H:%M")


def state(model, entity_id: int) -> str:
    with session_scope() as db:
        return db.get(model, entity_id).state


def count(model, *where) -> int:
    with session_scope() as db:
        return db.exec(select(func.count()).select_from(model).where(*where)).one()


def events_of(model, entity_id: int) -> list[tuple[str, int | None, str]]:
    with session_scope() as db:
        rows = db.exec(select(AuditEvent).where(AuditEvent.entity_type == model.__tablename__,
                                               AuditEvent.entity_id == entity_id).order_by(AuditEvent.id))
        return [(e.action, e.actor_id, e.actor_role) for e in rows]


def touch(model, entity_id: int) -> None:
    """Someone else changes the dossier in between: an audited action (as the sweep's signalements)."""
    with session_scope() as db:
        record_event(db, entity_type=model.__tablename__, entity_id=entity_id, action="flag", actor=SYSTEM,
                     reason="Modification concurrente (test)")


def env(page: str, action: str, entity=None, *, form: str | None = None, **extra) -> dict[str, Any]:
    """What a case acts on: the page with the form, the action's URL, the dossier ``(model, id)``."""
    key = action.rstrip("/").rsplit("/", 1)[-1]
    return {"page": page, "post": action, "entity": entity, "form": form or f"form-{key}", **extra}


@dataclass(frozen=True)
class Case:
    key: str
    setup: Callable[[dict], dict]  # people -> env (page, post, entity, form…)
    actor: str  # key of people
    fields: Callable[[dict], dict]  # env -> form fields
    observe: Callable[[dict], Any]  # env -> what the action changes
    check: Callable[[dict, Any], None]  # env, observed after -> assertions
    flows: Callable[[dict, Any], list]  # env, observed after -> [(dispatch function, id)]
    wrong: str  # key of people whose role may not take the action (403)
    files: Callable[[dict], dict] | None = None
    location: Callable[[dict, Any], str] | None = None  # default: the dossier page with ?fait=<action>
    escaped: bool = True  # whether the fields carry user text (EVIL)


def eq(actual, expected):
    assert actual == expected, (actual, expected)


def dossier_env(section: str, model, built: dict, key: str, form: str | None = None) -> dict:
    """The env of an action ``key`` on the dossier ``built`` (its ``id``) of ``/app/<section>``."""
    url = f"/app/{section}/{built['id']}"
    return env(url, f"{url}/{key}", (model, built["id"]), form=form, **built)


def visit_fields(_e):
    return {"visit_at": local_input(now() + timedelta(days=12)), "place": f"{EVIL} salle 2",
            "duration_minutes": "120", "notes": "Prévoir les livrets."}


def created(model):
    def observe(_e):
        with session_scope() as db:
            return db.exec(select(model.id).order_by(model.id.desc())).first()
    return observe
