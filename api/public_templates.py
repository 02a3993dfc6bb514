"""The templates of the API's public pages (``api/templates``: the verification pages of a
certificate and of a digital credential, the activity report), in one Jinja2 environment made
when the first of them is rendered."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from jinja2 import Environment

from documents.render import make_environment

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


@cache
def public_templates() -> Environment:
    """The environment of ``api/templates`` (HTML autoescaped)."""
    return make_environment(TEMPLATES_DIR, autoescape_extensions=("html",))
