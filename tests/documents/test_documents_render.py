"""The rendering of the letters: what a PDF may load, the font subsetting available (the letters
of each process are read back in its own tests folder, e.g. tests/agrement/test_agrement_letters.py)."""

from __future__ import annotations

import ctypes.util

import pytest

from documents import render


def test_pdf_resources_are_limited_to_the_templates_directory() -> None:
    fetcher = render._url_fetcher()
    with pytest.raises(ValueError):
        fetcher.fetch("file:///etc/passwd")
    with pytest.raises(ValueError):
        fetcher.fetch((render.TEMPLATES_DIR / ".." / "render.py").as_uri())
    response = fetcher.fetch((render.TEMPLATES_DIR / "letter.css").as_uri())
    try:
        assert b"@page" in response.read()
    finally:
        response.close()


def test_harfbuzz_subset_check_matches_the_system() -> None:
    assert render.harfbuzz_subset_available() is (ctypes.util.find_library("harfbuzz-subset") is not None)
