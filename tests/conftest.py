"""Shared fixtures. The database is SQLite in a temporary directory, or the PostgreSQL server
named by ``CQP_TEST_DATABASE_URL`` (``scripts/test.sh`` runs the suite on both)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

_TMP = Path(tempfile.mkdtemp(prefix="cqp-tests-"))
DATA_DIR = _TMP / "data"
DATABASE_URL = os.environ.get("CQP_TEST_DATABASE_URL") or f"sqlite:///{_TMP / 'cqp.db'}"
os.environ.update(
    {
        "CQP_DATA_DIR": str(DATA_DIR),
        "CQP_DATABASE_URL": DATABASE_URL,
        "CQP_MAIL_TRANSPORT": "outbox",
        "CQP_FLOW_DISPATCH": "none",
        "CQP_MAIL_BACKOFF_SECONDS": "30",
        "PREFECT_HOME": str(_TMP / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "DO_NOT_TRACK": "1",
    }
)

import pytest  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlmodel import SQLModel  # noqa: E402

from certification.db import dispose_engines, get_engine, new_session  # noqa: E402
from certification.settings import get_settings, reset_settings_cache  # noqa: E402

IS_POSTGRES = DATABASE_URL.startswith("postgresql")


@pytest.fixture(scope="session")
def engine():
    """The test database, built by the Alembic migrations (so they are tested on each backend)."""
    import documents.models  # noqa: F401
    import notifications.models  # noqa: F401
    from certification.migrate import upgrade

    engine = get_engine(DATABASE_URL)
    if IS_POSTGRES:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade(DATABASE_URL)
    yield engine
    dispose_engines()
    shutil.rmtree(_TMP, ignore_errors=True)


def _wipe(engine) -> None:
    tables = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]
    with engine.begin() as conn:
        if IS_POSTGRES:
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f'DELETE FROM "{table}"'))


@pytest.fixture(autouse=True)
def clean_state(engine):
    """Each test starts from empty tables, an empty data directory and fresh settings."""
    from api.throttle import throttle

    reset_settings_cache()
    throttle.reset()
    _wipe(engine)
    shutil.rmtree(DATA_DIR, ignore_errors=True)
    DATA_DIR.mkdir(parents=True)
    yield
    reset_settings_cache()


@pytest.fixture
def settings():
    return get_settings()


@pytest.fixture
def db(engine):
    s = new_session(engine)
    try:
        yield s
    finally:
        s.rollback()
        s.close()


@pytest.fixture(scope="session")
def pdf_bytes() -> bytes:
    """A small real PDF (made by WeasyPrint)."""
    from weasyprint import HTML

    return HTML(string="<h1>Dossier de demande d'agrément</h1><p>Pièce de test.</p>").write_pdf()
