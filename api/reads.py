"""The dossier reads of the routers, written once: a dossier the principal may see (read through
its service's ``get_…(db, actor, id)``, which answers 404 for a dossier the actor may not
see, so that its existence does not leak) answered as its representation, its history or one of
its generated documents.

:class:`DossierReads` declares these routes on a process's router (``GET /{id}``,
``GET /{id}/timeline``, ``GET /{id}/documents/{document_id}``, and the download of a file uploaded
to the dossier), with the path parameter named as
the process names it (``controle_id``, ``request_id``…) and the endpoints named ``read``,
``read_timeline`` and ``download_document``, so that the operation ids stay those of the API."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse, Response
from sqlmodel import Session

from api.contract import PDF, binary
from api.deps import Principal, current_principal
from api.dossier import CONDITIONAL, Conditional
from api.pagination import Page, Pager
from api.routes import endpoint, parameter
from api.schemas import EventOut, timeline_page
from api.uploads import document_response, file_response, owned_document, stored_path, uploaded_file
from certification.audit import Actor, timeline
from certification.db import session_scope

Getter = Callable[[Session, Actor, int], Any]
# The files uploaded to a dossier: ``files_of(db, dossier_id)``, rows with the stored-file columns.
FilesOf = Callable[[Session, int], list]
Render = Callable[[Session, Principal, Any], Any]
# The events of a dossier's history: ``events(db, principal, dossier)`` (may refuse the principal).
Events = Callable[[Session, Principal, Any], list]


def dossier_read(
    conditional: Conditional, principal: Principal, get: Getter, render: Render, dossier_id: int
) -> Response:
    """``render(db, principal, dossier)``, with its ETag (304 when the client's copy is current)."""
    with session_scope() as db:
        return conditional.respond(render(db, principal, get(db, principal.actor, dossier_id)))


def dossier_timeline(
    pager: Pager, principal: Principal, get: Getter, entity_type: str, dossier_id: int, events: Events | None = None
) -> Page[EventOut]:
    """The dossier's history, a page of its audit events (oldest first): those of ``entity_type``,
    or ``events(db, principal, dossier)`` when given."""
    with session_scope() as db:
        dossier = get(db, principal.actor, dossier_id)
        found = events(db, principal, dossier) if events else timeline(db, entity_type, dossier.id)
        return timeline_page(pager, found)


def dossier_document(
    principal: Principal, get: Getter, entity_type: str, dossier_id: int, document_id: int
) -> FileResponse:
    """A generated document of the dossier (404 when it is another dossier's)."""
    with session_scope() as db:
        dossier = get(db, principal.actor, dossier_id)
        doc = owned_document(db, entity_type, dossier.id, document_id)
    return document_response(doc)


class DossierReads:
    """The read routes of one kind of dossier on ``router``: the dossier is ``get(db, actor,
    id)`` (404 for a dossier the actor may not see), its id the path parameter ``id_param``, its
    audit events and documents those of ``entity_type``. The routes are added in the order of the
    calls (the order of the router's routes, so of the paths in the OpenAPI document). ``reader``
    is the principal's dependency (every authenticated user by default; the dossier's ``get``
    decides what each one sees)."""

    def __init__(self, router: APIRouter, *, id_param: str, get: Getter, entity_type: str, reader: Any = None) -> None:
        self.router, self.id_param, self.get, self.entity_type = router, id_param, get, entity_type
        self.reader = reader if reader is not None else Depends(current_principal)

    def _id(self) -> inspect.Parameter:
        return parameter(self.id_param, int)

    def _principal(self, reader: Any) -> inspect.Parameter:
        return parameter("principal", Principal, reader if reader is not None else self.reader)

    def read(self, *, render: Render, response_model: Any, summary: str, reader: Any = None) -> None:
        """``GET /{id}``: ``render(db, principal, dossier)`` with its ETag (304 when current)."""

        def body(principal: Principal, conditional: Conditional, **ids: int) -> Response:
            return dossier_read(conditional, principal, self.get, render, ids[self.id_param])

        self.router.add_api_route(
            f"/{{{self.id_param}}}",
            endpoint(
                "read", [self._id(), self._principal(reader), parameter("conditional", Conditional, Depends())], body
            ),
            methods=["GET"],
            response_model=response_model,
            summary=summary,
            responses=CONDITIONAL,
        )

    def timeline(self, *, summary: str, events: Events | None = None, reader: Any = None) -> None:
        """``GET /{id}/timeline``: a page of the dossier's audit events (oldest first), or of
        ``events(db, principal, dossier)`` when given."""

        def body(pager: Pager, principal: Principal, **ids: int) -> Page[EventOut]:
            return dossier_timeline(pager, principal, self.get, self.entity_type, ids[self.id_param], events)

        self.router.add_api_route(
            f"/{{{self.id_param}}}/timeline",
            endpoint(
                "read_timeline", [self._id(), parameter("pager", Pager, Depends()), self._principal(reader)], body
            ),
            methods=["GET"],
            response_model=Page[EventOut],
            summary=summary,
        )

    def document(self, *, summary: str, reader: Any = None) -> None:
        """``GET /{id}/documents/{document_id}``: a generated document of the dossier (PDF)."""

        def body(document_id: int, principal: Principal, **ids: int) -> FileResponse:
            return dossier_document(principal, self.get, self.entity_type, ids[self.id_param], document_id)

        self.router.add_api_route(
            f"/{{{self.id_param}}}/documents/{{document_id}}",
            endpoint("download_document", [self._id(), parameter("document_id", int), self._principal(reader)], body),
            methods=["GET"],
            summary=summary,
            responses=binary(PDF),
        )

    def uploaded_file(
        self, *, path: str, file_param: str, files_of: FilesOf, missing: str, code: str, name: str, summary: str
    ) -> None:
        """``GET /{id}/<path>/{<file_param>}`` (endpoint ``name``): a file uploaded to the dossier,
        one of ``files_of(db, dossier_id)`` (404 ``missing`` with ``code`` when it is not)."""

        def body(principal: Principal, **ids: int) -> FileResponse:
            with session_scope() as db:
                dossier = self.get(db, principal.actor, ids[self.id_param])
                found = uploaded_file(files_of(db, dossier.id), ids[file_param], missing, code)
            return file_response(*stored_path(found))

        self.router.add_api_route(
            f"/{{{self.id_param}}}/{path}/{{{file_param}}}",
            endpoint(name, [self._id(), parameter(file_param, int), self._principal(None)], body),
            methods=["GET"],
            summary=summary,
            responses=binary(PDF),
        )
