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
