"""A throwaway environment for a benchmark: data directory, SQLite database (migrated), settings.

Call :func:`prepare` before anything reads the settings; call it again for a fresh environment."""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
_dirs: list[Path] = []


def prepare(name: str, **env: str) -> Path:
    """A fresh data directory and migrated SQLite database; returns the data directory."""
    root = Path(tempfile.mkdtemp(prefix=f"cqp-bench-{name}-"))
    _dirs.append(root)
    data = root / "data"
    data.mkdir()
    os.environ.update(
        {
            "CQP_DATA_DIR": str(data),
            "CQP_DATABASE_URL": f"sqlite:///{root / 'cqp.db'}",
            "CQP_MAIL_TRANSPORT": "outbox",
            "CQP_FLOW_DISPATCH": "none",
            "PREFECT_HOME": str(root / "prefect"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
            "PREFECT_LOGGING_LEVEL": "WARNING",
            "DO_NOT_TRACK": "1",
            **env,
        }
    )
    from certification.db import dispose_engines
    from certification.migrate import upgrade
    from certification.settings import get_settings, reset_settings_cache

    dispose_engines()
    reset_settings_cache()
    import documents.models  # noqa: F401 - tables of the outbox and documents
    import notifications.models  # noqa: F401

    upgrade(get_settings().sqlalchemy_url)
    return data


def cleanup() -> None:
    from certification.db import dispose_engines

    dispose_engines()
    for d in _dirs:
        shutil.rmtree(d, ignore_errors=True)
    _dirs.clear()


def machine() -> dict:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def write(name: str, payload: dict) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(
        json.dumps({"machine": machine(), **payload}, indent=2, ensure_ascii=False, default=str) + "\n",
        encoding="utf-8",
    )
    return path


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)
