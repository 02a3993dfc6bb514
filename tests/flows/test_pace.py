"""Correct at any pace: the same API steps give the same documents and e-mails, each exactly once,
whether the client waits for the engine between steps or fires the next step at once, with the
flows run inline or in the background — and in the background, no legitimate step is refused.

The steps are those of the demo of the main job (every process through the real API: agrément
request, candidates, jury from planning to the signed PV, contrôle, EPSP training), followed by
the rest of the contrôle (visit, report, decision), an appui pédagogique and the training's end.
Each configuration starts from an empty case record; flows run through a real Prefect server and
e-mails reach a real SMTP server.
"""

from __future__ import annotations

import asyncio
import json
import random
import shutil
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlmodel import select

from api.app import create_app
from api.demo import DEMO_USERS, _atoken, _ok, run_demo, sample_pdf
from certification.clock import today
from certification.db import session_scope
from certification.effects import OwedEffect
from certification.settings import get_settings, reset_settings_cache
from documents.models import GeneratedDocument
from flows import dispatch
from notifications.models import OutboxMessage

pytestmark = pytest.mark.integration


class Paced:
    """The API as a client sees it, pausing (or not) after each action.

    ``pause``: "wait" — until the engine has done what the action owed (background runs drained);
    "none" — the next request goes at once; "random" — a random mix of both (property check).
    Every answer to an action is recorded: in the background mode none may be a refusal.
    """

    def __init__(self, app, pause: str, seed: int = 0) -> None:
        self.app, self.pause, self.random = app, pause, random.Random(seed)
        self.refused: list[str] = []

    async def __call__(self, scope, receive, send):
        status = {}

        async def watch(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        await self.app(scope, receive, watch)
        if scope["type"] != "http" or scope["method"] != "POST":
            return
        if status.get("code", 200) >= 400 and scope["path"] != "/auth/token":
            self.refused.append(f"{scope['path']} → {status['code']}")
        if self.pause == "wait" or (self.pause == "random" and self.random.random() < 0.5):
            await dispatch.drain_background()


async def _more_steps(client: httpx.AsyncClient) -> None:
    """The contrôle to its decision, an appui pédagogique to its report, the training to its end."""
    officer = await _atoken(client, DEMO_USERS[0][0])
    controleur = await _atoken(client, DEMO_USERS[3][0])
    formateur = await _atoken(client, DEMO_USERS[4][0])
    users = {u["email"]: u for u in _ok(await client.get("/users", headers=officer))["items"]}
    (controle,) = _ok(await client.get("/controles", headers=officer))["items"]
    cid = controle["id"]
    structure_id = controle["structure_id"]

    def soon() -> str:
        return (datetime.now(UTC) + timedelta(seconds=3)).replace(microsecond=0).isoformat()

    _ok(
        await client.post(
            f"/controles/{cid}/visit", headers=controleur, json={"visit_at": soon(), "place": "Sur le chantier"}
        )
    )
    appui = _ok(
        await client.post(
            "/appuis",
            headers=officer,
            json={"structure_id": structure_id, "subject": "Tutorat", "need": "Former une tutrice à l'évaluation."},
        )
    )
    _ok(
        await client.post(
            f"/appuis/{appui['id']}/assign", headers=officer, json={"formateur_id": users[DEMO_USERS[4][0]]["id"]}
        )
    )
    _ok(
        await client.post(
            f"/appuis/{appui['id']}/visit", headers=formateur, json={"visit_at": soon(), "place": "Villeurbanne"}
        )
    )
    await asyncio.sleep(4)  # the visits took place (real time: the engine's own clock is not moved)
    report = sample_pdf("Rapport de contrôle", "Visite du chantier, entretien avec l'encadrante.")
    findings = {
        "summary": "Conforme au référentiel.",
        "findings": [{"criterion": "Encadrement", "status": "conforme", "comment": "Encadrante formée EPSP."}],
    }
    _ok(
        await client.post(
            f"/controles/{cid}/report",
            headers=controleur,
            data={"metadata": json.dumps(findings)},
            files=[("rapport", ("rapport.pdf", report, "application/pdf"))],
        )
    )
    _ok(
        await client.post(
            f"/controles/{cid}/decision",
            headers=officer,
            json={"decision": "compliant", "reason": "Aucun écart constaté."},
        )
    )
    _ok(
        await client.post(
            f"/appuis/{appui['id']}/report",
            headers=formateur,
            data={"metadata": json.dumps({"text": "Séance de tutorat menée."})},
        )
    )

    (training,) = _ok(await client.get("/training-sessions", headers=formateur))["items"]
    tid = training["id"]
    detail = _ok(await client.get(f"/training-sessions/{tid}", headers=formateur))
    _ok(
        await client.post(
            f"/training-sessions/{tid}/reschedule",
            headers=formateur,
            json={"days": [str(today() + timedelta(days=28))], "place": "Lyon, salle Fourvière"},
        )
    )
    (enrollment,) = detail["enrollments"]
    _ok(
        await client.post(
            f"/training-sessions/{tid}/enrollments/{enrollment['id']}/withdraw",
            headers=formateur,
            json={"reason": "Encadrante indisponible à ces dates."},
        )
    )


def _run(app, pause: str, seed: int = 0) -> tuple[dict, list[str]]:
    paced = Paced(app, pause, seed)
    result = run_demo(paced)

    async def rest():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=paced), base_url="http://pace") as client:
            await _more_steps(client)
        await dispatch.drain_background()

    asyncio.run(rest())
    assert result.jury_state in ("pv_signed", "results_notified")
    return _record(), paced.refused


