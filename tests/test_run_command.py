"""``cqp run``: the API answers first, a real local Prefect server (with its UI, on SQLite in the data
folder) starts in the background, the first sweep runs once it is ready; « prêt » is printed once
the API answers; no per-task Prefect lines without ``--verbose``; Ctrl-C/SIGTERM stops both."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.probes import answers
from tests.smtp import free_port

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[1]


def wait(what: str, check, proc: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        assert proc.poll() is None, f"cqp run ended while waiting for {what}"
        time.sleep(0.1)
    pytest.fail(f"{what} never came")


def test_cqp_run_serves_the_api_then_prefect_and_its_first_sweep(tmp_path):
    import sqlite3

    api_port, prefect_port = free_port(), free_port()
    env = {
        **os.environ,
        "CQP_DATA_DIR": str(tmp_path),
        "CQP_FLOW_DISPATCH": "background",
        "CQP_SWEEP_INTERVAL_SECONDS": "3600",
        "CQP_CPF_EXPORT_INTERVAL_SECONDS": "0",
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("CQP_DATABASE_URL", "PREFECT_API_URL", "PREFECT_UI_URL", "PREFECT_LOGGING_LEVEL"):
        env.pop(name, None)
    out = open(tmp_path / "run.out", "w+")
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("cqp")),
            "run",
            "--no-demo",
            "--port",
            str(api_port),
            "--prefect-port",
            str(prefect_port),
        ],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    try:
        wait("the API", lambda: answers(f"http://127.0.0.1:{api_port}/health"), proc)
        wait("the Prefect server", lambda: answers(f"http://127.0.0.1:{prefect_port}/api/health"), proc)
        assert (tmp_path / "prefect" / "prefect.db").exists()  # on SQLite, in the data folder

        def swept() -> bool:
            with sqlite3.connect(tmp_path / "cqp.db") as db:
                return (
                    db.execute(
                        "SELECT count(*) FROM flow_run_records WHERE process = 'sweep' AND state = 'completed'"
                    ).fetchone()[0]
                    > 0
                )

        wait("the first sweep", swept, proc)

        with urllib.request.urlopen(f"http://127.0.0.1:{prefect_port}/", timeout=5) as ui:
            assert b"<html" in ui.read().lower()  # the UI is served
        # Stopped at once, while Prefect may still be finishing the sweep's run (its engine once
        # took SIGTERM over then, and the stop was a « Crash detected » with a traceback).
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    out.seek(0)
    text = out.read()
    assert code == 0, text
    assert "Crash detected" not in text and "Traceback" not in text, text
    assert f"Moteur de certification prêt : http://127.0.0.1:{api_port}/app/" in text
    assert f"Interface Prefect : http://127.0.0.1:{prefect_port}" in text
    assert "Finished in state" not in text
    assert not answers(f"http://127.0.0.1:{prefect_port}/api/health")  # stopped with the API
