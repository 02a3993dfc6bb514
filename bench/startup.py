"""Start-up and orchestration benchmark of the embedded mode (``cqp run``).

    .venv/bin/python -m bench.startup [--launches 5] [--runs 30] [--before <commit>]

1. **Launch → first 200 on /health**: ``cqp run --no-demo`` on a set-up machine (the database
   migrated, the venv installed), time from the launch to the first 200 of ``/health``, and to the
   first answer of the local Prefect server; each launch stopped with SIGTERM. With ``--before``,
   the same for the ``cqp run`` of that commit (its sources extracted with ``git archive``, run by
   the same venv), in the same run.
2. **Prefect overhead per flow run**: a no-op ``agrement_request_flow`` (see ``bench.flows``)
   against a local Prefect server (``api.prefect_server``, as ``cqp run`` starts it) and against
   the ephemeral one, minus ``advance_request`` + an outbox delivery without Prefect; median, p95.

Results: ``bench/results/startup.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import _env
from bench.flows import timings
from tests.probes import answers

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    from tests.smtp import free_port

    return free_port()


def launch(source: Path, data: Path, timeout: float = 300) -> dict:
    api_port, prefect_port = _free_port(), _free_port()
    env = {
        **os.environ,
        "CQP_DATA_DIR": str(data),
        "PYTHONPATH": str(source),
        "PYTHONUNBUFFERED": "1",
        "CQP_CPF_EXPORT_INTERVAL_SECONDS": "0",
    }
    for name in ("CQP_DATABASE_URL", "PREFECT_API_URL", "PREFECT_UI_URL", "PREFECT_HOME", "CQP_FLOW_DISPATCH"):
        env.pop(name, None)
    args = [sys.executable, "-m", "api.cli", "run", "--no-demo", "--port", str(api_port)]
    if (source / "api" / "prefect_server.py").exists():
        args += ["--prefect-port", str(prefect_port)]
    start = time.perf_counter()
    proc = subprocess.Popen(args, cwd=source, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out = {"health_s": None, "prefect_s": None}
    try:
        while time.perf_counter() - start < timeout and proc.poll() is None:
            if out["health_s"] is None and answers(f"http://127.0.0.1:{api_port}/health", timeout=1):
                out["health_s"] = round(time.perf_counter() - start, 2)
            if out["prefect_s"] is None and answers(f"http://127.0.0.1:{prefect_port}/api/health", timeout=1):
                out["prefect_s"] = round(time.perf_counter() - start, 2)
            if out["health_s"] is not None and (out["prefect_s"] is not None or "--prefect-port" not in args):
                break
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return out


def launches(source: Path, count: int) -> list[dict]:
    data = Path(tempfile.mkdtemp(prefix="cqp-bench-startup-"))
    env = {**os.environ, "CQP_DATA_DIR": str(data), "PYTHONPATH": str(source)}
    env.pop("CQP_DATABASE_URL", None)
    subprocess.run(
        [sys.executable, "-m", "api.cli", "migrate"], cwd=source, env=env, check=True, stdout=subprocess.DEVNULL
    )  # a set-up machine: the schema exists
    results = []
    for _ in range(count):
        results.append(launch(source, data))
        print("launch:", results[-1])
    return results


def summary(values: list[float | None]) -> dict:
    seen = [v for v in values if v is not None]
    if not seen:
        return {}
    return {
        "median_s": round(sorted(seen)[len(seen) // 2], 2),
        "min_s": min(seen),
        "max_s": max(seen),
        "values": values,
    }


def overhead(runs: int, local: bool) -> dict:
    _env.prepare("startup-flows")
    from certification.db import get_engine
    from certification.settings import get_settings
    from flows.agrement import advance_request, agrement_request_flow
    from notifications.outbox import deliver_pending
    from notifications.transport import build_transport
    from tests.factories import make_users, submit_request

    server = None
    if local:
        from api.prefect_server import LocalPrefectServer

        server = LocalPrefectServer(get_settings().data_dir, port=_free_port())
        server.start()
        assert server.wait(300), "the local Prefect server did not start"
    try:
        people = make_users()
        rid = submit_request(people["mandataire"]["actor"], 1)
        advance_request(rid)
        asyncio.run(deliver_pending(get_engine(), build_transport(get_settings())))
        bare = []
        for _ in range(runs):
            t = time.perf_counter()
            advance_request(rid)
            asyncio.run(deliver_pending(get_engine(), build_transport(get_settings())))
            bare.append(time.perf_counter() - t)

        async def flow_runs() -> list[float]:
            await agrement_request_flow(rid)  # warm-up (the ephemeral server starts here)
            out = []
            for _ in range(runs):
                t = time.perf_counter()
                await agrement_request_flow(rid)
                out.append(time.perf_counter() - t)
            return out

        flows = asyncio.run(flow_runs())
    finally:
        if server is not None:
            server.stop()
            os.environ.pop("PREFECT_API_URL", None)
            os.environ.pop("PREFECT_UI_URL", None)
        _env.cleanup()
    overheads = sorted(1000 * (f - statistics_median(bare)) for f in flows)
    return {
        "flow_run": timings(flows),
        "advance_and_delivery": timings(bare),
        "overhead_median_ms": round(overheads[len(overheads) // 2], 1),
        "overhead_p95_ms": round(_env.percentile(overheads, 0.95), 1),
    }


def statistics_median(values: list[float]) -> float:
    import statistics

    return statistics.median(values)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--launches", type=int, default=5)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--before", help="a commit whose `cqp run` is measured too (git archive)")
    parser.add_argument("--launch-only", action="store_true", help="skip the flow overhead part")
    parser.add_argument("--name", default="startup", help="name of the results file")
    args = parser.parse_args(argv)

    result: dict = {"launches": args.launches, "runs": args.runs, "load_average": os.getloadavg()}
    result["after"] = summary_of(launches(ROOT, args.launches))
    if args.before:
        before = Path(tempfile.mkdtemp(prefix="cqp-bench-before-"))
        archive = subprocess.run(["git", "archive", args.before], cwd=ROOT, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(before)], input=archive, check=True)
        result["before"] = {"commit": args.before, **summary_of(launches(before, args.launches))}
    if not args.launch_only:
        result["flow_overhead_local_server"] = overhead(args.runs, local=True)
        result["flow_overhead_ephemeral_server"] = overhead(args.runs, local=False)
    for key in ("after", "before"):
        if key in result:
            print(f"{key:7} /health after {result[key]['health']}  Prefect after {result[key].get('prefect')}")
    for key in ("flow_overhead_local_server", "flow_overhead_ephemeral_server"):
        if key not in result:
            continue
        r = result[key]
        print(
            f"{key:32} flow median {r['flow_run']['median_ms']} ms p95 {r['flow_run']['p95_ms']} ms; overhead "
            f"median {r['overhead_median_ms']} ms p95 {r['overhead_p95_ms']} ms"
        )
    print(f"results: {_env.write(args.name, result)}")
    return 0


def summary_of(runs: list[dict]) -> dict:
    return {"health": summary([r["health_s"] for r in runs]), "prefect": summary([r["prefect_s"] for r in runs])}


if __name__ == "__main__":
    raise SystemExit(main())
