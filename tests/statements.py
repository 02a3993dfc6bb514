"""Count the SQL statements a piece of code sends (the read models' bounded number of queries)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from certification.db import get_engine


@contextmanager
def counted() -> Iterator[list[str]]:
    """The statements sent on the engine while the block runs, in order."""
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)
