"""Fixtures of the documents tests (the database comes from tests/conftest.py)."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from pypdf import PdfReader

from documents.samples import sample_context
from tests import texts


@pytest.fixture
def context() -> dict:
    return sample_context()


@pytest.fixture
def pdf_text() -> Callable[[bytes], str]:
    """Text of a PDF, whitespace collapsed (line breaks depend on the layout)."""
    return texts.pdf_text


@pytest.fixture
def pdf_pages() -> Callable[[bytes], int]:
    return lambda data: len(PdfReader(io.BytesIO(data)).pages)
