"""Fixtures of the agrément tests (tests/agrement/), taken from the layers' own test folders: the
API client, accounts and submissions (tests/api), the letter context and PDF text (tests/documents),
the Prefect server and SMTP server of the flows (tests/flows). The database comes from
tests/conftest.py."""

from __future__ import annotations

from tests.api.conftest import client, people, submission, submit  # noqa: F401  (fixtures)
from tests.documents.conftest import context, pdf_pages, pdf_text  # noqa: F401  (fixtures)
from tests.flows.conftest import prefect_server, smtp  # noqa: F401  (fixtures)
