"""Rendering of letters: Jinja2 templates (HTML) turned into PDF by WeasyPrint.

Templates live in ``documents/templates``. HTML is autoescaped and undefined
variables raise (:class:`jinja2.StrictUndefined`), so a missing context key fails
loudly instead of printing an empty string in an official letter.

WeasyPrint may only read files from the templates directory (stylesheet, logo):
user-supplied text is escaped anyway, but a stray ``<img src="file:///...">`` must
never pull a server file into a PDF.
"""

from __future__ import annotations

import ctypes.util
import logging
import threading
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from documents.formatting import FILTERS
from documents.french import FRENCH_FILTERS, FRENCH_GLOBALS, typography_html

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

logger = logging.getLogger(__name__)


def make_environment(templates_dir: Path, *, autoescape_extensions: tuple[str, ...]) -> Environment:
    """A strict Jinja2 environment with the French formatting and grammar filters.

    Shared with ``notifications`` and the API's pages so that letters, e-mails and pages format
    dates and sizes alike and share the grammar helpers of :mod:`documents.french` (elision,
    agreement with the sex, the certifier's name with its article).
    """
    env = Environment(
        loader=FileSystemLoader(str(templates_dir)),
        autoescape=select_autoescape(enabled_extensions=autoescape_extensions, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(FILTERS)
    env.filters.update(FRENCH_FILTERS)
    env.globals.update(FRENCH_GLOBALS)
    return env


env = make_environment(TEMPLATES_DIR, autoescape_extensions=("html", "htm", "xml"))


def render_html(template_name: str, context: Mapping[str, Any]) -> str:
    """Render a letter template to an HTML string (also used for on-screen previews), with the
    non-breaking spaces of French typography."""
    return typography_html(env.get_template(template_name).render(**context))


# --- PDF ---------------------------------------------------------------------------

_thread_state = threading.local()


def _weasyprint_state() -> tuple[Any, dict]:
    """Per-thread FontConfiguration and resource cache, reused between renders.

    Building a FontConfiguration (fontconfig/Pango font map) and re-reading the
    stylesheet are the fixed costs of a render; they are kept per thread because
    WeasyPrint objects are not documented as thread-safe.
    """
    state = getattr(_thread_state, "weasyprint", None)
    if state is None:
        from weasyprint.text.fonts import FontConfiguration

        state = _thread_state.weasyprint = (FontConfiguration(), {})
    return state


@lru_cache(maxsize=1)
def _url_fetcher():
    """A URL fetcher restricted to files under the templates directory (and data: URIs)."""
    from weasyprint.urls import URLFetcher

    allowed_root = TEMPLATES_DIR.as_uri() + "/"

    class TemplatesOnlyFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            if not (url.startswith(allowed_root) or url.startswith("data:")) or "/../" in url:
                raise ValueError(f"Resource outside the templates directory refused: {url[:200]}")
            return super().fetch(url, headers)

    return TemplatesOnlyFetcher(allowed_protocols=("file", "data"))


#: Archival PDFs: PDF/A-3b (fonts embedded, sRGB output intent, XMP metadata: title from <title>,
#: author from <meta name="author">, language from <html lang="fr">).
PDF_VARIANT = "pdf/a-3b"


def render_pdf(template_name: str, context: Mapping[str, Any]) -> bytes:
    """Render a letter template to PDF/A bytes (A4, DejaVu Sans, page numbers in the footer)."""
    from weasyprint import HTML

    html = render_html(template_name, context)
    font_config, cache = _weasyprint_state()
    document = HTML(string=html, base_url=str(TEMPLATES_DIR) + "/", url_fetcher=_url_fetcher())
    return document.write_pdf(font_config=font_config, cache=cache, pdf_variant=PDF_VARIANT)


# --- Setup checks --------------------------------------------------------------------


def harfbuzz_subset_available() -> bool:
    """Whether the HarfBuzz subsetting library is installed.

    Without it WeasyPrint subsets fonts with fontTools: slower, and announced as
    unsupported by future WeasyPrint versions. Setup checks report it as a warning.
    """
    return ctypes.util.find_library("harfbuzz-subset") is not None


class _OnceFilter(logging.Filter):
    """Let the "fontTools instead of HarfBuzz-Subset" warning through once, not per render."""

    def __init__(self) -> None:
        super().__init__()
        self._seen = False

    def filter(self, record: logging.LogRecord) -> bool:
        if "HarfBuzz-Subset" not in str(record.msg):
            return True
        if self._seen:
            return False
        self._seen = True
        return True


logging.getLogger("weasyprint").addFilter(_OnceFilter())
