"""Fixtures of the notifications tests: a real SMTP server (aiosmtpd) on a free port.

The database and the settings come from tests/conftest.py.
"""

from __future__ import annotations

import pytest
from documents.samples import sample_context
from tests.smtp import SmtpServer


@pytest.fixture
def smtp_server():
    """An SMTP server, not started: tests start it (or leave it down) themselves."""
    server = SmtpServer()
    yield server
    server.stop()


@pytest.fixture
def context() -> dict:
    return sample_context()
