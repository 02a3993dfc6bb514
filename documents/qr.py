"""QR codes printed on certificates and attestations (link to the public verification page).

:func:`qr_svg` returns inline SVG markup (no XML declaration) to insert in a template with
``|safe``: WeasyPrint draws it as vector paths, so the code stays sharp at any zoom and the
PDF holds no image. The output depends only on the URL (same URL, same markup), which keeps
the generated documents reproducible.
"""

from __future__ import annotations

import io
import re

import segno

#: Dark modules in the colour of the letterhead (``letter.css``); light modules are not drawn.
QR_DARK = "#1f3a5f"
#: Printed width of the symbol, quiet zone included: about 3 cm, comfortable for a phone camera.
QR_SIZE_MM = 30
#: Error correction level "M" (15 % of the symbol may be damaged: folds, stamps, stains).
QR_ERROR = "m"
QR_BORDER = 4  # quiet zone required by ISO/IEC 18004, in modules

_SVG_START = re.compile(r"^<svg\b")


def qr_svg(url: str, *, size_mm: float = QR_SIZE_MM) -> str:
    """Inline SVG of a QR code encoding ``url``, ``size_mm`` wide (30 mm by default).

    The markup is ``<svg xmlns=... width="30mm" height="30mm" viewBox="0 0 N N" ...>`` with
    one ``<path>``; it holds only the encoded URL as data, so it is safe to insert unescaped.
    """
    if not url:
        raise ValueError("A QR code needs a non-empty URL")
    if any(ord(c) < 32 or ord(c) == 127 for c in url):
        raise ValueError(f"Control character in the URL of a QR code: {url!r}")
    qr = segno.make(url, error=QR_ERROR, boost_error=False)
    buffer = io.BytesIO()
    qr.save(
        buffer,
        kind="svg",
        dark=QR_DARK,
        border=QR_BORDER,
        xmldecl=False,
        svgns=True,
        svgclass="qr",
        lineclass="qr-modules",
        omitsize=True,  # only a viewBox: the printed size is set just below
        nl=False,
    )
    markup = buffer.getvalue().decode("utf-8")
    size = f"{size_mm:g}mm"
    markup, count = _SVG_START.subn(
        f'<svg width="{size}" height="{size}" role="img" aria-label="QR code de vérification"', markup
    )
    if count != 1:  # pragma: no cover - segno changed its output
        raise RuntimeError("Unexpected SVG output from segno")
    return markup
