"""A scale-out deployment on this machine, each part its own OS process, as in README "Scaling out".

- the case database: the test database (PostgreSQL when the suite runs on PostgreSQL);
- a Prefect server (``prefect server start``) with its own database: a separate PostgreSQL
  database on the same cluster (``postgresql+asyncpg``) when the suite runs on PostgreSQL,
  SQLite in its own ``PREFECT_HOME`` otherwise;
- workers (``cqp serve-flows``), each with its own working directory and ``PREFECT_HOME`` as on
  another machine, sharing the case database and ``CQP_DATA_DIR``;
- the API (``cqp run --no-demo``) with ``CQP_FLOW_DISPATCH=deployment``.

Every process is started in its own session and its whole process group is stopped at teardown,
even when the test fails; their output is kept in log files, printed when a wait times out.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from certification.settings import get_settings, reset_settings_cache
from tests.smtp import SmtpServer, free_port

BIN = Path(sys.executable).parent
START_TIMEOUT = 180  # a Prefect server starts in 7-25 s here; slower when the machine is busy


class Process:
    """One OS process of the deployment, in its own process group, output to ``log``."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], cwd: Path, log: Path) -> None:
        self.name, self.log = name, log
        cwd.mkdir(parents=True, exist_ok=True)
        with log.open("wb") as out:
            self.popen = subprocess.Popen(
                argv,
                env=env,
                cwd=cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL to the whole group (the worker and the flow runs it started): no clean-up at all."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.popen.wait(timeout=30)

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, then SIGKILL to the group after ``timeout``; returns the exit code."""
        if self.alive():
            try:
                os.killpg(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        try:  # whatever it left behind in its group
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return self.popen.wait(timeout=30)


def wait_until(what: str, check: Callable[[], object], timeout: float, *processes: Process, interval: float = 0.25):
    """Poll ``check()`` until it returns something truthy; fail with the processes' logs otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in processes:
            if not p.alive():
                pytest.fail(f"{p.name} exited ({p.popen.returncode}) while waiting for {what}:\n{p.output()[-4000:]}")
        try:
            result = check()
        except (httpx.HTTPError, OSError):
            result = None
        if result:
            return result
        time.sleep(interval)
    logs = "\n".join(f"--- {p.name} ---\n{p.output()[-4000:]}" for p in processes)
    pytest.fail(f"timed out after {timeout} s waiting for {what}\n{logs}")


def _healthy(url: str) -> bool:
    return httpx.get(url, timeout=5).status_code == 200


class Cluster:
    """Starts the parts of the deployment; ``stop_all`` ends whatever is still running."""

    def __init__(self, root: Path, smtp_port: int, prefect_database_url: str | None) -> None:
        self.root = root
        self.processes: list[Process] = []
        self.prefect_port = free_port()
        self.api_port = free_port()
        self.prefect_api = f"http://127.0.0.1:{self.prefect_port}/api"
        self.api_url = f"http://127.0.0.1:{self.api_port}"
        self.prefect_database_url = prefect_database_url
        # The settings every machine shares (README: the same CQP_* everywhere).
        settings = get_settings()  # the test database and data directory (tests/conftest.py)
        self.cqp_env = {
            "CQP_DATABASE_URL": settings.sqlalchemy_url,
            "CQP_DATA_DIR": str(settings.data_dir.resolve()),
            "CQP_MAIL_TRANSPORT": "smtp",
            "CQP_SMTP_HOST": "127.0.0.1",
            "CQP_SMTP_PORT": str(smtp_port),
        }

    def env(self, home: str, **extra: str) -> dict[str, str]:
        """A clean environment: no CQP_/PREFECT_ setting of the test process leaks in."""
        base = {k: v for k, v in os.environ.items() if not k.startswith(("CQP_", "PREFECT_"))}
        return {
            **base,
            "PYTHONUNBUFFERED": "1",
            "DO_NOT_TRACK": "1",
            "PREFECT_HOME": str(self.root / home),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            **extra,
        }

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> Process:
        process = Process(name, argv, env, self.root / name, self.root / f"{name}.log")
        self.processes.append(process)
        return process

    def run(self, argv: list[str], env: dict[str, str]) -> str:
        done = subprocess.run(argv, env=env, cwd=self.root, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{argv} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    # -- the parts, with the commands of README "Scaling out" ----------------------------------

    def migrate(self) -> str:
        return self.run([str(BIN / "cqp"), "migrate"], self.env("migrate", **self.cqp_env))

    def create_user(self, email: str, name: str, role: str, password: str) -> str:
        return self.run(
            [str(BIN / "cqp"), "create-user", "--email", email, "--name", name, "--role", role, "--password", password],
            self.env("migrate", **self.cqp_env),
        )

    def prefect_server(self) -> Process:
        extra = {}
        if self.prefect_database_url:
            extra["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = self.prefect_database_url
        server = self.start(
            "prefect-server",
            [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(self.prefect_port)],
            self.env("prefect-server", **extra),
        )
        wait_until("the Prefect server", lambda: _healthy(f"{self.prefect_api}/health"), START_TIMEOUT, server)
        return server

    def worker(self, name: str, **settings: str) -> Process:
        """``cqp serve-flows``; ``settings``: further CQP_* variables of this worker."""
        env = self.env(
            name,
            **self.cqp_env,
            PREFECT_API_URL=self.prefect_api,
            PREFECT_RUNNER_POLL_FREQUENCY="1",
            PREFECT_LOGGING_LEVEL="INFO",
            **settings,
        )
        return self.start(name, [str(BIN / "cqp"), "serve-flows"], env)

    def api(self) -> Process:
        env = self.env("api", **self.cqp_env, PREFECT_API_URL=self.prefect_api, CQP_FLOW_DISPATCH="deployment")
        api = self.start(
            "api", [str(BIN / "cqp"), "run", "--no-demo", "--host", "127.0.0.1", "--port", str(self.api_port)], env
        )
        wait_until("the API", lambda: _healthy(f"{self.api_url}/health"), START_TIMEOUT, api)
        return api

    def stop_all(self) -> None:
        for process in reversed(self.processes):
            process.stop(timeout=15)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def prefect_database() -> Iterator[str | None]:
    """A database of its own for the Prefect server on the test cluster (PostgreSQL), else None."""
    url = make_url(get_settings().sqlalchemy_url)
    if not url.drivername.startswith("postgresql"):
        yield None
        return
    import psycopg

    name = f"prefect_scaleout_{uuid.uuid4().hex[:8]}"
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def cluster(tmp_path, smtp, prefect_database) -> Iterator[Cluster]:
    reset_settings_cache()
    cluster = Cluster(tmp_path, smtp.port, prefect_database)
    try:
        yield cluster
    finally:
        cluster.stop_all()
