"""notifications.mime: the standard library's MIME building and flattening, byte for byte."""

from __future__ import annotations

import os
import random
from email import policy
from email.generator import BytesGenerator

from certification.db import session_scope
from notifications import mime
from notifications.mime import _Generator, as_bytes
from notifications.models import OutboxMessage
from notifications.outbox import build_email, enqueue
from notifications.transport import FileTransport

ICS = "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n"


def _message(engine, settings, context, pdf_bytes) -> int:
    """A results e-mail as the jury sends it: an accented subject, two recipients and a copy, a
    PDF, a PNG and a calendar invitation (a content type with parameters) attached."""
    files = {
        "generated/certificates/1/certificat-v1.pdf": pdf_bytes,
        "generated/certificates/1/badge.png": os.urandom(30_001),
        "generated/jury_sessions/1/convocation.ics": ICS.encode(),
    }
    for relative, data in files.items():
        (settings.data_dir / relative).parent.mkdir(parents=True, exist_ok=True)
        (settings.data_dir / relative).write_bytes(data)
    with session_scope(engine) as db:
        message = enqueue(
            db,
            dedupe_key="jury_sessions:1:results:c1:v1",
            template="agrement/accuse_reception",
            to=["contact@aci-exemple.fr", "Hélène Lefèvre <helene.lefevre@example.org>"],
            cc=["officier@certificateur.fr"],
            context=context,
            attachments=[
                {
                    "filename": "certificat-réussite.pdf",
                    "relative_path": "generated/certificates/1/certificat-v1.pdf",
                    "content_type": "application/pdf",
                },
                {
                    "filename": "badge.png",
                    "relative_path": "generated/certificates/1/badge.png",
                    "content_type": "image/png",
                },
                {
                    "filename": "convocation.ics",
                    "relative_path": "generated/jury_sessions/1/convocation.ics",
                    "content_type": "text/calendar; charset=utf-8; method=REQUEST",
                },
            ],
        )
        db.flush()
        return message.id


async def test_built_and_flattened_as_the_standard_library_does(
    engine, settings, context, pdf_bytes, tmp_path, monkeypatch
) -> None:
    message_id = _message(engine, settings, context, pdf_bytes)
    with session_scope(engine) as db:
        row = db.get(OutboxMessage, message_id)
        built = [build_email(row, settings.data_dir) for _ in range(2)]  # the second one's headers reused
        monkeypatch.setattr(mime, "SMTP", policy.SMTP)
        standard = build_email(row, settings.data_dir)
    for message in built:
        random.seed(10)  # the same boundaries drawn
        data = as_bytes(message)
        random.seed(10)
        assert data == standard.as_bytes(policy=policy.SMTP)
    assert data.count(b"\r\n") > 500 and b"\n" not in data.replace(b"\r\n", b"")
    assert as_bytes(message) == data  # the boundaries kept

    transport = FileTransport(tmp_path)
    await transport.send(message)
    assert transport.path_for(message).read_bytes() == data


def test_a_boundary_found_in_the_text_is_suffixed_as_the_standard_library_does() -> None:
    random.seed(3)
    boundary = BytesGenerator._make_boundary()
    for text in [
        b"",
        b"--" + boundary.encode(),
        b"x\r\n--" + boundary.encode() + b"--\r\n",
        b"--" + boundary.encode() + b"\n--" + boundary.encode() + b".0\n--" + boundary.encode() + b".1--\n",
    ]:
        random.seed(3)
        expected = BytesGenerator._make_boundary(text)
        random.seed(3)
        assert _Generator._make_boundary(text) == expected, text
    assert expected == boundary + ".2"
