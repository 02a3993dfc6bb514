"""Fixtures of the contrôle tests (tests/controle/), taken from the layers' own test folders: the
API client and accounts (tests/api), the PDF text (tests/documents), the Prefect server and SMTP
server of the flows (tests/flows); the contrôle's sample context of its letters and e-mails. The
database comes from tests/conftest.py."""

from __future__ import annotations

import pytest

from documents.samples import sample_controle_context
from tests.api.conftest import client, people  # noqa: F401  (fixtures)
from tests.documents.conftest import pdf_text  # noqa: F401  (fixtures)
from tests.flows.conftest import prefect_server, smtp  # noqa: F401  (fixtures)


@pytest.fixture
def controle_context() -> dict:
    return sample_controle_context()
