"""Rendering many documents on every core: a pool of worker processes (WeasyPrint is CPU-bound
and holds the GIL, so threads would not help).

``render_iter`` renders (kind, context, badge jobs) — template ``<kind>.html`` — and yields their
PDF bytes in order, sealed (PAdES) for the kinds that are (``documents.signing``), as
``documents.service.ensure_document`` would store them, with the baked badge images. Small
batches are rendered in this process (a worker's start costs more than a few pages); larger
ones go to a pool of ``settings.render_processes`` processes (default: the number of cores),
started once with the ``spawn`` method (safe beside the threads of Prefect and the API) and kept
for the next batch. The bytes are then stored by the caller, in its own transactions: workers
never touch the database nor the files.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from certification.settings import get_settings
from documents import render, signing

POOL_THRESHOLD = 8  # below this many documents, render here

_pool: ProcessPoolExecutor | None = None
_pool_size = 0
_lock = threading.Lock()


def _processes() -> int:
    configured = get_settings().render_processes
    return configured if configured > 0 else (os.cpu_count() or 1)


PARENT_CHECK_S = 1.0  # how often a worker looks whether the process that started it still lives


def _exit_with(parent: int) -> None:  # pragma: no cover - runs in the workers
    """End this worker once ``parent`` is gone. A parent killed outright (SIGKILL, out of memory)
    runs no exit handler, and its workers, waiting for work that never comes, would otherwise stay
    for ever, each holding its memory, one pool more at every restart of the flow's process."""
    import time

    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_S)
    os._exit(0)


def _warm_up(parent: int) -> None:  # pragma: no cover - runs in the workers
    threading.Thread(target=_exit_with, args=(parent,), name="parent-watch", daemon=True).start()
    import weasyprint  # noqa: F401  (the import is most of a worker's start)


def _pool_of(size: int) -> ProcessPoolExecutor:
    global _pool, _pool_size
    with _lock:
        if _pool is None or _pool_size != size:
            if _pool is not None:
                _pool.shutdown(wait=False, cancel_futures=True)
            _pool = ProcessPoolExecutor(
                size, mp_context=multiprocessing.get_context("spawn"), initializer=_warm_up, initargs=(os.getpid(),)
            )
            _pool_size = size
        return _pool


def _ready(_: int) -> bool:  # pragma: no cover - runs in the workers
    import time

    time.sleep(0.2)  # long enough for every worker to be started and busy once
    return True


def warm() -> int:
    """Start the pool's workers now (a long-running process keeps them for every batch); returns
    how many."""
    size = _processes()
    if size > 1:
        list(_pool_of(size).map(_ready, range(size)))
    return size


def shutdown() -> None:
    global _pool
    with _lock:
        if _pool is not None:
            _pool.shutdown(wait=True, cancel_futures=True)
            _pool = None


atexit.register(shutdown)


BadgeJob = tuple[str, str, str, str, str]  # (relative path, heading, title, certifier name, signed credential)


def render_iter(
    items: Sequence[tuple[str, Mapping[str, Any], Sequence[BadgeJob]]],
) -> Iterator[tuple[bytes, list[bytes]]]:
    """For each (template, context, badge jobs), the template named without ``.html`` and maybe in
    its process's folder (``jury/certificat``; the document kind is its last part): the sealed PDF and the baked badge images, yielded in
    order as soon as each is ready, so that the caller stores the first documents while the
    workers render the next ones. A certificate's QR code is drawn by the worker when its context
    carries only the verification URL."""
    work = [(kind, dict(context), list(jobs)) for kind, context, jobs in items]
    size = min(_processes(), len(work))
    if size <= 1 or len(work) < POOL_THRESHOLD:
        return (_render_bundle(item) for item in work)
    pool = _pool_of(_processes())
    return pool.map(_render_bundle, work, chunksize=max(1, len(work) // (size * 16)))


def _render_bundle(item: tuple[str, Mapping[str, Any], Sequence[BadgeJob]]) -> tuple[bytes, list[bytes]]:
    from documents import badge

    kind, context, jobs = item
    certificate = context.get("certificate")
    if isinstance(certificate, Mapping) and certificate.get("verification_url") and not certificate.get("qr_svg"):
        from documents.qr import qr_svg

        context = {**context, "certificate": {**certificate, "qr_svg": qr_svg(certificate["verification_url"])}}
    pdf = _render((kind, context))
    return pdf, [
        badge.bake(badge.draw(heading, title, certifier), token) for _, heading, title, certifier, token in jobs
    ]


def _render(item: tuple[str, Mapping[str, Any]]) -> bytes:
    """``item``: (template name without ``.html``, context); a process's folder in the name
    (``jury/pv_jury``) is not part of the document kind (``pv_jury``), which decides the seal."""
    template, context = item
    kind = template.rsplit("/", 1)[-1]
    pdf = render.render_pdf(f"{template}.html", context)
    if signing.should_seal(kind):
        pdf = signing.seal_pdf(pdf, kind=kind, context=context)
    return pdf
