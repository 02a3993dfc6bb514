"""API benchmark: latency (p50/p95/p99) and throughput at 50 concurrent clients of dossier reads
(``GET /agrement-requests/{id}``) and submissions (``POST /agrement-requests``, multipart with two
PDF pieces), against a bare baseline (``GET /health``) measured in the same run.

    .venv/bin/python -m bench.api [--clients 50] [--requests 3000] [--submissions 1000] [--seconds 60]

The API runs in uvicorn (one process, as ``cqp run`` serves it) on 127.0.0.1 in a subprocess, on
a throwaway SQLite database, flows not triggered (``CQP_FLOW_DISPATCH=none``: the API's own cost);
the clients are ``httpx.AsyncClient`` coroutines in this process. Each scenario stops after its
request count or its time limit. Results: ``bench/results/api.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench import _env

ROOT = Path(__file__).resolve().parents[1]


def seed(reads: int) -> dict:
    from tests.factories import make_users, submit_request

    people = make_users()
    ids = [submit_request(people["mandataire"]["actor"], n) for n in range(1, reads + 1)]
    return {"token": people["mandataire"]["token"], "ids": ids, "next_siret": reads + 1}


def start_server(port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "api.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env=os.environ.copy(),
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("uvicorn did not start")


async def scenario(name: str, base: str, make_request, *, clients: int, total: int, seconds: float) -> dict:
    """``clients`` coroutines send ``make_request(i)`` until ``total`` requests or ``seconds``."""
    latencies: list[float] = []
    errors: dict[str, int] = {}
    counter = itertools.count()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120) as client:
        # warm-up: open the connections and the server's caches
        await asyncio.gather(*(client.get("/health") for _ in range(clients)))
        started = time.perf_counter()
        stop_at = started + seconds

        async def worker() -> None:
            while time.perf_counter() < stop_at:
                i = next(counter)
                if i >= total:
                    return
                method, url, kwargs, expected = make_request(i)
                t = time.perf_counter()
                try:
                    r = await client.request(method, url, **kwargs)
                    status = r.status_code
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                latencies.append(time.perf_counter() - t)
                if status != expected:
                    errors[str(status)] = errors.get(str(status), 0) + 1

        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    done = len(latencies)
    ms = [1000 * x for x in latencies]
    result = {
        "requests": done,
        "errors": errors,
        "duration_s": round(elapsed, 2),
        "throughput_rps": round(done / elapsed, 1),
        "p50_ms": round(_env.percentile(ms, 0.50), 1),
        "p95_ms": round(_env.percentile(ms, 0.95), 1),
        "p99_ms": round(_env.percentile(ms, 0.99), 1),
        "max_ms": round(max(ms), 1) if ms else None,
    }
    print(
        f"{name:8} {done:5} req in {elapsed:5.1f} s  {result['throughput_rps']:7.1f} req/s  "
        f"p50 {result['p50_ms']:7.1f} ms  p95 {result['p95_ms']:7.1f} ms  p99 {result['p99_ms']:7.1f} ms"
        f"  errors {errors or 0}",
        flush=True,
    )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=3000, help="per read scenario (health, read)")
    parser.add_argument("--submissions", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60, help="time limit of each scenario")
    parser.add_argument("--dossiers", type=int, default=200, help="dossiers seeded for the reads")
    args = parser.parse_args(argv)

    _env.prepare("api")
    from tests.factories import siret
    from weasyprint import HTML

    world = seed(args.dossiers)
    pdf = HTML(string="<h1>Dossier de demande d'agrément</h1><p>Pièce jointe.</p>").write_pdf()
    headers = {"Authorization": f"Bearer {world['token']}"}
    port = _free_port()
    server = start_server(port)
    base = f"http://127.0.0.1:{port}"
    rng = random.Random(2026)
    try:

        def health(_i):
            return "GET", "/health", {}, 200

        def read(_i):
            return "GET", f"/agrement-requests/{rng.choice(world['ids'])}", {"headers": headers}, 200

        def submit(i):
            n = world["next_siret"] + i
            metadata = {
                "structure": {
                    "siret": siret(n),
                    "name": f"Chantier d'insertion n°{n}",
                    "region": "Bretagne",
                    "email": f"aci{n}@example.org",
                },
                "certification_code": "CQP_SP",
                "motivation": "Qualifier nos salariés polyvalents.",
            }
            files = [
                ("dossier", ("dossier.pdf", pdf, "application/pdf")),
                ("attestation_epsp", ("attestation EPSP.pdf", pdf + f"\n%{n}".encode(), "application/pdf")),
            ]
            return (
                "POST",
                "/agrement-requests",
                {
                    "headers": {**headers, "Idempotency-Key": f"bench-{n}"},
                    "data": {"metadata": json.dumps(metadata)},
                    "files": files,
                },
                201,
            )

        kw = {"clients": args.clients, "seconds": args.seconds}
        results = {
            "health": asyncio.run(scenario("health", base, health, total=args.requests, **kw)),
            "read": asyncio.run(scenario("read", base, read, total=args.requests, **kw)),
            "submit": asyncio.run(scenario("submit", base, submit, total=args.submissions, **kw)),
        }
    finally:
        server.terminate()
        server.wait(timeout=30)

    from sqlmodel import func, select

    from certification.db import session_scope
    from certification.agrement.models import AgrementRequest

    with session_scope() as db:
        stored = db.exec(select(func.count()).select_from(AgrementRequest)).one()
    submitted = results["submit"]["requests"] - sum(results["submit"]["errors"].values())
    assert stored == args.dossiers + submitted, (stored, args.dossiers, submitted)
    h = results["health"]
    ratios = {
        f"{name}_p95_vs_health": round(results[name]["p95_ms"] / h["p95_ms"], 2) for name in ("read", "submit")
    } | {
        f"health_throughput_vs_{name}": round(h["throughput_rps"] / results[name]["throughput_rps"], 2)
        for name in ("read", "submit")
    }
    print("ratios:", ", ".join(f"{k} {v}x" for k, v in ratios.items()))
    path = _env.write(
        "api",
        {
            "clients": args.clients,
            "server": "uvicorn, 1 process, SQLite, flows not triggered",
            "scenarios": results,
            "ratios": ratios,
        },
    )
    _env.cleanup()
    print(f"results: {path}")
    return 0


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


if __name__ == "__main__":
    raise SystemExit(main())
