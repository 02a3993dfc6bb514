"""Reading one dossier as an actor: the row if the actor may see it, else 404.

Every service defines what an actor sees with a query (``query(db, actor)``, which raises
``Forbidden`` for a role that sees none of them), usually with :func:`seen_by` (the condition each
role sees the rows under); :func:`visible_one` reads one row through it.
A dossier the actor may not see answers the same 404 as one that does not exist, so its
existence does not leak. :func:`in_state` narrows a list to one state; :func:`open_dossier` reads,
for the services, the dossier still open on something (whoever acts).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from sqlmodel import Session, select
from sqlmodel.sql.expression import SelectOfScalar

from certification.audit import Actor
from certification.errors import Forbidden, NotFound, ValidationFailed
from certification.models import Role, User

T = TypeVar("T")


class _Dossier(Protocol):
    state: Any  # the column of its state machine's state


D = TypeVar("D", bound=_Dossier)


def structure_of(db: Session, actor: Actor) -> int | None:
    """The structure of the acting user (a structure's account), None without one."""
    user = db.get(User, actor.user_id) if actor.user_id else None
    return user.structure_id if user else None


def seen_by(
    actor: Actor,
    query: SelectOfScalar[T],
    filters: Mapping[Role, Callable[[], Any]],
    *,
    refused: str,
) -> SelectOfScalar[T]:
    """``query`` narrowed to what ``actor`` may see: everything for the officer and the system; for
    a role of ``filters``, the rows its condition (built when asked) selects; any other role is
    refused (``Forbidden``, message ``refused``)."""
    if actor.role in (Role.officer, Role.system):
        return query
    condition = filters.get(actor.role)
    if condition is None:
        raise Forbidden(refused, code="role_not_allowed")
    return query.where(condition())


def visible_one(
    db: Session,
    actor: Actor,
    query: Callable[[Session, Actor], SelectOfScalar[T]],
    model: Any,
    row_id: int,
    *,
    missing: str,
    code: str,
) -> T:
    """The row ``row_id`` of ``model`` among those ``query`` lets ``actor`` see; ``NotFound``
    (message ``missing``, ``code``) when there is none or the actor's role sees none."""
    try:
        row = db.exec(query(db, actor).where(model.id == row_id)).first()
    except Forbidden:
        row = None
    if row is None:
        raise NotFound(missing, code=code)
    return row


def in_state(query: SelectOfScalar[T], model: Any, state: str | None, labels: Mapping[str, str]) -> SelectOfScalar[T]:
    """``query`` narrowed to the dossiers of ``model`` in ``state`` when one is asked (one of
    ``labels``, the process's states; another answers 422)."""
    if not state:
        return query
    if state not in labels:
        raise ValidationFailed(f"État inconnu : {state}.", code="unknown_state")
    return query.where(model.state == state)


def open_dossier(db: Session, model: type[D], open_states: Iterable[StrEnum], *conditions: Any) -> D | None:
    """The dossier of ``model`` that meets ``conditions`` and is still open (in one of
    ``open_states``), if any: the open renewal of an agrément, its contrôle in progress…"""
    return db.exec(select(model).where(*conditions, model.state.in_([s.value for s in open_states]))).first()
