from __future__ import annotations

import pytest
from sqlmodel import select

from certification.db import session_scope
from certification.settings import reset_settings_cache
from documents.models import GeneratedDocument
from tests.factories import users_and_agreed_structure
from tests.smtp import SmtpServer
from tests.texts import pdf_text  # noqa: F401  (the flows' tests import it from here)


@pytest.fixture(scope="session")
def prefect_server():
    """One real (ephemeral) Prefect server for the whole session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def world():
    """Users, one agréée structure and its account."""
    return users_and_agreed_structure()


@pytest.fixture
def smtp(monkeypatch):
    server = SmtpServer()
    server.start()
    monkeypatch.setenv("CQP_MAIL_TRANSPORT", "smtp")
    monkeypatch.setenv("CQP_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CQP_SMTP_PORT", str(server.port))
    reset_settings_cache()
    yield server
    server.stop()


def generated_documents(entity_type: str) -> list[GeneratedDocument]:
    """The documents generated for the dossiers of ``entity_type``, as stored."""
    with session_scope() as db:
        return list(db.exec(select(GeneratedDocument).where(GeneratedDocument.entity_type == entity_type)))
