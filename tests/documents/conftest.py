"""Fixtures of the documents tests (the database comes from tests/conftest.py)."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from pypdf import PdfReader

from documents.samples import sample_context


@pytest.fixture
def context() -> dict:
    return sample_context()


@pytest.fixture
def pdf_text() -> Callable[[bytes], str]:
    """Text of a PDF, whitespace collapsed (line breaks depend on the layout)."""

    def extract(data: bytes) -> str:
        reader = PdfReader(io.BytesIO(data))
        return " ".join(" ".join(page.extract_text() or "" for page in reader.pages).split())

    return extract


@pytest.fixture
def pdf_pages() -> Callable[[bytes], int]:
    return lambda data: len(PdfReader(io.BytesIO(data)).pages)
