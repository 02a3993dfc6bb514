"""A jury session end to end with a real Prefect server, a real SMTP server and real PDFs."""

from __future__ import annotations

import pytest
from sqlmodel import select

from certification.db import session_scope
from certification.jury.models import Certificate
from certification.jury import issuance
from flows import effects as flow_effects
from flows.jury import advance_jury, jury_session_flow
from notifications.models import OutboxMessage
from tests.factories import PARTIAL, deliberated_session, ready_candidates
from tests.flows.conftest import generated_documents, pdf_text

pytestmark = pytest.mark.integration


def test_convocations_with_ics_once(world, settings):
    people = world
    ids = ready_candidates(people["structure"], 1)
    sid = deliberated_session(people, ids, convene_only=True)
    first, second = advance_jury(sid), advance_jury(sid)
    assert len(first.mails) == 4 and second.mails == []
    with session_scope() as db:
        mails = db.exec(select(OutboxMessage).where(OutboxMessage.template == "jury/convocation_jury")).all()
    assert {m.to_addrs[0] for m in mails} == {
        f"{k}@jury.example.org" for k in ("presidente", "employeur2", "salarie1", "salarie2")
    }
    assert all(a["filename"] == "invitation.ics" for m in mails for a in m.attachments)


def _candidates(ids):
    from certification.candidates.models import Candidate

    with session_scope() as db:
        return [db.get(Candidate, i) for i in ids]


async def test_jury_to_certificates_and_results(prefect_server, smtp, world, settings):
    people = world
    hostile = [("<b>O'Brien</b>-Lefèvre", "Marie-Noëlle"), ("Dupont", "Jean-Éudes")]
    ids = ready_candidates(people["structure"], 2, names=hostile)
    sid = deliberated_session(people, ids, {ids[1]: PARTIAL})
    result = await jury_session_flow(sid)
    assert result["state"] == "results_notified" and result["transitions"] == ["notify_results"]
    assert len(result["certificates"]) == 2
    assert sorted(result["documents"]) == ["attestation_blocs-v1", "certificat-v1", "pv_jury-v1"]

    (pv,) = generated_documents("jury_sessions")
    text = pdf_text((settings.data_dir / pv.relative_path).read_bytes())
    assert "Procès-verbal" in text and "<b>O'Brien</b>-Lefèvre" in text and "Jean-Éudes" in text

    with session_scope() as db:
        certificate = db.exec(select(Certificate).where(Certificate.kind == "certificate")).one()
        attestation = db.exec(select(Certificate).where(Certificate.kind == "attestation")).one()
    results = smtp.by_subject("sultats")
    assert len(results) == 3  # one per candidate with an address, one for their structure
    (to_structure,) = [m for m in results if "2 candidats" in m["Subject"]]
    assert [p.get_content_type() for p in to_structure.iter_attachments()] == ["application/pdf"] * 2
    assert {str(m["To"]) for m in results if m is not to_structure} == {str(c.email) for c in _candidates(ids)}
    by_candidate = {m["To"]: m for m in results if m is not to_structure}
    mail = next(m for to, m in by_candidate.items() if "candidat1@" in str(to))
    (pdf_part,) = [p for p in mail.iter_attachments() if p.get_content_type() == "application/pdf"]
    cert_text = pdf_text(pdf_part.get_content())
    assert certificate.number in cert_text and "Marie-Noëlle" in cert_text and "<b>O'Brien</b>-Lefèvre" in cert_text
    assert issuance.verification_url(certificate.number).split("?")[0] in cert_text.replace(" ", "")
    other = next(m for to, m in by_candidate.items() if "candidat2@" in str(to))
    assert "Attestation" in pdf_text([p for p in other.iter_attachments()][0].get_content())
    assert attestation.blocs == ["SP-B1", "SP-B3"]

    before = len(smtp.messages)
    again = await jury_session_flow(sid)
    assert again["mails"] == [] and again["documents"] == [] and len(smtp.messages) == before


def test_killed_mid_results_restarts_without_duplicates(world, monkeypatch, settings):
    """The worker dies while notifying candidate 3 of 5; the restart completes the other ones only."""
    people = world
    ids = ready_candidates(people["structure"], 5)
    sid = deliberated_session(people, ids)
    real_enqueue, calls = flow_effects.enqueue, {"n": 0}

    def dying(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("SIGKILL")
        return real_enqueue(*args, **kwargs)

    monkeypatch.setattr(flow_effects, "enqueue", dying)
    with pytest.raises(RuntimeError):
        advance_jury(sid)
    monkeypatch.setattr(flow_effects, "enqueue", real_enqueue)
    outcome = advance_jury(sid)
    assert outcome.state == "results_notified"
    with session_scope() as db:
        numbers = [c.number for c in db.exec(select(Certificate))]
        keys = [m.dedupe_key for m in db.exec(select(OutboxMessage))]
    assert len(numbers) == len(set(numbers)) == 5
    # five candidates, one structure
    assert len([k for k in keys if ":results:c" in k]) == 5 and len([k for k in keys if ":results:s" in k]) == 1
    assert len(keys) == len(set(keys))
    assert len(generated_documents("certificates")) == 5 and len(generated_documents("jury_sessions")) == 1
    assert advance_jury(sid).mails == []


def test_steps_owed_at_once_read_the_session_once(world, monkeypatch, settings):
    """A fast client's convocation, « PV à signer » and signature, all owed when the run starts,
    are fulfilled from one reading of the session (a paced client's run reads it once per step)."""
    import flows.jury as jury_flow

    people = world
    ids = ready_candidates(people["structure"], 3)
    sid = deliberated_session(people, ids)
    reads = []
    real_view = jury_flow.jury_view
    monkeypatch.setattr(
        jury_flow, "jury_view", lambda db, jury, **kw: reads.append(jury.id) or real_view(db, jury, **kw)
    )
    outcome = advance_jury(sid)
    assert outcome.state == "results_notified"
    assert reads == [sid]
    with session_scope() as db:
        templates = sorted(m.template for m in db.exec(select(OutboxMessage)))
    assert templates.count("jury/convocation_jury") == 4 and templates.count("jury/pv_a_signer") == 1
    assert templates.count("jury/resultats_jury") == 3 and templates.count("jury/resultats_jury_structure") == 1
