"""Owed effects and dispatch: a busy dossier does not hold up the others; a run with nothing owed
costs the same whatever the dossier's size.

    .venv/bin/python -m bench.effects                  # 130-candidate jury, 20 idle runs per size

1. **Unrelated dossier while a jury is issued.** A 130-candidate jury is signed and its flow started
   in the background dispatch (as ``cqp run`` does after the president's signature); at once an
   agrément request is submitted and its flow started. Measured: from the submission to its
   accusé de réception sent (the outbox row marked sent), through real Prefect runs on a local
   ephemeral server, and the jury's own time to its last e-mail. Target: under 5 s.
2. **A run with nothing owed.** ``flows.jury.advance_jury`` on a jury whose effects are all done,
   for a 130-candidate and a 1-candidate session (median and p95 of N runs each). Target ratio
   130 / 1 under 1.5×.

Results: ``bench/results/effects.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

from bench import _env

LATENCY_TARGET_S = 5.0
IDLE_RATIO_TARGET = 1.5


def _signed_jury(size: int, people: dict, n: int) -> int:
    from tests.factories import deliberated_session, grant_agrement, ready_candidates, siret, structure_account

    grant_agrement(people, n)
    structure_account(people, siret(n), key=f"structure{n}") if n > 1 else structure_account(people, siret(n))
    ids = ready_candidates(people["structure" if n == 1 else f"structure{n}"], size)
    return deliberated_session(people, ids, sign=False)


def idle_runs(size: int, runs: int) -> dict:
    _env.prepare(f"idle{size}")
    from certification.db import session_scope
    from certification.jury import service as jury_svc
    from flows.jury import advance_jury
    from tests.factories import closed_jury

    people, sid = closed_jury(size)
    with session_scope() as db:
        jury_svc.sign_pv(db, people["presidente"]["actor"], sid)
    first = advance_jury(sid)
    assert first.state == "results_notified"
    timings = []
    for _ in range(runs):
        t0 = time.perf_counter()
        outcome = advance_jury(sid)
        timings.append(time.perf_counter() - t0)
        assert outcome.mails == [] and outcome.documents == []
    return {
        "candidates": size,
        "runs": runs,
        "median_ms": round(1000 * statistics.median(timings), 2),
        "p95_ms": round(1000 * _env.percentile(timings, 0.95), 2),
        "min_ms": round(1000 * min(timings), 2),
        "max_ms": round(1000 * max(timings), 2),
    }


def unrelated_latency(size: int) -> dict:
    _env.prepare("latency", CQP_FLOW_DISPATCH="background")
    from prefect.testing.utilities import prefect_test_harness
    from sqlmodel import select

    from api.demo import sample_pdf
    from certification.db import session_scope
    from certification.jury import service as jury_svc
    from flows import dispatch
    from notifications.models import OutboxMessage
    from tests.factories import closed_jury, siret

    people, sid = closed_jury(size)
    pdf = sample_pdf("Dossier", "Pièce de la demande.")

    def sent(key_end: str) -> bool:
        with session_scope() as db:
            return (
                db.exec(
                    select(OutboxMessage.id).where(
                        OutboxMessage.dedupe_key.endswith(key_end), OutboxMessage.status == "sent"
                    )
                ).first()
                is not None
            )

    def jury_done() -> bool:
        with session_scope() as db:
            pending = db.exec(
                select(OutboxMessage.id).where(
                    OutboxMessage.entity_type == "jury_sessions", OutboxMessage.status != "sent"
                )
            ).first()
            results = db.exec(select(OutboxMessage.id).where(OutboxMessage.dedupe_key.contains(":results:"))).first()
        return pending is None and results is not None

    async def scenario() -> dict:
        t0 = time.perf_counter()
        with session_scope() as db:
            jury_svc.sign_pv(db, people["presidente"]["actor"], sid)
        await dispatch.changed("jury", sid)
        await asyncio.sleep(1.0)  # the jury's run is under way
        t1 = time.perf_counter()
        import json

        import httpx

        from api.app import create_app

        metadata = {
            "structure": {
                "siret": siret(2),
                "name": "L'Atelier du Port",
                "region": "Bretagne",
                "email": "atelier@example.org",
            },
            "certification_code": "CQP_SP",
        }
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app()), base_url="http://bench") as c:
            answer = await c.post(
                "/agrement-requests",
                headers={"Authorization": f"Bearer {people['mandataire']['token']}"},
                data={"metadata": json.dumps(metadata)},
                files=[
                    ("dossier", ("dossier.pdf", pdf, "application/pdf")),
                    ("attestation_epsp", ("epsp.pdf", pdf + b"\n%2", "application/pdf")),
                ],
            )
        assert answer.status_code == 201, answer.text
        rid, reference = answer.json()["id"], answer.json()["reference"]
        ack_s = None  # the API's action started the request's flow (background dispatch)
        while time.perf_counter() - t1 < 900:
            if ack_s is None and sent(f"agrement_requests:{rid}:ack:r1"):
                ack_s = time.perf_counter() - t1
            if ack_s is not None and jury_done():
                break
            await asyncio.sleep(0.1)
        jury_s = time.perf_counter() - t0
        await dispatch.drain_background()
        return {
            "jury_candidates": size,
            "ack_after_s": round(ack_s, 2) if ack_s else None,
            "jury_total_s": round(jury_s, 2),
            "request": reference,
        }

    with prefect_test_harness(server_startup_timeout=120):
        return asyncio.run(scenario())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=130)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    try:
        small, big = idle_runs(1, args.runs), idle_runs(args.size, args.runs)
        ratio = round(big["median_ms"] / small["median_ms"], 2)
        print(
            f"idle run: {big['median_ms']} ms median (p95 {big['p95_ms']}) at {args.size} candidates vs "
            f"{small['median_ms']} ms (p95 {small['p95_ms']}) at 1: ratio {ratio}x (target < {IDLE_RATIO_TARGET}x)",
            flush=True,
        )
        latency = unrelated_latency(args.size)
        print(
            f"unrelated accusé de réception sent {latency['ack_after_s']} s after its submission while a "
            f"{args.size}-candidate jury was issued (jury total {latency['jury_total_s']} s; target < "
            f"{LATENCY_TARGET_S} s)",
            flush=True,
        )
    finally:
        _env.cleanup()
    path = _env.write(
        "effects",
        {
            "idle_run": {"one_candidate": small, "big": big, "ratio": ratio, "target": IDLE_RATIO_TARGET},
            "unrelated_latency": {**latency, "target_s": LATENCY_TARGET_S},
        },
    )
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
