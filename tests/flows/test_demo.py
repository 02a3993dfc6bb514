"""The demo of the main job (``cqp run`` on first start): every process driven through the real API
with real Prefect runs and a real SMTP server; run twice, it adds nothing."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from api.app import create_app
from api.demo import (
    DEMO_CANDIDATES,
    DEMO_JURY,
    DEMO_JURY_SEXES,
    DEMO_LATER_CANDIDATES,
    DEMO_PASSWORD,
    DEMO_USER_SEXES,
    DEMO_USERS,
    run_demo,
)
from certification.db import session_scope
from certification.models import AuditEvent
from certification.jury.models import Certificate
from certification.settings import get_settings, reset_settings_cache
from documents.models import GeneratedDocument
from notifications.models import OutboxMessage
from documents import render
from notifications import outbox
from tests.documents import proofreading as proof
from tests.flows.conftest import pdf_text

pytestmark = pytest.mark.integration

LINK = re.compile(r"https?://[^\s\"<>]+")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _counts() -> tuple[int, int, int, int]:
    with session_scope() as db:
        return (
            len(db.exec(select(GeneratedDocument)).all()),
            len(db.exec(select(OutboxMessage)).all()),
            len(db.exec(select(Certificate)).all()),
            len(db.exec(select(AuditEvent)).all()),
        )


def test_demo_drives_every_process_once(prefect_server, smtp, monkeypatch):
    monkeypatch.setenv("CQP_FLOW_DISPATCH", "inline")
    reset_settings_cache()
    app = create_app()
    result = run_demo(app)

    assert result.state == "granted" and result.agrement_number == "AGR-SP-2026-0001"
    assert result.jury_state == "results_notified" and len(result.certificates) == 3
    assert result.controle_reference and result.training_reference
    with session_scope() as db:
        docs = {
            (d.entity_type, d.kind): d
            for d in db.exec(select(GeneratedDocument).order_by(GeneratedDocument.id))
            if (d.entity_type, d.kind) not in {("jury_sessions", "pv_jury")} or d.entity_id == 1
        }
        kinds = sorted(c.kind for c in db.exec(select(Certificate)))
    assert kinds == ["attestation", "certificate", "certificate"]
    data_dir = get_settings().data_dir
    pv = pdf_text((data_dir / docs[("jury_sessions", "pv_jury")].relative_path).read_bytes())
    assert "N'Guessan" in pv and "Da Silva" in pv and "Marc D'Alembert" in pv
    attestation = pdf_text((data_dir / docs[("certificates", "attestation_blocs")].relative_path).read_bytes())
    assert "João Da Silva" in attestation

    # Every queued e-mail reached the SMTP server once (results, convocations with .ics, letters).
    with session_scope() as db:
        keys = [m.dedupe_key for m in db.exec(select(OutboxMessage))]
        assert all(m.status == "sent" for m in db.exec(select(OutboxMessage)))
    assert len(smtp.messages) == len(keys) == len(set(keys)) >= 12

    with TestClient(app) as client:  # the printed verification link works, without login
        r = client.get(
            result.verification_url.replace(get_settings().public_base_url, ""), headers={"Accept": "application/json"}
        )
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "valid"

    _every_mail_link_opens_a_page(app)
    _every_mail_and_document_reads_as_correct_french()
    _every_account_has_a_pending_step(app)
    _every_history_reads_in_french()

    before = _counts()
    again = run_demo(app)
    assert again.skipped and again.reference == result.reference
    assert _counts() == before


def _login(client: TestClient, email: str, next_url: str) -> str:
    """Log in through the form with ``next``; returns where the login redirects."""
    page = client.get(f"/app/login?next={next_url}")
    assert page.status_code == 200
    r = client.post(
        "/app/login",
        data={
            "email": email,
            "password": DEMO_PASSWORD,
            "next": next_url,
            "csrf_token": CSRF.search(page.text).group(1),
        },
    )
    assert r.status_code == 303, r.text
    return r.headers["location"]


def _every_mail_link_opens_a_page(app) -> None:
    """Each link of each e-mail opens a page: the back-office page for account holders (after the
    login, straight to the page), the public verification page for the others."""
    base = get_settings().public_base_url
    accounts = {email for email, _name, _role in DEMO_USERS} | {email for email, *_ in DEMO_JURY}
    with session_scope() as db:
        mails = [(m.to_addrs, m.body_text, m.body_html) for m in db.exec(select(OutboxMessage))]
    links = {(link.rstrip(".,;)"), tuple(to)) for to, text, html in mails for link in LINK.findall(text)}
    assert links and all(link.startswith(base) for link, _ in links), links
    assert not any("/jury-sessions/" in link or "/agrement-requests/" in link for link, _ in links)
    for link, to in sorted(links):
        path = link[len(base) :]
        with TestClient(app, follow_redirects=False) as client:
            if path.startswith("/app/"):
                r = client.get(path)
                assert r.status_code in (302, 303) and "/app/login?next=" in r.headers["location"], (
                    link,
                    r.status_code,
                )
                who = next((a for a in to if a in accounts), DEMO_USERS[0][0])
                assert _login(client, who, urlsplit(path).path) == urlsplit(path).path
            r = client.get(path, headers={"Accept": "text/html"})
            assert r.status_code == 200, (link, to, r.status_code)


def _every_mail_and_document_reads_as_correct_french() -> None:
    """The proofreading of tests/documents/test_proofreading.py on what the demo produced: no « de »
    before a vowel, the certifier's article, no English word nor raw value, no template leftover,
    agreement with the sex recorded for the demo's users, jury members and candidates."""
    known = {name: DEMO_USER_SEXES[email] for email, name, _role in DEMO_USERS}
    known |= {name: DEMO_JURY_SEXES[email] for email, name, *_ in DEMO_JURY}
    known |= {f"{first} {last}": sex for last, first, sex, _ in DEMO_CANDIDATES + DEMO_LATER_CANDIDATES}
    found = []
    with session_scope() as db:
        mails = [(m.template, m.subject, m.body_text, m.body_html) for m in db.exec(select(OutboxMessage))]
        documents = [
            (d.kind, d.relative_path) for d in db.exec(select(GeneratedDocument)) if d.content_type == "application/pdf"
        ]
    for template, subject, text, html in mails:
        neutral = bool(template) and proof.neutral_allowed(outbox.env, proof.MAIL_DIR, f"{template}.txt.j2")
        for lines in ([subject], proof.text_lines(text), proof.html_lines(html)):
            found += [f"{template}: {p}" for p in proof.problems(lines, known=known, neutral_allowed=neutral)]
    data_dir = get_settings().data_dir
    for kind, relative_path in documents:
        template = proof.document_template_of(kind)
        neutral = template is not None and proof.neutral_allowed(render.env, proof.DOCUMENT_DIR, template)
        lines = proof.pdf_lines((data_dir / relative_path).read_bytes())
        found += [f"{kind}: {p}" for p in proof.problems(lines, known=known, neutral_allowed=neutral, layout=False)]
    assert len(mails) >= 12 and len(documents) >= 8
    assert found == []


