"""Dossier reads: the engine's work still owed (progress) and ETag / If-None-Match polling."""

from __future__ import annotations

from sqlmodel import select

from certification.db import session_scope
from notifications.models import STATUS_SENT, OutboxMessage
from tests.factories import auth


def test_progress_and_conditional_polling(client, people, submit):
    """The submission owes its accusé de réception (a step); once the flow ran, the e-mail is
    queued (a mail); once delivered, the dossier is idle. Each change gives a new ETag."""
    from flows.agrement import advance_request

    created = submit(1).json()
    url, headers = f"/agrement-requests/{created['id']}", auth(people["mandataire"])
    first = client.get(url, headers=headers)
    progress = first.json()["progress"]
    assert first.status_code == 200 and progress["idle"] is False and progress["last_run"] is None
    assert [(p["kind"], p["name"], p["status"]) for p in progress["pending"]] == [("step", "submit", "owed")]
    assert progress["pending"][0]["created_at"].endswith("Z")
    etag = first.headers["ETag"]
    again = client.get(url, headers={**headers, "If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["ETag"] == etag
    assert client.get(url, headers={**headers, "If-None-Match": '"autre"'}).status_code == 200

    advance_request(created["id"])  # the flow's step: the letter rendered, the e-mail queued
    owed = client.get(url, headers={**headers, "If-None-Match": etag})
    assert owed.status_code == 200 and owed.headers["ETag"] != etag
    progress = owed.json()["progress"]
    assert progress["idle"] is False
    assert [(p["kind"], p["name"], p["status"]) for p in progress["pending"]] == [("mail", "ack:r1", "pending")]

    with session_scope() as db:
        message = db.exec(select(OutboxMessage).where(OutboxMessage.entity_id == created["id"])).one()
        message.status = STATUS_SENT
        db.add(message)
    done = client.get(url, headers={**headers, "If-None-Match": owed.headers["ETag"]})
    assert done.status_code == 200 and done.json()["progress"]["idle"] is True


def test_every_dossier_read_declares_etag_and_304(client):
    spec = client.get("/openapi.json").json()
    reads = [path for path, item in spec["paths"].items() if "304" in item.get("get", {}).get("responses", {})]
    assert len(reads) == 10, reads  # the nine dossiers and the dossiers de VAE
    for path in reads:
        operation = spec["paths"][path]["get"]
        assert "ETag" in operation["responses"]["200"]["headers"]
        assert any(p["name"] == "If-None-Match" for p in operation["parameters"])
        schema = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
        assert "progress" in spec["components"]["schemas"][schema]["required"], path
