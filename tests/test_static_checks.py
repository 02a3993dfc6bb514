"""The checks of scripts/check.sh catch what they are meant to catch, and the migrations have one head."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from alembic.script import ScriptDirectory

from certification.migrate import alembic_config, at_head, script_head, upgrade

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("certification", "flows", "documents", "notifications", "api")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def test_migrations_have_one_head() -> None:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1, f"several Alembic heads {heads}: add a merge revision"
    # the start-up's fast path (no Alembic when the database is at head) reads the same head
    assert script_head() == heads[0]


def test_start_up_skips_alembic_only_at_head(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert not at_head(url)  # an empty database: Alembic runs
    upgrade(url)
    assert at_head(url)
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:  # one revision behind: Alembic runs again and brings it to head
        conn.execute(text("UPDATE alembic_version SET version_num = '0015_credentials'"))
    engine.dispose()
    assert not at_head(url)


def _lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    # PYTHONPATH first: the copies are found before the editable install of the real tree.
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", str(tree / "pyproject.toml")],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_import_contracts_refuse_fastapi_in_the_domain(tmp_path: Path) -> None:
    """A copy of the tree passes the contracts of pyproject.toml until ``certification`` imports FastAPI."""
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package,
            tmp_path / package,
            ignore=shutil.ignore_patterns("*.pyc", "__pycache__"),
            ignore_dangling_symlinks=True,
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")

    clean = _lint_imports(tmp_path)
    assert clean.returncode == 0, clean.stdout + clean.stderr

    (tmp_path / "certification" / "leak.py").write_text("import fastapi  # a domain module reaching the web layer\n")
    broken = _lint_imports(tmp_path)
    assert broken.returncode != 0, broken.stdout
    assert "certification.leak -> fastapi" in broken.stdout, broken.stdout


RUFF = Path(sys.executable).with_name("ruff")


def _formatted_folders() -> list[str]:
    import re

    found = re.search(r"^FORMATTED=\(([^)]*)\)$", (ROOT / "scripts" / "check.sh").read_text(), re.M)
    assert found, "scripts/check.sh names the folders whose layout the formatter checks"
    paths = [str(p.relative_to(ROOT)) for entry in found.group(1).split() for p in sorted(ROOT.glob(entry))]
    assert paths, found.group(1)
    return paths


def test_the_formatter_check_refuses_a_hand_laid_module(tmp_path: Path) -> None:
    """The folders check.sh formats are formatted, and a module laid out by hand among them fails."""
    folders = _formatted_folders()
    assert {"flows", "documents", "notifications", "bench"} <= set(folders)
    check = [str(RUFF), "format", "--check", *folders]
    clean = subprocess.run(check, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    shutil.copytree(ROOT / "flows", tmp_path / "flows", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "flows" / "hand_laid.py").write_text("STEPS = {'convene':1,\n    'sign': 2}\n")
    broken = subprocess.run(
        [str(RUFF), "format", "--check", "flows"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert broken.returncode == 1
    assert "hand_laid.py" in broken.stdout + broken.stderr
