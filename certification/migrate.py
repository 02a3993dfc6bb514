"""Apply the Alembic migrations programmatically (``cqp migrate``, tests, the main job)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config

ROOT = Path(__file__).resolve().parents[1]


def alembic_config(url: str | None = None) -> Config:
    from alembic.config import Config

    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    # the scripts import their shared building blocks as ``migrations.helpers``, whatever the cwd
    config.set_main_option("prepend_sys_path", str(ROOT))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


_REVISION = re.compile(r'^revision(?:: str)? = ["\']([^"\']+)["\']', re.M)
_DOWN = re.compile(r"^down_revision[^=]*= (.+)$", re.M)


def script_head() -> str | None:
    """The single head of the migration scripts, read from their text (no import); None when it
    cannot be told that way (then Alembic decides)."""
    revisions, parents = set(), set()
    for path in (ROOT / "migrations" / "versions").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        revision, down = _REVISION.search(text), _DOWN.search(text)
        if revision is None or down is None:
            return None
        revisions.add(revision.group(1))
        parents.update(re.findall(r'["\']([^"\']+)["\']', down.group(1)))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def at_head(url: str | None = None) -> bool:
    """True when the database is already at the scripts' single head (the usual start)."""
    from sqlalchemy import create_engine, inspect, text

    from certification.settings import get_settings

    head = script_head()
    if head is None:
        return False
    engine = create_engine(url or get_settings().sqlalchemy_url)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return False
            versions = [row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))]
    finally:
        engine.dispose()
    return versions == [head]


def upgrade(url: str | None = None) -> None:
    """Upgrade to head; at start-up, a database already there is told in a few milliseconds
    (Alembic, which imports every migration script, runs only when there is work)."""
    if at_head(url):
        return
    from alembic import command

    command.upgrade(alembic_config(url), "head")
