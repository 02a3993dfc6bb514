"""Reading back what the tests render: the text of a PDF or a letter, and the fragments it must say."""

from __future__ import annotations

import io
from collections.abc import Iterable

from pypdf import PdfReader

from documents import render


def pdf_text(data: bytes) -> str:
    """The text of a PDF as a reader sees it, whitespace folded (line breaks depend on the layout)."""
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text() or "" for page in reader.pages).split())


def letter_text(template: str, context: dict) -> str:
    """The text of a letter rendered to a real PDF and read back."""
    return pdf_text(render.render_pdf(template, context))


def assert_contains(text: str, fragments: Iterable[str]) -> None:
    """Every fragment stands in ``text``; a failure names all the missing fragments at once."""
    missing = [fragment for fragment in fragments if fragment not in text]
    assert not missing, f"missing from the text: {missing}\n--- text ---\n{text}"
