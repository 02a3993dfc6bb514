"""The templates of the API's public pages (``api/templates``: the verification pages of a
certificate and of a digital credential, the activity report), in one Jinja2 environment made
when the first of them is rendered."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from jinja2 import ChoiceLoader, Environment, FileSystemLoader

from documents.render import TEMPLATES_DIR as DOCUMENT_TEMPLATES_DIR
from documents.render import make_environment

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


@cache
def public_templates() -> Environment:
    """The environment of ``api/templates`` (HTML autoescaped). It also finds the templates of
    ``documents/templates``, for the macros the activity report's page shares with its PDF
    (``reporting/_activity.html``)."""
    env = make_environment(TEMPLATES_DIR, autoescape_extensions=("html",))
    env.loader = ChoiceLoader([FileSystemLoader(str(TEMPLATES_DIR)), FileSystemLoader(str(DOCUMENT_TEMPLATES_DIR))])
    return env
