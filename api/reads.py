"""The dossier reads of the routers, written once: a dossier the principal may see (read through
its service's ``get_…(session, actor, id)``, which answers 404 for a dossier the actor may not
see, so that its existence does not leak) answered as its representation, its history or one of
its generated documents."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.responses import FileResponse, Response
from sqlmodel import Session

from api.deps import Principal
from api.dossier import Conditional
from api.pagination import Page, Pager
from api.schemas import EventOut, timeline_page
from api.uploads import document_response, owned_document
from certification.audit import Actor, timeline
from certification.db import session_scope

Getter = Callable[[Session, Actor, int], Any]


def dossier_read(conditional: Conditional, principal: Principal, get: Getter,
                 render: Callable[[Session, Principal, Any], Any], dossier_id: int) -> Response:
    """``render(session, principal, dossier)``, with its ETag (304 when the client's copy is current)."""
    with session_scope() as session:
        return conditional.respond(render(session, principal, get(session, principal.actor, dossier_id)))


def dossier_timeline(pager: Pager, principal: Principal, get: Getter, entity_type: str,
                     dossier_id: int) -> Page[EventOut]:
    """The dossier's history, a page of its audit events (oldest first)."""
    with session_scope() as session:
        dossier = get(session, principal.actor, dossier_id)
        return timeline_page(pager, timeline(session, entity_type, dossier.id))


def dossier_document(principal: Principal, get: Getter, entity_type: str, dossier_id: int,
                     document_id: int) -> FileResponse:
    """A generated document of the dossier (404 when it is another dossier's)."""
    with session_scope() as session:
        dossier = get(session, principal.actor, dossier_id)
        doc = owned_document(session, entity_type, dossier.id, document_id)
    return document_response(doc)
