"""Database engine and unit-of-work helpers (SQLite by default, PostgreSQL by URL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from threading import Lock
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import SessionTransaction, SessionTransactionOrigin
from sqlmodel import Session, create_engine

from certification.settings import get_settings

T = TypeVar("T")

_engines: dict[str, Engine] = {}
_lock = Lock()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:  # pragma: no cover - driver hook
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        db_path = url.split("///", 1)[-1]
        if db_path and db_path != ":memory:":
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def get_engine(url: str | None = None) -> Engine:
    url = url or get_settings().sqlalchemy_url
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = make_engine(url)
        return engine


def dispose_engines() -> None:
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def new_session(engine: Engine | None = None) -> Session:
    return Session(engine or get_engine(), expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error."""
    db = new_session(engine)
    try:
        yield db
        db.commit()
    except BaseException:
        db.rollback()
        raise
    finally:
        db.close()


_CACHES = "transaction_caches"


def transaction_cache(db: Session, name: str) -> dict[Any, Any]:
    """A dict kept in ``session.info`` for what one transaction may read once (the head of an
    audit chain it holds the lock of, the webhook subscriptions); emptied when the transaction or
    any savepoint of the session ends (commit, rollback, release), not at each flush."""
    caches: dict[str, dict[Any, Any]] = db.info.setdefault(_CACHES, {})
    return caches.setdefault(name, {})


@event.listens_for(OrmSession, "after_transaction_end")
def _forget_caches(db: OrmSession, transaction: SessionTransaction) -> None:
    # A flush runs in a subtransaction of the caller's: its end is not the transaction's (a failed
    # flush rolls the enclosing transaction back, which ends it and empties the caches then).
    if transaction.origin is SessionTransactionOrigin.SUBTRANSACTION:
        return
    db.info.pop(_CACHES, None)


_KEPT = "kept_rows"


def get_kept(db: Session, model: type[T], ident: Any) -> T | None:
    """``session.get`` for a reference row read again and again in one session (a référentiel's
    version for each of a jury's 1,000 candidates): the row is kept referenced for the session's
    life, so that the next ``get`` finds it in the identity map instead of querying again (the
    identity map only holds rows weakly). Expiry still applies: after a commit the row is
    refreshed on access as any other."""
    row = db.get(model, ident)
    if row is not None:
        db.info.setdefault(_KEPT, {})[(model, ident)] = row
    return row


def is_postgres(session_or_engine: Session | Engine) -> bool:
    bind = session_or_engine.get_bind() if isinstance(session_or_engine, Session) else session_or_engine
    return bind.dialect.name == "postgresql"


@contextmanager
def begin_savepoint(db: Session) -> Iterator[None]:
    """``session.begin_nested()`` that stays nested on SQLite too.

    The pysqlite driver opens its transaction lazily, at the first INSERT/UPDATE. A
    SAVEPOINT issued before that starts the transaction itself, and its RELEASE then
    *commits*: the caller could no longer roll back. When the connection is in that
    state an explicit BEGIN is issued first, so the savepoint nests inside the caller's
    transaction. (Engines configured with SQLAlchemy's "BEGIN on begin" recipe are
    already in a transaction and are left alone.) The block flushes on exit; an
    IntegrityError rolls back to the savepoint only and propagates.
    """
    connection = db.connection()
    if connection.dialect.name == "sqlite":
        dbapi_connection = connection.connection.dbapi_connection
        if (
            dbapi_connection is not None
            and not dbapi_connection.in_transaction
            and dbapi_connection.isolation_level is not None
        ):
            connection.exec_driver_sql("BEGIN")
    with db.begin_nested():
        yield
