"""The README's API section, executed: its Python snippets (pagination, polling with ETag, a webhook
subscription and the receiver's signature check) run as written against the engine, and its problem
details example is what the engine answers for that input."""

from __future__ import annotations

import asyncio
import json
import re
import time
import types
from pathlib import Path

import pytest
from sqlmodel import select

import tests.api.test_webhooks as webhook_tests
from certification.db import get_engine, session_scope
from certification.webhooks import sign
from notifications.models import STATUS_SENT, OutboxMessage
from notifications.webhooks import deliver_webhooks
from tests.api.test_webhooks import Receiver
from tests.factories import grant_agrement, ready_candidates, siret, structure_account

README = Path(__file__).resolve().parents[2] / "README.md"


def _section() -> str:
    text = README.read_text(encoding="utf-8")
    return text.split("### API contract for client developers", 1)[1].split("\n### ", 1)[0]


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", _section(), re.S)


@pytest.fixture
def readme_api(client, people, monkeypatch):
    """The namespace the snippets run in: ``token`` of an officer, and ``httpx.Client`` giving the test
    client (an ``httpx.Client`` on the application) with the snippet's headers."""
    fake_httpx = types.SimpleNamespace(Client=lambda base_url, headers: (client.headers.update(headers), client)[1])
    monkeypatch.setitem(__import__("sys").modules, "httpx", fake_httpx)
    return {"token": people["officer"]["token"]}


def test_the_readme_shows_the_four_things_a_client_needs():
    section = _section()
    assert len(_blocks("python")) == 3 and len(_blocks("json")) == 1
    for needle in (
        'page["next"]',
        "If-None-Match",
        "304",
        "X-CQP-Signature",
        "hmac.compare_digest",
        "application/problem+json",
    ):
        assert needle in section, needle


def test_the_readme_snippets_run_against_the_engine(client, people, submit, readme_api, monkeypatch):
    pagination, polling, webhook = _blocks("python")
    namespace = readme_api
    grant_agrement(people, 1)
    ready = ready_candidates(structure_account(people, siret(1)), 3)

    # Pagination: every candidate ready for the jury, through the `next` links.
    exec(pagination, namespace)
    assert sorted(c["id"] for c in namespace["candidates"]) == sorted(ready)

    # Polling with ETag: 304 while nothing changed, then 200s until the engine owes the dossier nothing.
    from flows.agrement import advance_request

    created = submit(1).json()
    assert "/agrement-requests/42" in polling
    statuses: list[int] = []
    client.event_hooks["response"].append(lambda r: statuses.append(r.status_code))
    real_sleep, waits = time.sleep, []

    def engine_works_meanwhile(seconds: float) -> None:
        if seconds != 30:
            return real_sleep(seconds)
        waits.append(seconds)
        if len(waits) == 2:
            advance_request(created["id"])  # the letter rendered, its e-mail queued
        elif len(waits) == 3:
            with session_scope() as db:  # the e-mail delivered
                for message in db.exec(select(OutboxMessage)):
                    message.status = STATUS_SENT
                    db.add(message)
        assert len(waits) < 10, statuses

    monkeypatch.setattr(time, "sleep", engine_works_meanwhile)
    exec(polling.replace("/agrement-requests/42", f"/agrement-requests/{created['id']}"), namespace)
    monkeypatch.setattr(time, "sleep", real_sleep)
    client.event_hooks["response"].clear()
    assert statuses == [200, 304, 200, 200] and namespace["dossier"]["id"] == created["id"]
    assert namespace["dossier"]["progress"]["idle"] is True

    # A webhook subscription, and the README's receiver-side check on a real delivery.
    receiver = Receiver()
    try:
        monkeypatch.setattr(
            webhook_tests, "verify", lambda secret, body, header, now: namespace["verified"](body, header)
        )
        exec(webhook.replace("https://si.example.org/cqp", receiver.url), namespace)
        assert namespace["sub"]["events"] == ["dossier.state_changed"] and namespace["secret"].startswith("whsec_")
        submit(2)  # a state change: its event queued for the subscription
        assert asyncio.run(deliver_webhooks(get_engine())).delivered == 1
        (got,) = receiver.received
        assert got["valid"] is True and got["body"]["type"] == "dossier.state_changed"
    finally:
        receiver.server.shutdown()
    verified, body, secret = namespace["verified"], b'{"id":"evt_1"}', namespace["secret"]
    assert verified(body, sign(secret, body, int(time.time())))
    assert not verified(body + b" ", sign(secret, body, int(time.time())))  # altered
    assert not verified(body, sign(secret, body, int(time.time()) - 301))  # replayed
    assert not verified(body, sign("whsec_autre", body, int(time.time())))


def test_the_readme_problem_example_is_what_the_engine_answers(client, people, submission):
    (example,) = _blocks("json")
    parts = submission(1)
    metadata = json.loads(parts["data"]["metadata"])
    assert '"email": "pas-une-adresse"' in _section()
    metadata["structure"]["email"] = "pas-une-adresse"
    parts["data"]["metadata"] = json.dumps(metadata)
    r = client.post("/agrement-requests", headers={"Authorization": f"Bearer {people['mandataire']['token']}"}, **parts)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert r.json() == json.loads(example)
