"""Prefect flows driving each process instance from the database state."""

import os as _os

# Embedded defaults, set before Prefect is imported (explicit environment values win).
_os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
_os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
_os.environ.setdefault("PREFECT_HOME", _os.path.abspath(_os.path.join("var", "prefect")))
_os.environ.setdefault("DO_NOT_TRACK", "1")
