"""Ways to hand a built e-mail over: SMTP (aiosmtplib) or ``.eml`` files (embedded mode)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol, runtime_checkable

import aiosmtplib

from certification.settings import Settings
from documents.storage import atomic_write
from notifications import mime

logger = logging.getLogger(__name__)

DEDUPE_HEADER = "X-CQP-Dedupe-Key"


class PermanentDeliveryError(Exception):
    """The message can never be delivered as is (e.g. SMTP 5xx on the recipients): no retry."""


@runtime_checkable
class Transport(Protocol):
    async def send(self, msg: EmailMessage) -> None:
        """Deliver one message or raise. Must be safe to call again for the same message."""


class SmtpTransport:
    """Sends through an SMTP relay with aiosmtplib (one connection per message)."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        use_tls: bool = False,
        timeout: float = 10.0,
    ):
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.starttls = starttls
        self.use_tls = use_tls
        self.timeout = timeout

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpTransport:
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            starttls=settings.smtp_starttls,
            use_tls=settings.smtp_use_tls,
            timeout=settings.smtp_timeout_seconds,
        )

    async def send(self, msg: EmailMessage) -> None:
        try:
            refused, _response = await aiosmtplib.send(
                msg,
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self.password,
                start_tls=False if self.use_tls else self.starttls,
                use_tls=self.use_tls,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            # Every recipient refused. 5xx is final; 4xx (greylisting, quota) is retried.
            if all(500 <= error.code < 600 for error in exc.recipients):
                raise PermanentDeliveryError(f"All recipients refused: {exc}") from exc
            raise
        if refused:
            logger.warning(
                "Message %s accepted, but recipients refused: %s",
                msg["Message-ID"],
                {addr: f"{resp.code} {resp.message}" for addr, resp in refused.items()},
            )


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def eml_filename(dedupe_key: str) -> str:
    """File name for a message: readable key, plus a hash so distinct keys never collide."""
    readable = _UNSAFE.sub("_", dedupe_key).strip("._")[:120] or "message"
    digest = hashlib.sha256(dedupe_key.encode("utf-8")).hexdigest()[:12]
    return f"{readable}-{digest}.eml"


class FileTransport:
    """Writes each message to ``<outbox_dir>/<safe dedupe key>.eml`` (embedded default).

    Sending the same message again overwrites its file: one file per dedupe key.
    """

    def __init__(self, outbox_dir: Path):
        self.outbox_dir = Path(outbox_dir)

    def path_for(self, msg: EmailMessage) -> Path:
        key = msg[DEDUPE_HEADER] or msg["Message-ID"]
        if not key:
            raise ValueError(f"Message without {DEDUPE_HEADER} nor Message-ID header")
        return self.outbox_dir / eml_filename(str(key))

    async def send(self, msg: EmailMessage) -> None:
        target = self.path_for(msg)
        data = mime.as_bytes(msg)  # msg.as_bytes(policy=policy.SMTP), at a fraction of its cost
        await asyncio.to_thread(atomic_write, target, data)


def build_transport(settings: Settings) -> Transport:
    """The transport chosen by ``settings.mail_transport`` ('smtp' or 'outbox')."""
    if settings.mail_transport == "smtp":
        return SmtpTransport.from_settings(settings)
    return FileTransport(settings.outbox_dir)
