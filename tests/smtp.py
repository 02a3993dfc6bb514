"""A real SMTP server (aiosmtpd) on 127.0.0.1 for the tests, restartable on its port (outages)."""

from __future__ import annotations

import socket
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class CollectingHandler:
    """Accepts every message and keeps the envelopes; refuses recipients listed in ``refuse``."""

    def __init__(self) -> None:
        self.envelopes = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, db, envelope, address, rcpt_options):  # noqa: N802 (aiosmtpd API)
        if address in self.refuse:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, db, envelope):  # noqa: N802
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        return [message_from_bytes(e.original_content, policy=policy.default) for e in self.envelopes]


class SmtpServer:
    """A real SMTP server on 127.0.0.1, stopped and started at will on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.handler = CollectingHandler()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def messages(self) -> list[EmailMessage]:
        return self.handler.messages()

    def recipients(self, index: int) -> list[str]:
        return list(self.handler.envelopes[index].rcpt_tos)

    def by_subject(self, fragment: str) -> list[EmailMessage]:
        return [m for m in self.messages if fragment in str(m["Subject"])]
