"""Enqueuing (idempotent, transactional) and building the MIME message."""

from __future__ import annotations

import hashlib
from email import message_from_bytes, policy

import pytest
from sqlmodel import select

from certification.clock import as_utc
from certification.clock import now as utcnow
from certification.db import new_session
from notifications import outbox
from notifications.models import OutboxMessage
from notifications.outbox import build_email, document_attachment, enqueue, message_id_for

PDF = b"%PDF-1.7\n% lettre\n%%EOF\n"


def put(db, key="agrement_requests:1:ack:r1", **overrides):
    args = dict(
        dedupe_key=key,
        to=["contact@aci-exemple.fr", "Hélène Lefèvre <helene.lefevre@example.org>"],
        template="agrement/accuse_reception",
        context=overrides.pop("context"),
        entity_type="agrement_requests",
        entity_id=1,
    )
    return enqueue(db, **{**args, **overrides})


def test_enqueue_twice_gives_one_message(db, context) -> None:
    first = put(db, context=context)
    db.commit()
    context["request"]["reference"] = "AGR-2026-99999"  # a retried flow may rebuild its context
    second = put(db, context=context)
    db.commit()

    assert second.id == first.id
    assert "AGR-2026-00001" in second.subject  # the first rendering is kept
    rows = db.exec(select(OutboxMessage)).all()
    assert len(rows) == 1
    row = rows[0]
    assert row.status == "pending" and row.attempts == 0
    assert row.message_id == message_id_for("agrement_requests:1:ack:r1")
    assert row.to_addrs == ["contact@aci-exemple.fr", "Hélène Lefèvre <helene.lefevre@example.org>"]
    assert row.template == "agrement/accuse_reception"
    assert as_utc(row.next_attempt_at) <= utcnow()


def test_enqueue_is_rolled_back_with_the_caller(engine, db, context) -> None:
    put(db, context=context)
    db.rollback()

    with new_session(engine) as other:
        assert other.exec(select(OutboxMessage)).all() == []


def test_a_concurrent_enqueue_of_the_same_key_is_absorbed(engine, db, context, monkeypatch) -> None:
    real = outbox.render_message
    winner: list[OutboxMessage] = []

    def render_while_another_worker_commits(template, ctx):
        monkeypatch.setattr(outbox, "render_message", real)
        with new_session(engine) as other:
            winner.append(put(other, context=context))
            other.commit()
        return real(template, ctx)

    monkeypatch.setattr(outbox, "render_message", render_while_another_worker_commits)
    loser = put(db, context=context)
    db.commit()

    assert loser.id == winner[0].id
    assert len(db.exec(select(OutboxMessage)).all()) == 1


def test_enqueue_refuses_bad_input(db, context) -> None:
    with pytest.raises(ValueError):
        put(db, context=context, to=[""])
    with pytest.raises(ValueError):
        put(db, context=context, attachments=[{"filename": "x.pdf", "relative_path": "../../etc/passwd"}])


def test_message_id_is_deterministic() -> None:
    expected = hashlib.sha256(b"k:1").hexdigest()[:32]
    assert message_id_for("k:1") == f"<{expected}@cqp-engine.local>"
    assert message_id_for("k:1") == message_id_for("k:1") != message_id_for("k:2")


def test_build_email_has_alternatives_attachment_and_headers(db, settings, context) -> None:
    letter = settings.data_dir / "generated/agrement_requests/1/accuse_reception-v1.pdf"
    letter.parent.mkdir(parents=True)
    letter.write_bytes(PDF)
    attachment = {
        "filename": "Accusé de réception AGR-2026-00001.pdf",
        "relative_path": "generated/agrement_requests/1/accuse_reception-v1.pdf",
        "content_type": "application/pdf",
    }
    msg = put(db, context=context, attachments=[attachment], cc=["chargee@example.org"])

    email = build_email(msg, settings.data_dir)

    assert email["Subject"] == "[AGR-2026-00001] Accusé de réception de votre demande d'agrément"
    assert email["From"] == settings.mail_from
    assert email["To"] == "contact@aci-exemple.fr, Hélène Lefèvre <helene.lefevre@example.org>"
    assert email["Cc"] == "chargee@example.org"
    assert email["Message-ID"] == msg.message_id
    assert email["X-CQP-Dedupe-Key"] == "agrement_requests:1:ack:r1"
    assert email["Date"]
    raw = email.as_bytes()
    assert raw.isascii()  # encoded words and quoted-printable: any relay accepts it
    assert b"=?utf-8?" in raw
    assert email.get_body(("plain",)).get_content() == msg.body_text
    assert email.get_body(("html",)).get_content() == msg.body_html
    [part] = list(email.iter_attachments())
    assert part.get_filename() == "Accusé de réception AGR-2026-00001.pdf"
    assert part.get_content_type() == "application/pdf"
    assert part.get_content() == PDF
    assert "Pièce jointe\u00a0: Accusé de réception AGR-2026-00001.pdf" in msg.body_text


def test_document_attachment_paths_are_relative_to_the_data_dir(settings) -> None:
    class Doc:
        filename = "lettre.pdf"
        relative_path = "generated/agrement_requests/1/decision_agrement-v1.pdf"
        content_type = "application/pdf"

    assert document_attachment(Doc())["relative_path"] == Doc.relative_path
    under_documents = document_attachment(Doc(), root=settings.data_dir / "documents")
    assert under_documents == {
        "filename": "lettre.pdf",
        "relative_path": "documents/generated/agrement_requests/1/decision_agrement-v1.pdf",
        "content_type": "application/pdf",
    }


@pytest.mark.parametrize(
    "subject",
    [
        "[CPF CQP_SP] Dernier rappel : lot CPF-SP-2026-0001 sans compte rendu importé depuis 30 jours",
        "[JURY-2026-0001] Résultats de Zoé-Hélène Martin-N'Guessan à la session du jury paritaire « CQP Salarié "
        "Polyvalent » — attestation de blocs de compétences délivrée",
        "Short ASCII subject",
        "x" * 120,
    ],
)
def test_long_subjects_read_back_exactly_as_written(db, settings, context, subject) -> None:
    """A folded accented subject is read back without a doubled space (Python 3.11's folding puts
    one before the line break and one after it, around an encoded word)."""
    msg = put(db, context=context)
    msg.subject = subject
    email = build_email(msg, settings.data_dir)
    assert email["Subject"] == subject
    raw = email.as_bytes()
    assert raw.isascii() and max(len(line) for line in raw.split(b"\r\n")) <= 998
    head = raw.split(b"\r\n\r\n", 1)[0]
    if subject.isascii() and len(subject) < 70:
        assert f"Subject: {subject}\r\n".encode() in head
    if not subject.isascii():
        assert all(len(line) <= 78 for line in head.split(b"\r\n"))
    parsed = message_from_bytes(raw, policy=policy.default)
    assert str(parsed["Subject"]) == subject
