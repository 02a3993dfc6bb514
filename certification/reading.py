"""How the processes' read models (``certification/<process>/read_model.py``) read their rows: the
row a foreign key names, rows by id in one query, the id of a row read from the database."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from sqlmodel import Session, col, select

T = TypeVar("T")


def referenced(db: Session, model: type[T], ident: int) -> T:
    """The row of ``model`` a foreign key names (the database guarantees it exists)."""
    row = db.get(model, ident)
    assert row is not None  # a foreign key
    return row


def rows_by_id(db: Session, model: Any, ids: Iterable[int]) -> dict[int, Any]:
    """The rows of ``model`` whose id is in ``ids``, keyed by id: one query, none for no id."""
    wanted = set(ids)
    return {row.id: row for row in db.exec(select(model).where(col(model.id).in_(wanted)))} if wanted else {}


def stored_id(row: Any) -> int:
    """The id of a row read from the database (never None there)."""
    assert row.id is not None  # a row read from the database
    return row.id