def _every_account_has_a_pending_step(app) -> None:
    """The mandataires have an avis to give, the president a PV to sign, the contrôleur a visit
    to plan, the formateur a session ahead: each inbox lists at least one dossier."""
    for email in [DEMO_USERS[1][0], DEMO_USERS[2][0], DEMO_USERS[3][0], DEMO_USERS[4][0], DEMO_JURY[0][0]]:
        with TestClient(app, follow_redirects=False) as client:
            _login(client, email, "/app/")
            inbox = client.get("/app/")
            assert inbox.status_code == 200
            assert re.search(r'href="/app/(demandes|jurys|controles|formations)/\d+', inbox.text), email


def _every_history_reads_in_french() -> None:
    """Every step recorded on a dossier shown with its history has a French label of its own
    process (not the action's name, nor another process's label)."""
    from api.web.timeline import EFFECT_ACTIONS, MACHINES, action_label

    with session_scope() as db:
        recorded = {
            (e.entity_type, e.action)
            for e in db.exec(select(AuditEvent))
            if e.entity_type in MACHINES and e.action not in EFFECT_ACTIONS
        }
    unlabelled = sorted(pair for pair in recorded if action_label(*pair) is None)
    assert unlabelled == [], unlabelled
    assert len(recorded) > 20  # every process of the demo
