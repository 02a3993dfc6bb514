"""The table shape, column sets, index blocks and column additions that several migration scripts
share.

Imported by the scripts of ``migrations/versions`` as ``migrations.helpers`` (the repository root is
on ``sys.path``: ``prepend_sys_path`` of alembic.ini, and ``certification.migrate.alembic_config``).
It lives outside ``versions/`` so that Alembic does not take it for a revision.

Each helper returns exactly what the scripts used to spell out, in the same order: a script that
calls them builds the same tables, columns, constraints and indexes, byte for byte, as before. A
script that has been applied must never change its schema, so what a helper builds is never
changed either: a new shape gets a new helper.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
import sqlmodel
from alembic import op

from certification.types import UTCDateTime

AutoString = sqlmodel.sql.sqltypes.AutoString


def create_table_with_id(name: str, *columns_and_constraints: sa.SchemaItem) -> None:
    """Create a table keyed by an integer ``id``: that column first, then the given columns and
    constraints, and the primary key on ``id`` (a table's primary key is emitted before its other
    constraints, wherever it is declared)."""
    op.create_table(
        name,
        sa.Column('id', sa.Integer(), nullable=False),
        *columns_and_constraints,
        sa.PrimaryKeyConstraint('id'),
    )


def foreign_keys(**targets: str) -> list[sa.ForeignKeyConstraint]:
    """One foreign key per column to the ``id`` of a table, in the order given:
    ``foreign_keys(structure_id='structures', decided_by_id='users')``."""
    return [sa.ForeignKeyConstraint([column], [f'{table}.id']) for column, table in targets.items()]


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


def deposited_file_columns(
    name: str = 'original_name', path: str = 'relative_path', prefix: str = '', nullable: bool = False,
) -> list[sa.Column]:
    """A file someone deposited: its name as given, content type, size, SHA-256 digest and where it
    is stored (``<prefix><name>``, ``<prefix>content_type``, ``<prefix>size``, ``<prefix>sha256``,
    ``<prefix><path>``; ``livret2_`` for the livret 2 of a dossier de VAE)."""
    return [
        sa.Column(f'{prefix}{name}', AutoString(length=200), nullable=nullable),
        sa.Column(f'{prefix}content_type', AutoString(length=100), nullable=nullable),
        sa.Column(f'{prefix}size', sa.Integer(), nullable=nullable),
        sa.Column(f'{prefix}sha256', AutoString(length=64), nullable=nullable),
        sa.Column(f'{prefix}{path}', AutoString(length=300), nullable=nullable),
    ]


def uploaded_file_columns(kind_length: int) -> list[sa.Column]:
    """A file a user uploaded (pièce of a request, file of a contrôle): its kind, name, type, size,
    digest, where it is stored, who uploaded it and when. The caller declares the foreign key of
    ``uploaded_by_id``."""
    return [
        sa.Column('kind', AutoString(length=kind_length), nullable=False),
        *deposited_file_columns(),
        *actor_and_time('uploaded'),
    ]


def entity_columns(nullable: bool = False) -> list[sa.Column]:
    """The entity a row is about, in any table (a dossier, a batch, a certificate): its type and its
    id, without foreign key."""
    return [
        sa.Column('entity_type', AutoString(length=40), nullable=nullable),
        sa.Column('entity_id', sa.Integer(), nullable=nullable),
    ]


def sex_column(name: str = 'sex') -> sa.Column:
    """A person's sex, M or F (the « sexe » of the SI CPF data dictionary), NULL when not given."""
    return sa.Column(name, AutoString(length=1), nullable=True)


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


def reference_column(length: int = 30) -> sa.Column:
    """The public reference of a dossier or of a batch, required; the caller indexes it as unique."""
    return sa.Column('reference', AutoString(length=length), nullable=False)


def person_name(prefix: str = '') -> list[sa.Column]:
    """A person's last name and first names, as on their identity papers (``holder_`` for the holder
    of a certificate), both required."""
    return [
        sa.Column(f'{prefix}last_name', AutoString(length=100), nullable=False),
        sa.Column(f'{prefix}first_names', AutoString(length=150), nullable=False),
    ]


def actor_and_time(action: str) -> list[sa.Column]:
    """Who did ``action`` (an account; the caller declares the foreign key to users) and when:
    ``<action>_by_id`` and ``<action>_at``, both required."""
    return [
        sa.Column(f'{action}_by_id', sa.Integer(), nullable=False),
        sa.Column(f'{action}_at', UTCDateTime(timezone=True), nullable=False),
    ]


def recorded_and_updated(action: str) -> list[sa.Column]:
    """Who did ``action`` and when (``actor_and_time``), then when the row last changed: the
    stamp of a dossier registered, filed or created by an account."""
    return [
        *actor_and_time(action),
        sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
    ]


def start_and_end_dates() -> list[sa.Column]:
    """The first and last days of a period (an agrément's validity, a training session), both
    required."""
    return [
        sa.Column('start_date', sa.Date(), nullable=False),
        sa.Column('end_date', sa.Date(), nullable=False),
    ]


def decision_columns() -> list[sa.Column]:
    """The decision on a dossier, empty until it is taken: its reason, when, and by whom (the caller
    declares the foreign key of ``decided_by_id`` to users)."""
    return [
        sa.Column('decision_reason', sa.Text(), nullable=True),
        sa.Column('decided_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
    ]


def stored_file_columns(prefix: str = '', nullable: bool = False) -> list[sa.Column]:
    """A file the engine wrote or imported: its name, where it is stored, and its digest
    (``report_`` for the processing report of a CPF batch)."""
    return [
        sa.Column(f'{prefix}filename', AutoString(length=200), nullable=nullable),
        sa.Column(f'{prefix}relative_path', AutoString(length=300), nullable=nullable),
        sa.Column(f'{prefix}sha256', AutoString(length=64), nullable=nullable),
    ]


def add_columns(table: str, *columns: sa.Column) -> None:
    """Add these columns to an existing table, in this order (in batch mode, so on SQLite too)."""
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in columns:
            batch_op.add_column(column)


def drop_columns(table: str, *names: str) -> None:
    """Drop these columns of a table, in this order (in batch mode, so on SQLite too)."""
    with op.batch_alter_table(table, schema=None) as batch_op:
        for name in names:
            batch_op.drop_column(name)
