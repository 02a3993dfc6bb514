"""Probes of a local server started by a test or a benchmark (``cqp run``, its Prefect server)."""

from __future__ import annotations

import urllib.request


def answers(url: str, timeout: float = 2) -> bool:
    """Whether ``url`` answers 200 within ``timeout`` seconds (a refused connection is a no)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status == 200
    except OSError:
        return False