def _record() -> dict:
    """Every document and every e-mail the engine produced (keyed), and what is still owed."""
    with session_scope() as db:
        documents = sorted((d.entity_type, d.entity_id, d.kind, d.version) for d in db.exec(select(GeneratedDocument)))
        mails = sorted(
            (
                m.dedupe_key,
                tuple(m.to_addrs),
                m.status if m.status == "sent" else f"{m.status} after {m.attempts} attempts: {m.last_error}",
            )
            for m in db.exec(select(OutboxMessage))
        )
        owed = [(e.process, e.step) for e in db.exec(select(OwedEffect).where(OwedEffect.done_at.is_(None)))]
    return {"documents": documents, "mails": mails, "owed": owed}


def _fresh(engine) -> None:
    """An empty case record and data folder (as the autouse fixture gives each test)."""
    from sqlalchemy import text
    from sqlmodel import SQLModel

    tables = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f'DELETE FROM "{table}"'))
    data_dir = get_settings().data_dir
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)


CONFIGURATIONS = [
    ("inline", "wait"),
    ("inline", "none"),
    ("background", "wait"),
    ("background", "none"),
    ("background", "random"),
]


def _twice(delivered: list, caplog) -> list:
    """The messages the SMTP server received more than once, with what tells a retry of one outbox
    row (same Date, attempts > 1, a logged failure) from two rows (different Dates)."""
    ids = [m["Message-ID"] for m in delivered]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if not repeated:
        return []
    with session_scope() as db:
        rows = {m.message_id: m for m in db.exec(select(OutboxMessage).where(OutboxMessage.message_id.in_(repeated)))}
    found = []
    for message_id in repeated:
        copies = [m for m in delivered if m["Message-ID"] == message_id]
        row = rows.get(message_id)
        found.append(
            (
                str(copies[0]["Subject"]),
                [str(m["Date"]) for m in copies],
                row and (row.status, row.attempts, row.last_error),
            )
        )
    outbox_log = [r.getMessage() for r in caplog.records if r.name.startswith("notifications")]
    return [*found, ("outbox log", outbox_log[-20:])]


def test_same_documents_and_mails_at_any_pace(prefect_server, smtp, monkeypatch, engine, caplog):
    records = {}
    for mode, pause in CONFIGURATIONS:
        _fresh(engine)
        monkeypatch.setenv("CQP_FLOW_DISPATCH", mode)
        reset_settings_cache()
        before = len(smtp.messages)
        record, refused = _run(create_app(), pause, seed=len(records))
        assert refused == [], f"{mode}/{pause}: legitimate steps refused: {refused}"
        assert record["owed"] == [], f"{mode}/{pause}: effects left owed: {record['owed']}"
        unsent = [(key, status) for key, _, status in record["mails"] if status != "sent"]
        assert unsent == [], f"{mode}/{pause}: not delivered: {unsent}"
        delivered = smtp.messages[before:]
        twice = _twice(delivered, caplog)
        assert twice == [], f"{mode}/{pause}: delivered more than once: {twice}"
        assert len(delivered) == len(record["mails"]), (
            f"{mode}/{pause}: {len(delivered)} delivered for {len(record['mails'])} recorded: "
            f"{sorted((m['Subject'], m['To']) for m in delivered)}"
        )
        records[(mode, pause)] = record

    reference = records[("inline", "wait")]
    keys = [key for key, *_ in reference["mails"]]
    # The cases that a fast client used to lose: the jury's convocations and the « PV à signer ».
    # (the demo plans two juries of four members each)
    convocations: dict[str, int] = {}
    for k in keys:
        if k.startswith("jury_sessions:") and ":convocation:u" in k:
            convocations[k.split(":convocation:")[0]] = convocations.get(k.split(":convocation:")[0], 0) + 1
    assert sorted(convocations.values()) == [4, 4], convocations
    assert any(":pv-to-sign:v1" in k for k in keys)
    assert any(k.startswith("appuis:") and k.endswith(":requested") for k in keys)
    assert any(k.startswith("controles:") and ":visit:s" in k for k in keys)
    assert any(k.startswith("controles:") and k.endswith(":report") for k in keys)
    for configuration, record in records.items():
        assert record["documents"] == reference["documents"], configuration
        assert record["mails"] == reference["mails"], configuration


def test_fast_client_then_sweep_adds_nothing(prefect_server, smtp, monkeypatch):
    """After a fast client in the background mode, the sweep (the safety net) finds nothing owed."""
    from flows.sweep import daily_sweep_flow

    monkeypatch.setenv("CQP_FLOW_DISPATCH", "background")
    reset_settings_cache()
    record, refused = _run(create_app(), "none")
    assert refused == [] and record["owed"] == []
    asyncio.run(daily_sweep_flow())
    assert _record()["mails"] == record["mails"] and _record()["documents"] == record["documents"]
    assert get_settings().flow_dispatch == "background"
