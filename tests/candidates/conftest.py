"""Fixtures of the candidates' tests (tests/candidates/), taken from the layers' own test folders:
the API client and accounts (tests/api). The database comes from tests/conftest.py."""

from __future__ import annotations

from tests.api.conftest import client, people  # noqa: F401  (fixtures)
