"""Flow benchmark: the cost of one flow run through a real Prefect (ephemeral, local) server, against
calling the same step directly, in the same run.

    .venv/bin/python -m bench.flows [--runs 50]

The dossier is an agrément request waiting for the officer: its run has nothing to do (no-op:
the accusé de réception exists, no transition is due, the outbox is empty), so what is measured is
the orchestration itself. Compared: ``agrement_request_flow(id)`` (flow run + 2 task runs, states
reported to the Prefect API), ``advance_request(id)`` alone, and ``advance_request`` + an outbox
delivery (what the flow does, without Prefect). The first flow run (server start) is timed apart.
Results: ``bench/results/flows.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from bench import _env


def timings(values: list[float]) -> dict:
    ms = [1000 * v for v in values]
    return {
        "runs": len(ms),
        "mean_ms": round(statistics.mean(ms), 2),
        "median_ms": round(statistics.median(ms), 2),
        "p95_ms": round(_env.percentile(ms, 0.95), 2),
        "min_ms": round(min(ms), 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args(argv)

    _env.prepare("flows")
    from certification.db import get_engine
    from certification.settings import get_settings
    from flows.agrement import advance_request, agrement_request_flow
    from notifications.outbox import deliver_pending
    from notifications.transport import build_transport
    from tests.factories import make_users, submit_request

    people = make_users()
    rid = submit_request(people["mandataire"]["actor"], 1)
    first = advance_request(rid)  # the accusé de réception and its e-mail: from now on, runs are no-ops
    assert first.documents and first.waiting_for, first
    asyncio.run(deliver_pending(get_engine(), build_transport(get_settings())))

    direct, direct_deliver = [], []
    for _ in range(args.runs):
        t = time.perf_counter()
        out = advance_request(rid)
        direct.append(time.perf_counter() - t)
        assert not (out.documents or out.mails or out.transitions)
    for _ in range(args.runs):
        t = time.perf_counter()
        advance_request(rid)
        asyncio.run(deliver_pending(get_engine(), build_transport(get_settings())))
        direct_deliver.append(time.perf_counter() - t)

    async def flow_runs() -> tuple[float, list[float]]:
        t = time.perf_counter()
        result = await agrement_request_flow(rid)  # starts the ephemeral Prefect server
        startup = time.perf_counter() - t
        assert result["documents"] == [] and result["mails"] == [], result
        runs = []
        for _ in range(args.runs):
            t = time.perf_counter()
            await agrement_request_flow(rid)
            runs.append(time.perf_counter() - t)
        return startup, runs

    startup, prefect = asyncio.run(flow_runs())
    print("flow runs (ms):", " ".join(f"{1000 * v:.0f}" for v in prefect))
    result = {
        "runs": args.runs,
        "prefect": "ephemeral local server (SQLite), started by the first run",
        "first_flow_run_s": round(startup, 2),
        "flow_run": timings(prefect),
        "advance_request": timings(direct),
        "advance_request_and_delivery": timings(direct_deliver),
    }
    result["ratio_flow_vs_advance"] = round(result["flow_run"]["median_ms"] / result["advance_request"]["median_ms"], 1)
    result["ratio_flow_vs_advance_and_delivery"] = round(
        result["flow_run"]["median_ms"] / result["advance_request_and_delivery"]["median_ms"], 1
    )
    result["prefect_overhead_per_run_ms"] = round(
        result["flow_run"]["median_ms"] - result["advance_request_and_delivery"]["median_ms"], 1
    )
    print(f"first flow run (server start): {startup:.1f} s")
    for key in ("flow_run", "advance_request", "advance_request_and_delivery"):
        t = result[key]
        print(f"{key:30} median {t['median_ms']:8.1f} ms  p95 {t['p95_ms']:8.1f} ms  mean {t['mean_ms']:8.1f} ms")
    print(
        f"ratio flow / advance_request: {result['ratio_flow_vs_advance']}x; flow / advance + delivery: "
        f"{result['ratio_flow_vs_advance_and_delivery']}x; Prefect overhead ≈ {result['prefect_overhead_per_run_ms']} ms"
        " per run"
    )
    path = _env.write("flows", result)
    _env.cleanup()
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
