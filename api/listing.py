"""The list routes of the dossiers, declared once: ``GET ""`` answers a page of the dossiers the
principal may see, narrowed by the route's query filters (a state, a structure, a certification,
a jury session…, and a period: ``since``/``until`` on one of the dossier's dates), searched and
paginated by :class:`~api.pagination.Pager`.

:func:`list_route` builds the endpoint with the signature the route had written out (its name, so
its operation id; its filters, ``since`` and ``until`` last, then the pager's parameters and
the principal), so that the OpenAPI document stays the same."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import Any

from fastapi import APIRouter, Depends, Query
from sqlmodel import Session

from api.deps import Principal, current_principal
from api.pagination import Pager, certification_ids, in_range, since_query, until_query
from api.routes import endpoint, parameter
from api.certification_schemas import CertificationCode
from certification.audit import Actor
from certification.db import session_scope

Match = Callable[[Any], bool]


@dataclass(frozen=True)
class Filter:
    """A query filter of a list route: the parameter ``name`` (``annotation | None``, 422 below
    ``ge``), keeping the rows whose attribute ``name`` equals the value asked. A ``queried`` filter
    is given to the route's query instead (``rows(db, actor, name=value)``)."""

    name: str
    annotation: Any
    description: str
    ge: int | None = None
    queried: bool = False

    def parameters(self) -> list[inspect.Parameter]:
        return [
            parameter(self.name, self.annotation | None, Query(default=None, ge=self.ge, description=self.description))
        ]

    def match(self, db: Session, values: dict[str, Any]) -> Match:
        """Which rows the values asked keep (every row when none is asked)."""
        value = values[self.name]
        return lambda row: value in (None, getattr(row, self.name))


class CertificationFilter(Filter):
    """``certification_code``: the rows of that certification (their ``certification_id``)."""

    def match(self, db: Session, values: dict[str, Any]) -> Match:
        ids = certification_ids(db, values[self.name])
        return lambda row: row.certification_id in ids


class Period(Filter):
    """``since`` and ``until``: the rows whose date ``name`` falls within them (``description``
    names these dates in the parameters' descriptions: « Ouverts »…)."""

    def parameters(self) -> list[inspect.Parameter]:
        return [
            parameter("since", date | None, since_query(self.description)),
            parameter("until", date | None, until_query(self.description)),
        ]

    def match(self, db: Session, values: dict[str, Any]) -> Match:
        since, until = values["since"], values["until"]
        return lambda row: in_range(getattr(row, self.name), since, until)


def state_filter(states: type[Enum], *, queried: bool = True) -> Filter:
    """``state``: one of the process's ``states`` (given to the route's query unless not ``queried``)."""
    return Filter("state", states, "Filtrer par état", queried=queried)


def period(what: str, attribute: str) -> Period:
    """The period filter on the rows' date ``attribute``, its dates named ``what`` (« Ouverts »…)."""
    return Period(attribute, date, what)


STRUCTURE = Filter("structure_id", int, "Filtrer par structure", ge=1)
CERTIFICATION = CertificationFilter("certification_code", CertificationCode, "Filtrer par certification")
SESSION = Filter("session_id", int, "Filtrer par session de jury", ge=1)

# The visible dossiers: ``rows(db, actor, **queried filters)``.
Rows = Callable[..., Iterable[Any]]
# A row as the route answers it: ``render(db, principal, row)``.
Render = Callable[[Session, Principal, Any], Any]
# The strings a search ``q`` is looked for in: ``text(db, row)``.
Text = Callable[[Session, Any], Iterable[str | None]]


def summary_of(model: Callable[..., Any], fields: Callable[[Session, Any], dict[str, Any]]) -> Render:
    """A row rendered as ``model(**fields(db, row))`` (a summary built from its fields)."""
    return lambda db, principal, row: model(**fields(db, row))


def list_route(
    router: APIRouter,
    *,
    name: str,
    rows: Rows,
    render: Render,
    text: Text,
    filters: list[Filter],
    response_model: Any,
    summary: str,
    key: Callable[[Any], Any] | None = None,
    reader: Any = None,
) -> None:
    """``GET ""`` (endpoint ``name``): a page of ``rows`` rendered by ``render``, searched in
    ``text``, kept by ``filters`` (their parameters in this order, the period last), ordered by
    ``key`` (the id by default). ``reader`` is the principal's dependency (every authenticated user
    by default)."""

    def body(pager: Pager, principal: Principal, **values: Any) -> Any:
        actor: Actor = principal.actor
        with session_scope() as db:
            queried = {f.name: values[f.name] for f in filters if f.queried}
            matches = [f.match(db, values) for f in filters if not f.queried]
            return pager.page(
                rows(db, actor, **queried),
                lambda row: render(db, principal, row),
                text=lambda row: text(db, row),
                where=lambda row: all(match(row) for match in matches),
                **({"key": key} if key else {}),
            )

    parameters = [
        parameter("pager", Pager, Depends()),
        *(p for f in filters for p in f.parameters()),
        parameter("principal", Principal, reader if reader is not None else Depends(current_principal)),
    ]
    router.add_api_route(
        "", endpoint(name, parameters, body), methods=["GET"], response_model=response_model, summary=summary
    )
