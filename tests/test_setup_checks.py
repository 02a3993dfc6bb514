"""Checks that the machine was set up by scripts/setup.sh (system libraries, test database)."""

from __future__ import annotations

import ctypes
import ctypes.util
import os

import pytest


def test_harfbuzz_subset_is_loadable() -> None:
    # Without it WeasyPrint falls back to a much slower font subsetting.
    name = ctypes.util.find_library("harfbuzz-subset")
    assert name, "libharfbuzz-subset not found: apt-get install libharfbuzz-subset0 (scripts/setup.sh does it)"
    lib = ctypes.CDLL(name)
    assert hasattr(lib, "hb_subset_or_fail")


def test_weasyprint_imports_and_renders() -> None:
    import weasyprint

    pdf = weasyprint.HTML(string="<p>CQP</p>").write_pdf()
    assert pdf is not None and pdf.startswith(b"%PDF")


def test_postgresql_answers_when_selected() -> None:
    url = os.environ.get("CQP_TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        pytest.skip("CQP_TEST_DATABASE_URL is not a PostgreSQL URL")
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            version = conn.execute(text("select version()")).scalar_one()
    finally:
        engine.dispose()
    assert "PostgreSQL" in version
