"""Pages of the back-office that are not dossiers (the inbox), and the helpers shared by the
pages of every process (`api.<process>.pages`).

Every page reads through the services of ``certification`` with the signed-in user as actor,
exactly like the API: a mandataire only sees his requests, a contrôleur his contrôles, and a
dossier of someone else answers 404 (its existence does not leak); a section that a role has no
access to at all answers 403.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse
from sqlmodel import Session

from api.deps import Principal
from api.web.inbox import build_inbox
from api.web.render import render
from api.web.router import router
from api.web.session import WebUser, web_user
from certification.clock import today
from certification.db import session_scope
from certification.candidates.models import Candidate
from certification.models import Certification, Role, Structure, User
from documents.service import list_documents


def principal(current: WebUser) -> Principal:
    """The API's view of the signed-in user (to render a dossier as the API does)."""
    return Principal(current.user, current.actor)


def structure_name(db: Session, structure_id: int) -> str:
    row = db.get(Structure, structure_id)
    return row.name if row else "?"


def certification_of(db: Session, certification_id: int) -> Certification:
    return db.get(Certification, certification_id)


def person(c: Candidate) -> str:
    """A candidate's name as the pages show it: first names, then last name."""
    return f"{c.first_names} {c.last_name}"


def user_name(db: Session, user_id: int | None) -> str | None:
    user = db.get(User, user_id) if user_id else None
    return user.full_name if user else None


def documents_of(db: Session, *entities: tuple[str, int]) -> list[Any]:
    """The generated documents of these entities, in order."""
    return [d for entity_type, entity_id in entities for d in list_documents(db, entity_type, entity_id)]


@router.get("", summary="Back-office")
def root(_current: WebUser = Depends(web_user)):
    return RedirectResponse("/app/", status_code=303)


@router.get("/", summary="Actions en attente")
def inbox(request: Request, vue: str = "", current: WebUser = Depends(web_user)):
    mine = current.role is not Role.officer or vue == "moi"
    with session_scope() as db:
        items = build_inbox(db, current.user, current.actor, mine_only=mine)
    on = today()
    return render(request, "inbox.html", section="inbox", items=items, on=on, mine=mine,
                  overdue=sum(1 for i in items if i.overdue(on)))
