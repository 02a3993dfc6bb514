"""Fixtures of the SI CPF export tests (tests/cpf/), taken from the layers' own test folders: the
API client and accounts (tests/api), the Prefect server and SMTP server of the flows (tests/flows).
The database comes from tests/conftest.py; ``world`` is where every export test starts."""

from __future__ import annotations

import pytest

from tests.cpf.holders import registered_structure
from tests.factories import make_users
from tests.api.conftest import client, people  # noqa: F401  (fixtures)
from tests.flows.conftest import prefect_server, smtp  # noqa: F401  (fixtures)


@pytest.fixture
def world(settings):
    """The users and an agréée structure's account, CQP SP registered under RNCP 34567."""
    users = make_users()
    return users, registered_structure(users, "RNCP 34567")
