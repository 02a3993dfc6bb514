"""Gap-free sequential numbers per name and year.

The counter row is incremented with ``UPDATE ... RETURNING`` inside the caller's transaction:
PostgreSQL locks the row until commit and SQLite serializes writers, so two transactions never
get the same value, and a rolled-back transaction gives its value back (no gap).
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from certification.models import Counter


def next_value(db: Session, name: str, year: int, count: int = 1) -> int:
    """The next value of the counter (``count`` > 1: reserves that many, returns the last of them)."""
    bump = (
        update(Counter)
        .where(Counter.name == name, Counter.year == year)
        .values(value=Counter.value + count)
        .returning(Counter.value)
        # no ORM synchronisation: it would scan every object the session holds, at each number
        .execution_options(synchronize_session=False)
    )
    value = db.execute(bump).scalar_one_or_none()
    if value is not None:
        return value
    dialect = db.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.execute(
        insert(Counter).values(name=name, year=year, value=0).on_conflict_do_nothing(index_elements=["name", "year"])
    )
    return db.execute(bump).scalar_one()
