"""The demo of the main job (``cqp run`` on first start): every process driven through the real API
with real Prefect runs and a real SMTP server; run twice, it adds nothing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from api.app import create_app
from api.demo import run_demo
from certification.db import session_scope
from certification.models import AuditEvent, Certificate
from certification.settings import get_settings, reset_settings_cache
from documents.models import GeneratedDocument
from notifications.models import OutboxMessage
from tests.flows.conftest import pdf_text

pytestmark = pytest.mark.integration


def _counts() -> tuple[int, int, int, int]:
    with session_scope() as s:
        return (len(s.exec(select(GeneratedDocument)).all()), len(s.exec(select(OutboxMessage)).all()),
                len(s.exec(select(Certificate)).all()), len(s.exec(select(AuditEvent)).all()))


def test_demo_drives_every_process_once(prefect_server, smtp, monkeypatch):
    monkeypatch.setenv("CQP_FLOW_DISPATCH", "inline")
    reset_settings_cache()
    app = create_app()
    result = run_demo(app)

    assert result.state == "granted" and result.agrement_number == "AGR-SP-2026-0001"
    assert result.jury_state == "results_notified" and len(result.certificates) == 3
    assert result.controle_reference and result.training_reference
    with session_scope() as s:
        docs = {(d.entity_type, d.kind): d for d in s.exec(select(GeneratedDocument).order_by(GeneratedDocument.id))
                if (d.entity_type, d.kind) not in {("jury_sessions", "pv_jury")} or d.entity_id == 1}
        kinds = sorted(c.kind for c in s.exec(select(Certificate)))
    assert kinds == ["attestation", "certificate", "certificate"]
    data_dir = get_settings().data_dir
    pv = pdf_text((data_dir / docs[("jury_sessions", "pv_jury")].relative_path).read_bytes())
    assert "N'Guessan" in pv and "Da Silva" in pv and "Marc D'Alembert" in pv
    attestation = pdf_text((data_dir / docs[("certificates", "attestation_blocs")].relative_path).read_bytes())
    assert "João Da Silva" in attestation

    # Every queued e-mail reached the SMTP server once (results, convocations with .ics, letters).
    with session_scope() as s:
        keys = [m.dedupe_key for m in s.exec(select(OutboxMessage))]
        assert all(m.status == "sent" for m in s.exec(select(OutboxMessage)))
    assert len(smtp.messages) == len(keys) == len(set(keys)) >= 12

    with TestClient(app) as client:  # the printed verification link works, without login
        r = client.get(result.verification_url.replace(get_settings().public_base_url, ""),
                       headers={"Accept": "application/json"})
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "valid"

    before = _counts()
    again = run_demo(app)
    assert again.skipped and again.reference == result.reference
    assert _counts() == before
