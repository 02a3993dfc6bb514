"""Fixtures of the jury and issuance tests (tests/jury/), taken from the layers' own test folders:
the API client and accounts (tests/api), the PDF text and page count (tests/documents), the Prefect
server, SMTP server and users with an agréée structure of the flows (tests/flows). The database comes
from tests/conftest.py."""

from __future__ import annotations

from tests.api.conftest import client, people  # noqa: F401  (fixtures)
from tests.documents.conftest import pdf_pages, pdf_text  # noqa: F401  (fixtures)
from tests.flows.conftest import prefect_server, smtp, world  # noqa: F401  (fixtures)
