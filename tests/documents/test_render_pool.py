"""The render pool: started ahead by ``warm`` (as a long-running worker keeps it), then reused."""

from __future__ import annotations

import pytest

from certification.settings import get_settings, reset_settings_cache
from documents import pool
from documents.samples import sample_context


@pytest.fixture
def two_renderers(monkeypatch):
    monkeypatch.setenv("CQP_RENDER_PROCESSES", "2")
    reset_settings_cache()
    assert get_settings().render_processes == 2
    pool.shutdown()
    yield
    pool.shutdown()
    monkeypatch.delenv("CQP_RENDER_PROCESSES")
    reset_settings_cache()


def test_warm_starts_every_worker_and_the_next_batch_reuses_them(two_renderers):
    assert pool.warm() == 2
    started = pool._pool
    assert started is not None and len(started._processes) == 2
    work = [("agrement/accuse_reception", sample_context(), [])] * pool.POOL_THRESHOLD
    pdfs = [pdf for pdf, _ in pool.render_iter(work)]
    assert len(pdfs) == pool.POOL_THRESHOLD and all(p.startswith(b"%PDF") for p in pdfs)
    assert pool._pool is started  # the same workers rendered the batch


def _alive(pid: int) -> bool:
    try:
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_workers_end_when_their_process_is_killed(tmp_path):
    """A flow's process killed outright (SIGKILL: no exit handler runs) does not leave its render
    workers behind: they notice their parent is gone and end."""
    import os
    import signal
    import subprocess
    import sys
    import time

    script = (
        "import sys, time\n"
        "from documents import pool\n"
        "pool.warm()\n"
        "print(' '.join(str(p) for p in pool._pool._processes), flush=True)\n"
        "time.sleep(600)\n"
    )
    env = {**os.environ, "CQP_RENDER_PROCESSES": "2", "CQP_DATA_DIR": str(tmp_path)}
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env)
    try:
        workers = [int(p) for p in child.stdout.readline().split()]
        assert len(workers) == 2 and all(_alive(p) for p in workers)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        deadline = time.monotonic() + 10 * pool.PARENT_CHECK_S + 5
        while any(_alive(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(_alive(p) for p in workers)
    finally:
        child.kill()
        child.wait()
