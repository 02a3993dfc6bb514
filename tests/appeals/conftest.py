"""Fixtures of the appeals' tests (tests/appeals/), taken from the layers' own test folders: the API
client and accounts (tests/api), the PDF text (tests/documents), the users and agréée structure of
the flows (tests/flows). The database comes from tests/conftest.py."""

from __future__ import annotations

from tests.api.conftest import client, people  # noqa: F401  (fixtures)
from tests.documents.conftest import pdf_text  # noqa: F401  (fixtures)
from tests.flows.conftest import world  # noqa: F401  (fixtures)
