"""Letters, PV, certificates and attestations are archival PDFs: PDF/A-3b with every font embedded,
a title, the certifier as author and French as language, read back with pypdf."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from documents import render
from tests.documents.letters import LETTERS


def _fonts(reader: PdfReader) -> dict[str, bool]:
    """Base font name -> whether its program is embedded."""
    fonts = {}
    for page in reader.pages:
        for ref in page["/Resources"].get("/Font", {}).values():
            font = ref.get_object()
            descriptor = font.get("/FontDescriptor") or font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            descriptor = descriptor.get_object()
            fonts[str(font["/BaseFont"])] = any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
    return fonts


@pytest.mark.parametrize("template", sorted(LETTERS))
def test_documents_are_pdf_a_with_metadata(template: str) -> None:
    reader = PdfReader(io.BytesIO(render.render_pdf(template, LETTERS[template]())))

    xmp = reader.xmp_metadata
    assert (xmp.pdfaid_part, xmp.pdfaid_conformance) == ("3", "B")
    assert reader.trailer["/Root"]["/OutputIntents"][0]["/S"] == "/GTS_PDFA1"
    assert reader.trailer["/Root"]["/Lang"] == "fr"
    info = reader.metadata
    assert info.title and len(info.title) > 10 and "{" not in info.title
    assert info.author == "Organisme certificateur CQP de la branche des ACI"
    fonts = _fonts(reader)
    assert fonts and all(fonts.values()), fonts
