"""The agrément request flow with a real Prefect server, a real SMTP server and real PDFs."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from sqlmodel import select

from api.web.timeline import rows as timeline_rows
from certification.audit import timeline
from certification.db import session_scope
from certification.agrement.models import AgrementRequest
from certification.agrement import service as svc
from documents.models import GeneratedDocument
from flows import effects as flow_effects
from flows.agrement import agrement_request_flow, agrement_sweep_flow
from notifications.models import OutboxMessage
from tests.factories import make_users, submit_request
from tests.flows.conftest import pdf_text

pytestmark = pytest.mark.integration

HOSTILE_NAME = "<script>alert('x')</script> Les Jardins de l'Étang & Fils"


@pytest.fixture
def people():
    return make_users()


def documents(rid: int) -> dict[str, GeneratedDocument]:
    with session_scope() as db:
        rows = db.exec(select(GeneratedDocument).where(GeneratedDocument.entity_id == rid)).all()
    return {f"{d.kind}-v{d.version}": d for d in rows}


def pdf_of(doc: GeneratedDocument, settings) -> str:
    return pdf_text((settings.data_dir / doc.relative_path).read_bytes())


def attachments(message: EmailMessage) -> list[tuple[str, bytes]]:
    return [(part.get_filename(), part.get_content()) for part in message.iter_attachments()]


async def test_request_to_granted_agrement(prefect_server, smtp, people, settings):
    officer, mandataire = people["officer"]["actor"], people["mandataire"]["actor"]
    rid = submit_request(mandataire, name=HOSTILE_NAME)

    result = await agrement_request_flow(rid)
    assert result["state"] == "submitted" and result["documents"] == ["accuse_reception-v1"]
    assert result["delivery"]["sent"] == 1
    (ack,) = smtp.messages
    assert "Accusé de réception" in str(ack["Subject"]) and "DA-" in str(ack["Subject"])
    assert set(smtp.recipients(0)) == {"aci1@example.org", "helene.dubois@cqp.test"}
    ((filename, data),) = attachments(ack)
    assert (
        filename.endswith(".pdf")
        and data == (settings.data_dir / documents(rid)["accuse_reception-v1"].relative_path).read_bytes()
    )
    text = pdf_text(data)
    assert "Accusé de réception" in text and "CQP Salarié Polyvalent" in text
    assert "<script>alert('x')</script> Les Jardins de l'Étang & Fils" in text  # escaped, shown as typed
    assert "dossier d'agrément.pdf" in text
    html = ack.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html

    with session_scope() as db:
        # The review opens in the officer's own transaction: the avis may be given at once.
        assert svc.declare_admissible(db, officer, rid).state == "under_review"
    result = await agrement_request_flow(rid)
    assert result["transitions"] == [] and result["state"] == "under_review"
    assert result["waiting_for"].startswith("mandataire : avis attendu")
    assert smtp.recipients(-1) == ["helene.dubois@cqp.test"]

    with session_scope() as db:
        svc.give_avis(db, mandataire, rid, "favorable", "Encadrement formé à l'EPSP")
    await agrement_request_flow(rid)
    assert smtp.recipients(-1) == [settings.officers_mailbox]

    with session_scope() as db:
        _, agrement = svc.grant(db, officer, rid)
        number = agrement.number
    result = await agrement_request_flow(rid)
    assert result["state"] == "granted" and result["waiting_for"] is None
    decision = smtp.by_subject("Décision")[0]
    text = pdf_text(attachments(decision)[0][1])
    assert "Décision d'agrément" in text and number in text
    assert "SP-B1" in text and "Réaliser les activités de production" in text

    # Re-running changes nothing: no new document, no new e-mail.
    before = (len(smtp.messages), set(documents(rid)))
    again = await agrement_request_flow(rid)
    assert again["documents"] == [] and again["mails"] == [] and again["delivery"]["sent"] == 0
    assert (len(smtp.messages), set(documents(rid))) == before
    assert len(smtp.messages) == 4
    assert len({m["Message-ID"] for m in smtp.messages}) == 4

    with session_scope() as db:
        actions = [e.action for e in timeline(db, "agrement_requests", rid)]
    assert actions.count("document_generated") == 2 and actions.count("mail_queued") == 4
    with session_scope() as db:  # the back-office timeline says which document, which mail, to whom
        shown = [row.what for row in timeline_rows(db, ("agrement_requests", rid, ""))]
    assert "Document généré : accusé de réception" in shown and "Document généré : décision d'agrément" in shown
    queued = [w for w in shown if w.startswith("Courriel mis en file : « [")]
    assert len(queued) == 4 and any(f" à {settings.officers_mailbox}" in w for w in queued)
    assert not any("generated" in w or "queued" in w for w in shown)

    from prefect.client.orchestration import get_client

    async with get_client() as client:
        runs = await client.read_flow_runs()
    assert sum(1 for r in runs if r.state and r.state.is_completed()) >= 5


async def test_refusal_letter_escapes_and_keeps_the_reasons(prefect_server, smtp, people, settings):
    officer, mandataire = people["officer"]["actor"], people["mandataire"]["actor"]
    rid = submit_request(mandataire)
    with session_scope() as db:
        svc.declare_admissible(db, officer, rid)
        svc.give_avis(db, mandataire, rid, "defavorable", "Pas d'encadrant formé")
        svc.refuse(db, officer, rid, "Encadrement <b>insuffisant</b>.\nAucun encadrant formé à l'EPSP.")
    await agrement_request_flow(rid)
    text = pdf_of(documents(rid)["refus_agrement-v1"], settings)
    assert "refus d'agrément" in text.lower()
    assert "Encadrement <b>insuffisant</b>." in text and "Aucun encadrant formé à l'EPSP." in text
    assert "recours" in text
    assert smtp.by_subject("refus") or smtp.by_subject("Refus")


async def test_flow_killed_mid_step_restarts_without_duplicates(prefect_server, smtp, people, monkeypatch, settings):
    """The run dies after the PDF is written but before its e-mail is recorded; the rerun completes once."""
    rid = submit_request(people["mandataire"]["actor"])
    real_enqueue = flow_effects.enqueue

    def crash(*_a, **_k):
        raise RuntimeError("worker killed")

    monkeypatch.setattr(flow_effects, "enqueue", crash)
    state = await agrement_request_flow(rid, return_state=True)
    assert state.is_failed()
    assert (settings.data_dir / "generated/agrement_requests" / str(rid) / "accuse_reception-v1.pdf").exists()
    assert documents(rid) == {}  # the transaction was rolled back with the failure
    assert smtp.messages == []

    monkeypatch.setattr(flow_effects, "enqueue", real_enqueue)
    result = await agrement_request_flow(rid)
    assert result["documents"] == ["accuse_reception-v1"] and result["mails"] == ["ack:r1"]
    await agrement_request_flow(rid)
    assert len(smtp.messages) == 1 and list(documents(rid)) == ["accuse_reception-v1"]


async def test_smtp_outage_then_sweep_delivers_once(prefect_server, smtp, people):
    rid = submit_request(people["mandataire"]["actor"])
    smtp.stop()
    result = await agrement_request_flow(rid)
    assert result["delivery"]["sent"] == 0 and result["delivery"]["retried"] == 1
    with session_scope() as db:
        msg = db.exec(select(OutboxMessage)).one()
        assert (msg.status, msg.attempts) == ("pending", 1) and msg.last_error
        msg.next_attempt_at = msg.created_at  # the backoff delay has passed
        db.add(msg)
    smtp.start()
    summary = await agrement_sweep_flow()
    assert summary["delivery"]["sent"] == 1
    await agrement_sweep_flow()
    assert len(smtp.messages) == 1
    with session_scope() as db:
        assert db.exec(select(OutboxMessage)).one().status == "sent"
        assert db.get(AgrementRequest, rid).state == "submitted"
