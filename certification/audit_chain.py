"""Tamper evidence of the audit trail: each row is chained to the previous row of its entity.

``row_hash = sha256(prev_hash || canonical JSON of the row's content)``, written in the same
transaction as the row. One chain per audited entity (``entity_type``, ``entity_id``): an entity's
events are ordered by id, the first one has ``prev_hash = ""``. Concurrent writers are ordered
per entity: on PostgreSQL a transaction-scoped advisory lock on the entity is taken before the row
is inserted and its predecessor read (a state change already holds the entity row's lock, taken
before, so the order of locks is always the same); on SQLite the insert takes the database's
single write lock first. Altering a row's content breaks its own hash; deleting or re-hashing a
row breaks the link of the next one. :func:`verify_chain` names the first broken row.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlmodel import Session, select

from certification.clock import as_utc
from certification.db import transaction_cache
from certification.models import AuditEvent

GENESIS = ""
_BATCH = 5000


def canonical(event: AuditEvent) -> bytes:
    """The row's content as canonical JSON (sorted keys, UTC time, JSON-normalised data)."""
    content: dict[str, Any] = {
        "entity_type": event.entity_type,
        "entity_id": int(event.entity_id),
        "action": event.action,
        "from_state": event.from_state,
        "to_state": event.to_state,
        "actor_id": event.actor_id,
        "actor_role": event.actor_role,
        "actor_label": event.actor_label,
        "at": as_utc(event.at).isoformat(timespec="microseconds"),
        "reason": event.reason,
        "data": json.loads(json.dumps(event.data or {}, sort_keys=True, default=str)),
    }
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def row_hash(prev_hash: str, event: AuditEvent) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical(event)).hexdigest()


def _lock_entity(db: Session, entity_type: str, entity_id: int) -> None:
    if db.get_bind().dialect.name == "postgresql":
        key = zlib.crc32(entity_type.encode()) - 2**31  # int4 range
        db.execute(text("SELECT pg_advisory_xact_lock(:k, :i)"), {"k": key, "i": int(entity_id) % 2**31})


def _write_locked(db: Session) -> bool:
    """Whether this transaction already holds the database's write lock. SQLite's driver opens
    its transaction at the first INSERT/UPDATE only: before that, a read is not protected from a
    concurrent writer. On PostgreSQL the entity's advisory lock (``_lock_entity``) is what counts."""
    connection = db.connection()
    if connection.dialect.name != "sqlite":
        return True
    return bool(connection.connection.dbapi_connection.in_transaction)


def seal(db: Session, event: AuditEvent) -> None:
    """Insert ``event`` (not yet added to the session) chained after its entity's last row.

    The head of an entity's chain is read once per transaction: once read, the entity's lock
    (PostgreSQL) or the database's write lock (SQLite) is held until the transaction ends, so no
    other writer can append to that chain meanwhile; the head is then kept in ``session.info``
    and forgotten when the transaction or any savepoint of the session ends
    (:func:`certification.db.transaction_cache`). The row is inserted with its hashes (one
    statement), except when nothing has been written yet on SQLite: then it is inserted first, to
    take the write lock before its predecessor is read, and its hashes are written after.
    """
    heads = transaction_cache(db, "audit_chain_heads")
    key = (event.entity_type, int(event.entity_id))
    prev = heads.get(key)
    if prev is None:
        _lock_entity(db, event.entity_type, event.entity_id)
        db.flush()
        latest = select(AuditEvent.row_hash).where(
            AuditEvent.entity_type == event.entity_type, AuditEvent.entity_id == event.entity_id
        )
        if not _write_locked(db):
            db.add(event)
            db.flush()
            latest = latest.where(AuditEvent.id < event.id)
        prev = db.exec(latest.order_by(AuditEvent.id.desc()).limit(1)).first() or GENESIS
    event.prev_hash = prev
    event.row_hash = row_hash(event.prev_hash, event)
    db.add(event)
    db.flush()  # its id: the effects it owes and its webhooks name it
    heads[key] = event.row_hash


@dataclass(frozen=True)
class ChainBreak:
    event_id: int
    entity_type: str
    entity_id: int
    reason: str  # French, for `cqp check` and the officer page

    def describe(self) -> str:
        return f"ligne d'audit n° {self.event_id} ({self.entity_type} n° {self.entity_id}) : {self.reason}"


@dataclass(frozen=True)
class ChainReport:
    checked: int
    first_break: ChainBreak | None

    @property
    def intact(self) -> bool:
        return self.first_break is None


def _all_events(db: Session) -> Iterator[AuditEvent]:
    last = 0
    while True:
        rows = db.exec(select(AuditEvent).where(AuditEvent.id > last).order_by(AuditEvent.id).limit(_BATCH)).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].id
        db.expunge_all()


def check_events(events: Iterable[AuditEvent]) -> ChainReport:
    """Walk ``events`` in id order; the first row whose hash or link is wrong is the break."""
    heads: dict[tuple[str, int], str] = {}
    checked = 0
    for event in events:
        checked += 1
        key = (event.entity_type, int(event.entity_id))
        expected_prev = heads.get(key, GENESIS)
        if event.row_hash is None:
            reason = "ligne non scellée (empreinte absente)"
        elif event.prev_hash != expected_prev:
            reason = (
                "le lien vers la ligne précédente de ce dossier est rompu "
                "(ligne supprimée, insérée ou réécrite avant elle)"
            )
        elif event.row_hash != row_hash(event.prev_hash, event):
            reason = "son contenu a été modifié après son enregistrement (empreinte différente)"
        else:
            heads[key] = event.row_hash
            continue
        return ChainReport(checked, ChainBreak(event.id, event.entity_type, int(event.entity_id), reason))
    return ChainReport(checked, None)


def verify_chain(db: Session) -> ChainReport:
    """Check every audit row; the report names the first broken one (in id order)."""
    return check_events(_all_events(db))


def seal_existing(connection: Connection) -> int:
    """Chain rows written before the audit chain existed (migration 0017); returns how many.
    Plain SQL on the columns of that revision, so that later changes of the model do not matter."""
    from types import SimpleNamespace

    from sqlalchemy import JSON, Column, Integer, String, Text, bindparam, table, update

    from certification.types import UTCDateTime

    events = table(
        "audit_events",
        Column("id", Integer),
        Column("entity_type", String),
        Column("entity_id", Integer),
        Column("action", String),
        Column("from_state", String),
        Column("to_state", String),
        Column("actor_id", Integer),
        Column("actor_role", String),
        Column("actor_label", String),
        Column("at", UTCDateTime()),
        Column("reason", Text),
        Column("data", JSON),
        Column("prev_hash", String),
        Column("row_hash", String),
    )
    heads: dict[tuple[str, int], str] = {}
    count, last = 0, 0
    while True:
        rows = connection.execute(events.select().where(events.c.id > last).order_by(events.c.id).limit(_BATCH)).all()
        if not rows:
            return count
        sealed = []
        for row in rows:
            event = SimpleNamespace(**row._mapping)
            key = (event.entity_type, int(event.entity_id))
            if event.row_hash is None:
                event.prev_hash = heads.get(key, GENESIS)
                event.row_hash = row_hash(event.prev_hash, event)
                sealed.append({"key_id": event.id, "p": event.prev_hash, "h": event.row_hash})
            heads[key] = event.row_hash
        if sealed:
            connection.execute(
                update(events)
                .where(events.c.id == bindparam("key_id"))
                .values(prev_hash=bindparam("p"), row_hash=bindparam("h")),
                sealed,
            )
            count += len(sealed)
        last = rows[-1].id
