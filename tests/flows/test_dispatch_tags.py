"""Every flow run started for a dossier carries the tag ``<process>:<id>`` (real Prefect server).

The back-office links to the Prefect UI's runs page filtered by that tag (``api.web.prefect_links``):
these tests check that the Prefect API really lists the dossier's runs under it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from prefect import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags

from api.app import create_app
from api.web.prefect_links import FLOW_NAMES
from certification.clock import today
from certification.settings import reset_settings_cache
from flows.dispatch import PROCESSES, load_flow, run_tag
from tests.factories import auth, make_users, siret

pytestmark = pytest.mark.integration


async def runs_tagged(tag: str, since: datetime) -> list:
    """The runs carrying ``tag`` created since ``since``: the Prefect server lives for the whole
    session while the case database is emptied before each test, so dossier ids (and their tags)
    come back in every test."""
    async with get_client() as client:
        runs = await client.read_flow_runs(flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[tag])))
        flows = {f.id: f.name for f in await client.read_flows()}
    return [(flows[r.flow_id], r) for r in sorted(runs, key=lambda r: r.created) if r.created >= since]


def test_every_process_has_its_flow_name_for_the_links():
    assert set(FLOW_NAMES) == set(PROCESSES)
    for kind, process in PROCESSES.items():
        assert load_flow(process).name == FLOW_NAMES[kind] == process.deployment.split("/")[0]


async def test_inline_dispatch_tags_the_run_with_the_dossier(prefect_server, smtp, monkeypatch, pdf_bytes):
    since = datetime.now(UTC)
    people = make_users()
    monkeypatch.setenv("CQP_FLOW_DISPATCH", "inline")
    reset_settings_cache()
    meta = (
        '{"structure": {"siret": "%s", "name": "Les Jardins", "region": "Bretagne", "email": "aci@example.org"},'
        ' "certification_code": "CQP_SP"}' % siret(41)
    )
    with TestClient(create_app()) as client:
        r = client.post(
            "/agrement-requests",
            headers=auth(people["mandataire"]),
            data={"metadata": meta},
            files=[
                ("dossier", ("dossier.pdf", pdf_bytes, "application/pdf")),
                ("attestation_epsp", ("epsp.pdf", pdf_bytes + b"\n%2", "application/pdf")),
            ],
        )
        assert r.status_code == 201, r.text
        rid = r.json()["id"]
        r = client.post(f"/agrement-requests/{rid}/admissible", headers=auth(people["officer"]), json={})
        assert r.status_code == 200, r.text

    runs = await runs_tagged(run_tag("agrement_request", rid), since)
    assert [name for name, _ in runs] == ["agrement-request", "agrement-request"]
    assert all(run.state.is_completed() and run.parameters == {"request_id": rid} for _, run in runs)
    assert await runs_tagged(run_tag("agrement_request", rid + 1000), since) == []


async def test_background_dispatch_tags_the_run_with_the_dossier(prefect_server, monkeypatch):
    since = datetime.now(UTC)
    people = make_users()
    monkeypatch.setenv("CQP_FLOW_DISPATCH", "background")
    reset_settings_cache()
    body = {"days": [(today() + timedelta(days=30)).isoformat()], "place": "Rennes"}
    with TestClient(create_app()) as client:  # leaving the client drains the background runs
        r = client.post("/training-sessions", headers=auth(people["formateur"]), json=body)
        assert r.status_code == 201, r.text
        sid = r.json()["id"]

    ((name, run),) = await runs_tagged(run_tag("training_session", sid), since)
    assert name == "training-session" and run.state.is_completed()
    assert run.parameters == {"session_id": sid}


def test_deployment_dispatch_without_a_prefect_server_keeps_the_action(monkeypatch, caplog):
    """The action is committed before its run is requested: an unreachable Prefect server is logged
    (the sweep catches the dossier up), the user gets his answer, not a 500."""
    from prefect.settings import PREFECT_API_URL, PREFECT_CLIENT_MAX_RETRIES, temporary_settings

    from tests.smtp import free_port

    people = make_users()
    monkeypatch.setenv("CQP_FLOW_DISPATCH", "deployment")
    reset_settings_cache()
    body = {"days": [(today() + timedelta(days=30)).isoformat()], "place": "Rennes"}
    nowhere = f"http://127.0.0.1:{free_port()}/api"
    with (
        temporary_settings({PREFECT_API_URL: nowhere, PREFECT_CLIENT_MAX_RETRIES: 0}),
        TestClient(create_app()) as client,
    ):
        r = client.post("/training-sessions", headers=auth(people["formateur"]), json=body)
        assert r.status_code == 201, r.text
        assert client.get(f"/training-sessions/{r.json()['id']}", headers=auth(people["formateur"])).status_code == 200
    assert (
        f"could not start deployment training-session/training-session for training_session:{r.json()['id']}"
        in caplog.text
    )
