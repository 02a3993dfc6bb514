"""The local Prefect server of the embedded mode (``cqp run``): a real server with its UI, on SQLite
in the data folder, started as a subprocess so that the API does not wait for it.

``PREFECT_API_URL`` and ``PREFECT_UI_URL`` of this process point at it (the flows report their runs
to it; the dossier pages link to its UI). Its output goes to ``<data_dir>/prefect/server.log``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from certification.settings import reset_settings_cache


class LocalPrefectServer:
    def __init__(self, data_dir: Path, *, host: str = "127.0.0.1", port: int = 4200):
        self.home = Path(data_dir).resolve() / "prefect"
        self.host, self.port = host, port
        self.process: subprocess.Popen | None = None

    @property
    def ui_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.ui_url}/api"

    def _command(self) -> list[str]:
        script = Path(sys.executable).with_name("prefect")
        prefect = str(script) if script.exists() else shutil.which("prefect") or "prefect"
        return [prefect, "server", "start", "--host", self.host, "--port", str(self.port), "--analytics-off"]

    def configure(self) -> None:
        """Point this process's Prefect client, and the back-office's links, at the server."""
        os.environ["PREFECT_API_URL"] = self.api_url
        os.environ["PREFECT_UI_URL"] = self.ui_url
        reset_settings_cache()  # the settings read them

    def start(self) -> None:
        """Start the server (returns at once) and point this process's Prefect client at it."""
        if self.process is not None:
            return
        self.home.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "PREFECT_HOME": str(self.home),
            "PREFECT_SERVER_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{self.home / 'prefect.db'}",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_UI_ENABLED": "true",
            "PREFECT_UI_API_URL": self.api_url,
            "DO_NOT_TRACK": "1",
        }
        env.pop("PREFECT_API_URL", None)
        log = open(self.home / "server.log", "ab")  # noqa: SIM115 - kept open for the subprocess's life
        self.process = subprocess.Popen(
            self._command(),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.configure()

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.api_url}/health", timeout=2) as answer:
                return answer.status == 200
        except OSError:
            return False

    def wait(self, timeout: float = 180.0) -> bool:
        """Block until the server answers (False if it ended or did not answer in time)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.healthy():
                return True
            if self.process is not None and self.process.poll() is not None:
                return False
            time.sleep(0.2)
        return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
