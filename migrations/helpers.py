"""The column sets and index blocks that several migration scripts share.

Imported by the scripts of ``migrations/versions`` as ``migrations.helpers`` (the repository root is
on ``sys.path``: ``prepend_sys_path`` of alembic.ini, and ``certification.migrate.alembic_config``).
It lives outside ``versions/`` so that Alembic does not take it for a revision.

Each helper returns exactly what the scripts used to spell out, in the same order: a script that
calls them builds the same tables, columns and indexes, byte for byte, as before. A script that
has been applied must never change its schema, so a helper here is never changed either: a new
shape gets a new helper.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
import sqlmodel
from alembic import op

from certification.types import UTCDateTime

AutoString = sqlmodel.sql.sqltypes.AutoString


def workflow_state() -> list[sa.Column]:
    """The state of a dossier's state machine and its optimistic-lock version."""
    return [
        sa.Column('state', AutoString(length=20), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
    ]


def created_and_updated() -> list[sa.Column]:
    """When the row was created and last changed (UTC, both required)."""
    return [
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
    ]


def visit_columns() -> list[sa.Column]:
    """A planned visit (contrôle, appui): its slot, place, notes and the sequence of its invitation
    (iCalendar SEQUENCE, raised at each change)."""
    return [
        sa.Column('visit_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('visit_end', UTCDateTime(timezone=True), nullable=True),
        sa.Column('visit_place', AutoString(length=300), nullable=True),
        sa.Column('visit_notes', sa.Text(), nullable=True),
        sa.Column('visit_sequence', sa.Integer(), nullable=False),
    ]


def uploaded_file_columns(kind_length: int) -> list[sa.Column]:
    """A file a user uploaded (pièce of a request, file of a contrôle): its kind, name, type, size,
    digest, where it is stored, who uploaded it and when. The caller declares the foreign key of
    ``uploaded_by_id``."""
    return [
        sa.Column('kind', AutoString(length=kind_length), nullable=False),
        sa.Column('original_name', AutoString(length=200), nullable=False),
        sa.Column('content_type', AutoString(length=100), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', AutoString(length=64), nullable=False),
        sa.Column('relative_path', AutoString(length=300), nullable=False),
        sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
        sa.Column('uploaded_at', UTCDateTime(timezone=True), nullable=False),
    ]


def create_indexes(table: str, columns: Iterable[str], unique: Iterable[str] = ()) -> None:
    """One single-column index ``ix_<table>_<column>`` per column (unique for those of ``unique``),
    created in the order of their names, as Alembic's autogenerate writes them."""
    unique = set(unique)
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in sorted({*columns, *unique}):
            batch_op.create_index(batch_op.f(f'ix_{table}_{column}'), [column], unique=column in unique)


def drop_indexed_table(table: str, indexed: Iterable[str]) -> None:
    """Drop the indexes ``create_indexes`` made on these columns (in the reverse order), then the
    table."""
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in sorted(indexed, reverse=True):
            batch_op.drop_index(batch_op.f(f'ix_{table}_{column}'))
    op.drop_table(table)
