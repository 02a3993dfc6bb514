"""Fixtures of the domain tests (tests/certification/): the accounts of tests/api (``people``).
The database comes from tests/conftest.py."""

from __future__ import annotations

from tests.api.conftest import people  # noqa: F401  (fixture)
