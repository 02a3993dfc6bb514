"""Layout of the PDFs, read back with pdfplumber: no word crosses the right edge of its table cell,
no page holds only a signature block."""

from __future__ import annotations

import io

import pdfplumber
import pytest

from documents import render
from tests.documents.letters import LETTERS

SIGNATURE_MARKERS = ("Pour l'Organisme certificateur", "La présidence du jury", "Rapport établi pour")


def _overflowing_words(data: bytes) -> list[tuple[int, str, float]]:
    """(page, word, by how many points) for each word that runs past its cell's right edge."""
    out = []
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for number, page in enumerate(pdf.pages, start=1):
            words = page.extract_words(use_text_flow=True)
            for table in page.find_tables():
                for x0, top, x1, bottom in table.cells:
                    out += [
                        (number, w["text"], round(w["x1"] - x1, 1))
                        for w in words
                        if x0 - 1 <= w["x0"] < x1 and top - 1 <= w["top"] < bottom and w["x1"] > x1 + 0.5
                    ]
    return out


def _words_before_signature(data: bytes) -> list[int]:
    """For each page holding a signature block: how many words precede the block on that page."""
    counts = []
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for page in pdf.pages:
            text = " ".join((page.extract_text() or "").split())
            found = [text.index(m) for m in SIGNATURE_MARKERS if m in text]
            if found:
                counts.append(len(text[: min(found)].split()))
    return counts


@pytest.mark.parametrize("template", sorted(LETTERS))
def test_no_word_crosses_its_cell(template: str) -> None:
    """The PV sample has the domain's outcome labels: « certification obtenue » used to run 7 pt into
    the « N° de document » column."""
    assert _overflowing_words(render.render_pdf(template, LETTERS[template]())) == []


@pytest.mark.parametrize("template", sorted(LETTERS))
def test_no_page_holds_only_a_signature(template: str) -> None:
    counts = _words_before_signature(render.render_pdf(template, LETTERS[template]()))
    assert all(count >= 15 for count in counts), counts
