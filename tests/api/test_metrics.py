"""The Prometheus endpoint: request latency by route template, flow runs, waiting dossiers, outbox."""

from __future__ import annotations

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from certification.db import session_scope
from certification.models_monitoring import FlowRunRecord
from documents.samples import sample_context
from notifications.outbox import enqueue
from tests.factories import make_users


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_expose_runs_outbox_and_latency_without_personal_data():
    people = make_users()
    with session_scope() as db:
        db.add(FlowRunRecord(process="jury", entity_id=4, state="failed", failures_in_a_row=1, error="x"))
        db.add(FlowRunRecord(process="jury", entity_id=4, state="completed"))
        db.add(FlowRunRecord(process="sweep", state="completed"))
        enqueue(
            db,
            dedupe_key="k:1",
            to=["candidate.personne@example.org"],
            template="agrement/accuse_reception",
            context=sample_context(),
        )
    with TestClient(create_app()) as client:
        me = client.get("/auth/me", headers={"Authorization": f"Bearer {people['officer']['token']}"})
        assert me.status_code == 200
        client.get("/health")
        r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    found = samples(r.text)
    assert found[("cqp_flow_runs", (("process", "jury"), ("state", "failed")))] == 1
    assert found[("cqp_flow_runs", (("process", "jury"), ("state", "completed")))] == 1
    assert found[("cqp_outbox_messages", (("status", "pending"),))] == 1
    assert found[("cqp_outbox_messages", (("status", "failed"),))] == 0
    assert found[("cqp_flow_incidents_open", ())] == 0
    assert ("cqp_dossiers_waiting", (("process", "jury"),)) in found
    count = ("cqp_http_request_duration_seconds_count", (("method", "GET"), ("route", "/health"), ("status", "2xx")))
    assert found[count] >= 1
    routes = {dict(labels).get("route") for name, labels in found if name.startswith("cqp_http")}
    assert "/auth/me" in routes
    assert "example.org" not in r.text and "camille" not in r.text.lower()
