"""End to end in a real headless Chromium: the officer logs in, finds the overdue step first in
his inbox, opens a request, declares it admissible through the confirmation page and sees it in
the timeline. Screenshots of every step go to ``test-artifacts/web/``.

Needs Debian's ``chromium`` package (``/usr/bin/chromium``) and the ``playwright`` Python package
(the ``test`` extra); the browser downloads of Playwright are not used.
"""

from __future__ import annotations

import socket
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import select

from certification.clock import today
from certification.db import session_scope
from certification.models import AgrementRequest, AuditEvent
from certification.services import agrement as svc
from certification.settings import reset_settings_cache
from tests.factories import make_users, submit_request
from tests.web.conftest import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="/usr/bin/chromium is absent: apt-get install chromium (Debian) to run the browser test"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(monkeypatch):
    """The application served by uvicorn on 127.0.0.1 in a background thread (flows not dispatched)."""
    import uvicorn

    from api.app import create_app

    monkeypatch.setenv("CQP_FLOW_DISPATCH", "none")
    monkeypatch.delenv("PREFECT_UI_URL", raising=False)
    reset_settings_cache()
    port = _free_port()
    config = uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, name="uvicorn-web-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=30)


def test_officer_declares_a_request_admissible_in_a_real_browser(server):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (test extra)")
    people = make_users()
    mandataire, officer = people["mandataire"]["actor"], people["officer"]["actor"]
    late = submit_request(mandataire, 1, name="Jardins de l'Étang — Saint-Brieuc")
    waiting = submit_request(mandataire, 2, name="Ressourcerie Éco'Logis")
    with session_scope() as s:
        svc.request_complements(s, officer, late, "Attestation EPSP de l'encadrante", deadline_days=30)
        s.execute(update(AgrementRequest).where(AgrementRequest.id == late)
                  .values(complements_deadline=today() - timedelta(days=3)))
        late_ref = s.get(AgrementRequest, late).reference
        waiting_ref = s.get(AgrementRequest, waiting).reference
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(locale="fr-FR", viewport={"width": 1280, "height": 900})
            page.set_default_timeout(15_000)
            problems: list[str] = []
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)

            # 1. Login (an anonymous visit is sent to the login form).
            page.goto(f"{server}/app/")
            assert page.url.startswith(f"{server}/app/login")
            page.fill("#email", people["officer"]["email"])
            page.fill("#password", PASSWORD)
            page.screenshot(path=str(ARTIFACTS / "01-connexion.png"), full_page=True)
            page.click("button[type=submit]")
            page.wait_for_url(f"{server}/app/")

            # 2. The inbox: the overdue step first, with its badge; the stylesheet is applied.
            assert page.inner_text("#current-user") == "Camille Martin"
            rows = page.locator("#inbox tbody tr")
            assert rows.count() == 2
            first = rows.nth(0)
            assert late_ref in first.inner_text() and "en retard" in first.inner_text()
            assert "overdue" in (first.get_attribute("class") or "")
            assert waiting_ref in rows.nth(1).inner_text() and "en retard" not in rows.nth(1).inner_text()
            background = page.evaluate("getComputedStyle(document.body).backgroundColor")
            assert background == "rgb(245, 247, 250)", background
            page.screenshot(path=str(ARTIFACTS / "02-actions-en-attente.png"), full_page=True)

            # 3. The request waiting for the officer.
            page.click(f"text={waiting_ref}")
            page.wait_for_url(f"{server}/app/demandes/{waiting}")
            assert page.inner_text("#structure-name") == "Ressourcerie Éco'Logis"
            assert page.inner_text("#state") == "déposée"
            assert "Interface Prefect non configurée" in page.inner_text(".prefect")
            page.fill("#admissible-comment", "Pièces complètes et lisibles ; attestation EPSP à jour.")
            page.screenshot(path=str(ARTIFACTS / "03-demande.png"), full_page=True)

            # 4. The confirmation page: nothing recorded yet.
            page.click("#form-recevable button[type=submit]")
            page.wait_for_selector("#confirm")
            assert "Confirmer : déclarer la demande recevable" in page.inner_text("h1")
            assert "attestation EPSP à jour" in page.inner_text("#summary")
            with session_scope() as s:
                assert s.get(AgrementRequest, waiting).state == "submitted"
            page.screenshot(path=str(ARTIFACTS / "04-confirmation.png"), full_page=True)

            # 5. Confirmed: the state changed, the timeline shows it.
            page.click("#confirm")
            page.wait_for_url(f"{server}/app/demandes/{waiting}?fait=recevable")
            assert page.inner_text(".flash") == "La demande a été déclarée recevable."
            assert page.inner_text("#state") == "recevable"
            last = page.locator("ol.timeline li.event").last
            text = last.inner_text()
            assert "Déclarer recevable" in text and "déposée → recevable" in text
            assert "Camille Martin" in text and "chargé·e de certification" in text
            assert "Motif : Pièces complètes et lisibles ; attestation EPSP à jour." in text
            last.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "05-historique.png"), full_page=True)
            assert not problems, problems
        finally:
            browser.close()

    with session_scope() as s:
        assert s.get(AgrementRequest, waiting).state == "admissible"
        events = s.exec(select(AuditEvent).where(AuditEvent.entity_id == waiting,
                                                 AuditEvent.action == "declare_admissible")).all()
        assert len(events) == 1 and events[0].actor_id == people["officer"]["id"]
