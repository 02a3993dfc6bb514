"""The VAE flow: each step's letters and e-mails once (owed effects), the recevabilité letter read
back from its PDF, the reminders of the sweep by the calendar."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from sqlmodel import select

from certification.clock import today
from certification.db import session_scope
from certification.vae import service as svc
from documents.models import GeneratedDocument
from flows.vae import advance_vae, vae_needing_attention
from notifications.models import OutboxMessage
from tests.flows.conftest import pdf_text
from tests.vae.helpers import register_vae


def outbox(dossier_id: int) -> list[OutboxMessage]:
    with session_scope() as db:
        return list(db.exec(select(OutboxMessage).where(OutboxMessage.entity_type == "vae_dossiers",
                                                       OutboxMessage.entity_id == dossier_id)
                           .order_by(OutboxMessage.id)))


def test_each_step_owes_its_letter_and_mails_once(world, settings):
    structure, officer = world["structure"]["actor"], world["officer"]["actor"]
    candidate_id = register_vae(world["structure"])
    with session_scope() as db:
        dossier_id = svc.file_request(db, structure, candidate_id, requested_blocs=["SP-B1"]).id
    first, again = advance_vae(dossier_id), advance_vae(dossier_id)
    assert first.mails == ["receipt"] and again.mails == [] and again.documents == []
    (receipt,) = outbox(dossier_id)
    assert receipt.to_addrs == ["aci1@example.org", "aissatou@example.org"]
    assert receipt.template == "vae/accuse_reception_vae" and settings.officers_mailbox in receipt.cc_addrs
    assert "Accusé de réception de la demande de VAE d'Aïssatou N'Diaye" in receipt.subject

    with session_scope() as db:
        svc.decide_recevabilite(db, officer, dossier_id, decision="non_recevable",
                                reason="Moins d'un an d'activité en rapport avec le bloc demandé.")
    result = advance_vae(dossier_id)
    assert result.documents == ["decision_non_recevabilite-v1"] and result.mails == ["decision:non_recevable"]
    assert result.state == "non_recevable" and result.waiting_for is None
    with session_scope() as db:
        (letter,) = db.exec(select(GeneratedDocument).where(GeneratedDocument.entity_type == "vae_dossiers")).all()
    text = pdf_text((settings.data_dir / letter.relative_path).read_bytes())
    assert "Décision de non-recevabilité de votre demande de VAE" in text and "non recevable" in text
    assert "Moins d'un an d'activité" in text and "SP-B1" in text and "Madame Aïssatou N'Diaye" in text
    assert "recours gracieux" in text
    decision = outbox(dossier_id)[-1]
    assert decision.subject.endswith("Demande de VAE non recevable : Aïssatou N'Diaye")
    assert [a["filename"] for a in decision.attachments] == [letter.filename]
    assert advance_vae(dossier_id).mails == [] and dossier_id not in vae_needing_attention()


def test_reminders_of_the_recevabilite_deadline_and_of_the_livret2(world, settings):
    structure, officer = world["structure"]["actor"], world["officer"]["actor"]
    candidate_id = register_vae(world["structure"])
    with session_scope() as db:
        dossier = svc.file_request(db, structure, candidate_id)
        dossier_id, due = dossier.id, dossier.recevabilite_due_on
    advance_vae(dossier_id)
    assert dossier_id in vae_needing_attention()
    with time_machine.travel(due - timedelta(days=20), tick=False):
        assert advance_vae(dossier_id).mails == []
    with time_machine.travel(due - timedelta(days=10), tick=False):
        assert advance_vae(dossier_id).mails == ["recevabilite-reminder:d14"]
        assert advance_vae(dossier_id).mails == []
    with time_machine.travel(due - timedelta(days=2), tick=False):
        assert advance_vae(dossier_id).mails == ["recevabilite-reminder:d3"]
    with time_machine.travel(due + timedelta(days=1), tick=False):
        assert advance_vae(dossier_id).mails == ["recevabilite-overdue"]
    reminders = outbox(dossier_id)[1:]
    assert [m.to_addrs for m in reminders] == [[settings.officers_mailbox]] * 3
    assert "Rappel : recevabilité de la demande de VAE à décider avant le" in reminders[0].subject
    assert "Délai de recevabilité dépassé" in reminders[-1].subject

    with session_scope() as db:
        svc.decide_recevabilite(db, officer, dossier_id, decision="recevable")
    assert advance_vae(dossier_id).documents == ["decision_recevabilite-v1"]
    reminder_day = today() + timedelta(days=settings.vae_livret2_reminder_after_days)
    with time_machine.travel(reminder_day - timedelta(days=1), tick=False):
        assert advance_vae(dossier_id).mails == []
    with time_machine.travel(reminder_day, tick=False):
        assert advance_vae(dossier_id).mails == ["livret2-reminder"]
        assert advance_vae(dossier_id).mails == []
    late = outbox(dossier_id)[-1]
    assert late.template == "vae/relance_livret2" and late.to_addrs == ["aci1@example.org", "aissatou@example.org"]
