"""Fixtures of the fault-injection tests: a real Prefect server, a real SMTP server that can fail."""

from __future__ import annotations

import threading

import pytest

from certification.settings import reset_settings_cache
from tests.flows.conftest import world  # noqa: F401  (fixture: users, one agréée structure and its account)
from tests.smtp import CollectingHandler, SmtpServer


@pytest.fixture(scope="session")
def prefect_server():
    """One real (ephemeral) Prefect server for the fault tests."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


class OutageHandler(CollectingHandler):
    """Accepts ``accept`` messages, then the server goes down (stopped from another thread, as an
    operator or a crash would). Messages that reach it while it is shutting down get a transient
    421 and are not kept: a message is either accepted (250) or not received at all."""

    def __init__(self, server: SmtpServer, accept: int) -> None:
        super().__init__()
        self.server = server
        self.accept = accept
        self.down = threading.Event()
        self.stopper: threading.Thread | None = None

    async def handle_RCPT(self, server, db, envelope, address, rcpt_options):  # noqa: N802
        if self.down.is_set():
            return "421 4.3.2 Service shutting down"
        return await super().handle_RCPT(server, db, envelope, address, rcpt_options)

    async def handle_DATA(self, server, db, envelope):  # noqa: N802
        if self.down.is_set():
            return "421 4.3.2 Service shutting down"
        self.envelopes.append(envelope)
        if len(self.envelopes) >= self.accept:
            self.down.set()
            # Controller.stop() joins the server's thread: never call it from the server's own loop.
            self.stopper = threading.Thread(target=self.server.stop, name="smtp-outage")
            self.stopper.start()
        return "250 Message accepted for delivery"

    def recover(self) -> None:
        """The outage is over: wait for the stop to complete, then serve again on the same port."""
        if self.stopper is not None:
            self.stopper.join(timeout=30)
        self.down.clear()
        self.accept = 10**9
        self.server.start()


@pytest.fixture
def failing_smtp(monkeypatch):
    """A real SMTP server (aiosmtpd) that goes down after N messages; ``failing_smtp(n)`` starts it."""
    servers: list[SmtpServer] = []

    def start(accept: int) -> SmtpServer:
        server = SmtpServer()
        server.handler = OutageHandler(server, accept)
        server.start()
        monkeypatch.setenv("CQP_MAIL_TRANSPORT", "smtp")
        monkeypatch.setenv("CQP_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("CQP_SMTP_PORT", str(server.port))
        monkeypatch.setenv("CQP_SMTP_TIMEOUT_SECONDS", "5")
        reset_settings_cache()
        servers.append(server)
        return server

    yield start
    for server in servers:
        handler = server.handler
        if handler.stopper is not None:
            handler.stopper.join(timeout=30)
        server.stop()
