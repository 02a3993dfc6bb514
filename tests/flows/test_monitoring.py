"""Flow monitoring end to end: a jury flow that cannot write its documents fails, is recorded,
alerts the officers once, shows on the operations page and on top of the inbox; once fixed, the
officer relaunches it from the page and the documents are produced once.

Real Prefect runs, a real SMTP server (aiosmtpd), real PDFs. The tests run as root, for whom
``chmod`` does not make a folder unwritable: the documents folder is replaced by a file instead.
"""

from __future__ import annotations

import re
import shutil
from collections import Counter

import pytest
from sqlmodel import select

from api.app import create_app
from certification.db import get_engine, session_scope
from certification.models import AuditEvent
from certification.jury.models import JurySession
from certification.models_monitoring import FlowRunRecord
from certification.settings import get_settings, reset_settings_cache
from documents.models import GeneratedDocument
from flows import monitoring
from flows.jury import jury_session_flow
from notifications.outbox import deliver_pending
from notifications.transport import build_transport
from tests.factories import deliberated_session, ready_candidates
from tests.web.conftest import csrf_of, signed_in

pytestmark = pytest.mark.integration


def runs(sid: int) -> list[FlowRunRecord]:
    with session_scope() as db:
        return list(
            db.exec(
                select(FlowRunRecord)
                .where(FlowRunRecord.process == "jury", FlowRunRecord.entity_id == sid)
                .order_by(FlowRunRecord.id)
            )
        )


async def deliver() -> None:
    await deliver_pending(get_engine(), build_transport(get_settings()))


async def test_a_failing_flow_alerts_once_and_is_relaunched_by_the_officer(
    prefect_server, smtp, world, settings, monkeypatch
):
    monkeypatch.setenv("CQP_ALERT_FLOW_FAILURES", "2")
    monkeypatch.setenv("CQP_FLOW_DISPATCH", "inline")
    reset_settings_cache()
    ids = ready_candidates(world["structure"], 2)
    sid = deliberated_session(world, ids)
    generated = settings.data_dir / "generated"
    shutil.rmtree(generated, ignore_errors=True)
    generated.write_text("un fichier à la place du dossier des documents")

    for _ in range(3):
        with pytest.raises(Exception):  # noqa: B017 - whatever the OS error, the run fails
            await jury_session_flow(sid)
        await deliver()

    failed = runs(sid)
    assert [(r.state, r.failures_in_a_row) for r in failed] == [("failed", 1), ("failed", 2), ("failed", 3)]
    assert {r.incident_id for r in failed} == {failed[0].id} and all(r.prefect_run_id for r in failed)
    assert "generated" in failed[-1].error
    [alert] = smtp.by_subject("[Alerte]")
    assert f"Session de jury n° {sid}" in str(alert["Subject"]) and "2 fois de suite" in str(alert["Subject"])
    [index] = [i for i, m in enumerate(smtp.messages) if "[Alerte]" in str(m["Subject"])]
    assert smtp.recipients(index) == [settings.officers_mailbox]

    app = create_app()
    with signed_in(app, world["officer"]) as officer:
        page = officer.get("/app/operations")
        assert page.status_code == 200
        alerts = page.text.split('id="alerts"', 1)[1].split("</table>", 1)[0]
        assert f'href="/app/jurys/{sid}"' in alerts and "échec 3 fois de suite" in alerts
        failed_table = page.text.split('id="failed-runs"', 1)[1].split("</table>", 1)[0]
        assert failed_table.count("<tr>") == 4  # heading + 3 runs
        inbox = officer.get("/app/").text
        first = re.search(r'<tr class="inbox-item([^"]*)">(.*?)</tr>', inbox, re.S)
        assert "alert-item" in first.group(1) and f"/app/jurys/{sid}" in first.group(2)

        generated.unlink()  # the administrator fixes the folder

        form = officer.post(
            "/app/operations/relancer",
            data={"csrf_token": csrf_of(page.text), "process": "jury", "entity_id": str(sid)},
        )
        assert form.status_code == 200 and 'id="confirm"' in form.text  # nothing done yet
        assert len(runs(sid)) == 3
        done = officer.post(
            "/app/operations/relancer",
            data={"csrf_token": csrf_of(page.text), "process": "jury", "entity_id": str(sid), "confirm": "1"},
        )
        assert done.status_code == 303 and done.headers["location"] == "/app/operations?fait=relance"

        after = officer.get("/app/operations").text
        assert 'id="no-alerts"' in after
        assert "alert-item" not in officer.get("/app/").text
        assert officer.get("/app/operations/relancer").status_code in (404, 405)

    assert runs(sid)[-1].state == "completed" and runs(sid)[-1].failures_in_a_row == 0
    with session_scope() as db:
        assert db.get(JurySession, sid).state == "results_notified"
        documents = list(db.exec(select(GeneratedDocument)))
        [audit] = db.exec(select(AuditEvent).where(AuditEvent.action == "relaunch_flow")).all()
        assert (audit.entity_type, audit.entity_id, audit.actor_id) == ("jury_sessions", sid, world["officer"]["id"])
        assert monitoring.open_flow_incidents(db) == []
    keys = Counter((d.entity_type, d.entity_id, d.kind, d.version) for d in documents)
    assert len(documents) == len(ids) + 1 and set(keys.values()) == {1}
    for d in documents:
        assert (settings.data_dir / d.relative_path).stat().st_size == d.size

    await deliver()
    assert len(smtp.by_subject("[Alerte]")) == 1  # one incident, one e-mail
