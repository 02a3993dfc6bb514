"""Fixtures of the Open Badges tests (tests/credentials/): the API client and accounts of tests/api
(test_credentials_services.py declares its own ``people``). The database comes from tests/conftest.py."""

from __future__ import annotations

from tests.api.conftest import client, people  # noqa: F401  (fixtures)
