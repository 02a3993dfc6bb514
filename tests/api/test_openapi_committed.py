"""The committed ``openapi.json`` is the API's contract: the live document must not drift from it.
After an intended change, regenerate it (``.venv/bin/cqp openapi > openapi.json``) and list any
breaking change in CHANGELOG.md."""

from __future__ import annotations

import difflib
from pathlib import Path

from api.cli import openapi_document

COMMITTED = Path(__file__).resolve().parents[2] / "openapi.json"


def test_live_spec_matches_the_committed_openapi_json():
    live, committed = openapi_document(), COMMITTED.read_text(encoding="utf-8")
    if live != committed:
        diff = "".join(
            list(
                difflib.unified_diff(
                    committed.splitlines(True), live.splitlines(True), "openapi.json (committed)", "live", n=2
                )
            )[:80]
        )
        raise AssertionError(
            "The API's OpenAPI document drifted from openapi.json; if intended, run "
            "`.venv/bin/cqp openapi > openapi.json` and note breaking changes in "
            f"CHANGELOG.md.\n{diff}"
        )
