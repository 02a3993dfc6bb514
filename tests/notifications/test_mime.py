"""notifications.mime: the standard library's flattening, byte for byte."""

from __future__ import annotations

import os
from email import policy

from certification.db import session_scope
from notifications.mime import as_bytes
from notifications.models import OutboxMessage
from notifications.outbox import build_email, enqueue
from notifications.transport import FileTransport

ICS = "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n"


def _message(engine, settings, context, pdf_bytes) -> int:
    """A results e-mail as the jury sends it: an accented subject, two recipients and a copy, a
    PDF, a PNG and a calendar invitation (a content type with parameters) attached."""
    files = {"generated/certificates/1/certificat-v1.pdf": pdf_bytes,
             "generated/certificates/1/badge.png": os.urandom(30_001),
             "generated/jury_sessions/1/convocation.ics": ICS.encode()}
    for relative, data in files.items():
        (settings.data_dir / relative).parent.mkdir(parents=True, exist_ok=True)
        (settings.data_dir / relative).write_bytes(data)
    with session_scope(engine) as db:
        message = enqueue(
            db, dedupe_key="jury_sessions:1:results:c1:v1", template="agrement/accuse_reception",
            to=["contact@aci-exemple.fr", "Hélène Lefèvre <helene.lefevre@example.org>"],
            cc=["officier@certificateur.fr"], context=context,
            attachments=[
                {"filename": "certificat-réussite.pdf", "relative_path": "generated/certificates/1/certificat-v1.pdf",
                 "content_type": "application/pdf"},
                {"filename": "badge.png", "relative_path": "generated/certificates/1/badge.png",
                 "content_type": "image/png"},
                {"filename": "convocation.ics", "relative_path": "generated/jury_sessions/1/convocation.ics",
                 "content_type": "text/calendar; charset=utf-8; method=REQUEST"},
            ])
        db.flush()
        return message.id


async def test_flattened_as_the_standard_library_does(engine, settings, context, pdf_bytes, tmp_path) -> None:
    message_id = _message(engine, settings, context, pdf_bytes)
    with session_scope(engine) as db:
        built = build_email(db.get(OutboxMessage, message_id), settings.data_dir)

    data = as_bytes(built)  # the first flattening draws the boundaries; the second reuses them
    assert data == built.as_bytes(policy=policy.SMTP)
    assert data.count(b"\r\n") > 500 and b"\n" not in data.replace(b"\r\n", b"")

    transport = FileTransport(tmp_path)
    await transport.send(built)
    assert transport.path_for(built).read_bytes() == data
