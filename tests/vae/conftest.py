"""Fixtures of the VAE tests (tests/vae/), taken from the layers' own test folders: the API client
and accounts (tests/api), the Prefect server and SMTP server of the flows (tests/flows). The
database comes from tests/conftest.py; the world (an agréée structure, its account, a jury) here."""

from __future__ import annotations

import pytest

from certification.models import Role
from tests.api.conftest import client, people  # noqa: F401  (fixtures)
from tests.factories import add_user, grant_agrement, siret, structure_account, structure_id_of
from tests.flows.conftest import prefect_server, smtp  # noqa: F401  (fixtures)


@pytest.fixture
def world(people):  # noqa: F811
    """Two agréées structures with an account each, and a jury member of no session."""
    grant_agrement(people, 1)
    grant_agrement(people, 2)
    for key, n in (("structure", 1), ("other_structure", 2)):
        structure_account(people, siret(n), key)["structure_id"] = structure_id_of(n)
    people["outsider"] = add_user("jury.autre@cqp.test", "Juré d'une autre session", Role.jury_member)
    return people
