"""In a real headless Chromium: the officer opens the operations page (an alert, the failed runs,
the e-mail queue), relaunches a dossier through its confirmation page, and follows the dossier's
link to its runs in the UI of a real local Prefect server (``api.prefect_server``, as ``cqp run``
starts it). Screenshots go to ``test-artifacts/web/operations/``."""

from __future__ import annotations

import pytest
from sqlmodel import select

from api.prefect_server import LocalPrefectServer
from certification.db import session_scope
from certification.models import AuditEvent
from certification.models_monitoring import FlowRunRecord
from certification.settings import reset_settings_cache
from tests.factories import make_users, submit_request
from tests.smtp import free_port
from tests.web.test_browser import CHROMIUM, chromium, server, shooter, sign_in  # noqa: F401 - fixtures

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is absent"),
]


@pytest.fixture
def prefect_ui(tmp_path, monkeypatch):
    """A real local Prefect server with its UI; the back-office links to it (PREFECT_UI_URL)."""
    local = LocalPrefectServer(tmp_path, port=free_port())
    api_url = __import__("os").environ.get("PREFECT_API_URL")
    local.start()
    try:
        assert local.wait(240), (local.home / "server.log").read_text()[-3000:]
        if api_url is None:  # start() points this process at it: the other tests keep their own
            monkeypatch.delenv("PREFECT_API_URL", raising=False)
        else:
            monkeypatch.setenv("PREFECT_API_URL", api_url)
        yield local
    finally:
        local.stop()


def test_operations_page_and_the_prefect_link_of_a_dossier(server, chromium, prefect_ui, monkeypatch):  # noqa: F811
    people = make_users()
    rid = submit_request(people["mandataire"]["actor"])
    with session_scope() as db:
        for streak in (1, 2, 3):
            db.add(FlowRunRecord(process="agrement_request", entity_id=rid, state="failed", failures_in_a_row=streak,
                                error="PermissionError: [Errno 13] Permission denied: 'var/generated'",
                                incident_id=1))
    monkeypatch.setenv("PREFECT_UI_URL", prefect_ui.ui_url)
    reset_settings_cache()
    page = chromium()
    shot = shooter(page, "operations")
    sign_in(page, server, people["officer"])

    page.click("nav >> text=Opérations")
    page.wait_for_url(f"{server}/app/operations")
    alerts = page.inner_text("#alerts")
    assert f"Demande d'agrément n° {rid}" in alerts and "échec 3 fois de suite" in alerts
    assert "Permission denied" in page.inner_text("#failed-runs")
    shot("01-operations")

    page.click(f"#waiting form:has(input[value='{rid}']) button, #alerts form button")
    page.wait_for_selector("#confirm")
    assert "Rien n'est encore enregistré" in page.inner_text("main")
    shot("02-confirmation")
    page.click("#confirm")
    page.wait_for_selector(".flash")
    assert "Traitement relancé" in page.inner_text(".flash")
    with session_scope() as db:
        assert db.exec(select(AuditEvent).where(AuditEvent.action == "relaunch_flow")).one().entity_id == rid

    page.goto(f"{server}/app/demandes/{rid}")
    link = page.locator(".prefect a", has_text="exécutions de ce dossier")
    href = link.get_attribute("href")
    assert href == f"{prefect_ui.ui_url}/runs?tag=agrement_request%3A{rid}"
    shot("03-dossier")
    assert page.problems == [], page.problems
    page.goto(href)
    page.wait_for_load_state("networkidle")
    assert page.url.startswith(prefect_ui.ui_url)
    assert "Prefect" in page.title() and "Runs" in page.inner_text("body")
    shot("04-prefect")
    # The Prefect UI is not ours: only a server error of it would fail this test.
    assert not [p for p in page.problems if p[:1] == "5"], page.problems
