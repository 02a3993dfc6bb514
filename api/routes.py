"""Routes declared by a function rather than written out: an endpoint whose signature (what
FastAPI reads to resolve its parameters and describe them in the OpenAPI document) is built, so
that one declaration serves every process with its own path parameter name (``controle_id``,
``appeal_id``…), and :class:`DossierActions`, a dossier's plain actions (the dossier's service
function applied through the router's :class:`~api.idempotency.Responder`, with a reason or
without a body)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.idempotency import ActionCall, Call, Responder
from api.schemas import ReasonIn, VisitIn
from certification.audit import Actor


def parameter(name: str, annotation: Any, default: Any = inspect.Parameter.empty) -> inspect.Parameter:
    """A parameter of a built endpoint: ``name: annotation = default``."""
    return inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=annotation, default=default)


def endpoint(name: str, parameters: list[inspect.Parameter], body: Callable[..., Any]) -> Callable[..., Any]:
    """An endpoint named ``name`` (its operation id) whose signature is ``parameters``; it calls
    ``body`` with the values FastAPI resolved, by name. It has no docstring: FastAPI would make it
    the route's description."""

    def call(**values: Any) -> Any:
        return body(**values)

    call.__name__ = call.__qualname__ = name
    call.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    return call


class DossierActions:
    """The plain actions on one kind of dossier: ``POST /{id}/<path>`` applies the service function
    ``do(db, actor, id)`` (``do(db, actor, id, reason)`` for an action with a reason, its
    body a :class:`~api.schemas.ReasonIn`; ``do(db, actor, id, body)`` for an action whose body
    is of another ``model``) through ``responder`` and answers the dossier as
    ``response_model``. ``principal`` is the typed dependency of the role (``Officer``…). The
    idempotency digest is the id, the path when ``digest_path`` (as the router has always had it)
    and the body."""

    def __init__(
        self,
        router: APIRouter,
        *,
        id_param: str,
        responder: Responder,
        response_model: Any,
        principal: Any,
        digest_path: bool = True,
    ) -> None:
        self.router, self.id_param, self.responder = router, id_param, responder
        self.response_model, self.principal, self.digest_path = response_model, principal, digest_path

    def add(
        self,
        path: str,
        do: Callable[..., Any],
        *,
        summary: str,
        name: str | None = None,
        reason: bool = False,
        model: type[BaseModel] | None = None,
        principal: Any = None,
        **route: Any,
    ) -> None:
        """``POST /{id}/<path>``, its endpoint named ``name`` (``path`` with underscores by default),
        its body a ``model`` (given whole to ``do``) or, with ``reason``, a :class:`~api.schemas.ReasonIn`
        (its reason given to ``do``), ``route`` the other options of the route (``responses``…)."""

        def respond(call: ActionCall, principal: Any, body: BaseModel | None = None, **ids: int) -> JSONResponse:
            dossier_id = ids[self.id_param]
            digest = (dossier_id, path) if self.digest_path else (dossier_id,)
            args: tuple = (dossier_id,) if body is None else (dossier_id, body.reason if reason else body)
            actor: Actor = principal.actor
            return self.responder(
                call, principal, digest if body is None else (*digest, body), lambda db: do(db, actor, *args)
            )

        parameters = [parameter(self.id_param, int)]
        if reason or model is not None:
            parameters.append(parameter("body", ReasonIn if reason else model))
        parameters += [parameter("call", Call), parameter("principal", principal or self.principal)]
        name = name or path.replace("-", "_")
        self.router.add_api_route(
            f"/{{{self.id_param}}}/{path}",
            endpoint(name, parameters, respond),
            methods=["POST"],
            response_model=self.response_model,
            summary=summary,
            **route,
        )

    def visit(self, schedule: Callable[..., Any], *, summary: str, principal: Any = None) -> None:
        """``POST /{id}/visit`` (``schedule_visit``): programme or move the dossier's visit, the
        service's ``schedule(db, actor, id, **planning)`` given the :class:`~api.schemas.VisitIn`
        body's planning fields."""
        self.add(
            "visit",
            lambda db, actor, i, visit: schedule(db, actor, i, **visit.planning()),
            model=VisitIn,
            name="schedule_visit",
            principal=principal,
            summary=summary,
        )
