"""Webhooks: an officer subscribes a real local HTTP receiver; events are queued with their audit
row, delivered signed (verified by the receiver), retried with backoff after a failure, logged."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlmodel import select

from certification.clock import now
from certification.db import get_engine, session_scope
from certification.models_webhooks import WebhookDelivery
from certification.webhooks import sign, verify
from flows.common import deliver_task
from notifications.webhooks import deliver_webhooks
from tests.factories import auth


class Receiver:
    """An HTTP server on 127.0.0.1 that checks each signature with the subscription's secret."""

    def __init__(self):
        self.secret = ""
        self.received: list[dict] = []
        self.fail_next = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                ok = verify(receiver.secret, body, self.headers["X-CQP-Signature"], int(time.time()))
                if receiver.fail_next:
                    receiver.fail_next -= 1
                    self.send_response(503)
                else:
                    receiver.received.append(
                        {"valid": ok, "body": json.loads(body), "event_id": self.headers["X-CQP-Event-Id"]}
                    )
                    self.send_response(204 if ok else 400)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/cqp"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.server.shutdown()


def test_signed_events_delivered_to_a_real_receiver_with_retries(client, people, submit, receiver):
    officer = auth(people["officer"])
    r = client.post(
        "/webhooks",
        headers=officer,
        json={"url": receiver.url, "description": "SI du réseau", "events": ["dossier.state_changed"]},
    )
    assert r.status_code == 201, r.text
    sub = r.json()
    receiver.secret = sub["secret"]
    assert (
        sub["secret"].startswith("whsec_")
        and "secret" not in client.get(f"/webhooks/{sub['id']}", headers=officer).json()
    )
    listed = client.get("/webhooks", headers=officer).json()
    assert listed["total"] == 1 and "secret" not in listed["items"][0]

    request = submit(1).json()  # submitted: an audited state change, its delivery queued with it
    receiver.fail_next = 1
    first = asyncio.run(deliver_webhooks(get_engine()))
    assert (first.delivered, first.retried, first.failed) == (0, 1, 0) and receiver.received == []
    log = client.get(f"/webhooks/{sub['id']}/deliveries", headers=officer).json()["items"]
    assert [(d["status"], d["attempts"], [a["status_code"] for a in d["log"]]) for d in log] == [("pending", 1, [503])]
    assert asyncio.run(deliver_webhooks(get_engine())).delivered == 0  # not due yet: backoff

    with session_scope() as db:  # the backoff elapses
        for d in db.exec(select(WebhookDelivery)):
            d.next_attempt_at = now() - timedelta(seconds=1)
            db.add(d)
    report = asyncio.run(deliver_task.fn())
    assert report["webhooks"] == {"delivered": 1, "retried": 0, "failed": 0}
    (got,) = receiver.received
    assert got["valid"] is True and got["event_id"] == got["body"]["id"] == log[0]["event_id"]
    assert got["body"]["type"] == "dossier.state_changed" and got["body"]["created_at"].endswith("Z")
    data = got["body"]["data"]
    assert (data["entity_type"], data["entity_id"], data["to_state"]) == (
        "agrement_requests",
        request["id"],
        "submitted",
    )
    log = client.get(f"/webhooks/{sub['id']}/deliveries", headers=officer).json()["items"]
    assert [(d["status"], [a["status_code"] for a in d["log"]]) for d in log] == [("delivered", [503, 204])]

    # Unsubscribed: later events are not queued for it.
    assert client.delete(f"/webhooks/{sub['id']}", headers=officer).json()["active"] is False
    submit(2)
    with session_scope() as db:
        assert len(db.exec(select(WebhookDelivery)).all()) == 1


def test_subscriptions_are_for_officers_with_known_events(client, people):
    body = {"url": "https://si.example.org/hooks", "events": ["dossier.state_changed"]}
    assert client.post("/webhooks", headers=auth(people["mandataire"]), json=body).status_code == 403
    r = client.post("/webhooks", headers=auth(people["officer"]), json={**body, "events": ["dossier.deleted"]})
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/events/0"
    for url in ("ftp://si.example.org", "flows.vae:vae_flow", "urn:cqp:hooks", "https://si..example.org/"):
        r = client.post("/webhooks", headers=auth(people["officer"]), json={**body, "url": url})
        assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/url", url
        assert "adresse URL invalide (http ou https)" in r.json()["detail"]
    r = client.post(
        "/webhooks",
        headers=auth(people["officer"]),
        json={**body, "url": "https://si.example.org:8443/hooks?jeton=a%C3%A9"},
    )
    assert r.status_code == 201 and r.json()["url"] == "https://si.example.org:8443/hooks?jeton=a%C3%A9"


def test_signature_replay_tolerance():
    body, secret = b'{"id":"evt_1"}', "whsec_test"
    header = sign(secret, body, 1_800_000_000)
    assert verify(secret, body, header, now=1_800_000_000 + 299)
    assert not verify(secret, body, header, now=1_800_000_000 + 301)  # too old: a replay
    assert not verify(secret, body + b" ", header, now=1_800_000_000)  # body altered
    assert not verify("whsec_other", body, header, now=1_800_000_000)
    assert not verify(secret, body, "v1=abc", now=1_800_000_000)
