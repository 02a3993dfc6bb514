"""Runs left « Running » on a real Prefect server by a dead process are marked Crashed and their
dossiers returned for a new run; a run whose process lives, and a recent run of another host, stay."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from certification.db import session_scope
from certification.models_monitoring import FlowRunRecord
from certification.settings import reset_settings_cache
from flows import monitoring
from flows.jury import jury_session_flow
from flows.prefect_runs import crash_abandoned_runs
from notifications.claimer import current_claimer

pytestmark = pytest.mark.integration


def dead_runner() -> str:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return f"{socket.gethostname()}|{proc.pid}|x"


async def running(client, session_id: int):
    from prefect.states import Running

    return await client.create_flow_run(
        jury_session_flow, parameters={"session_id": session_id}, tags=[f"jury:{session_id}"], state=Running()
    )


async def test_runs_of_dead_processes_are_crashed_on_the_server(prefect_server, monkeypatch):
    from prefect import get_client
    from prefect.client.schemas.objects import StateType

    async with get_client() as client:
        dead, alive, foreign = (await running(client, 1), await running(client, 2), await running(client, 3))
        with session_scope() as db:
            db.add(FlowRunRecord(process="jury", entity_id=1, prefect_run_id=str(dead.id), runner=dead_runner()))
            db.add(FlowRunRecord(process="jury", entity_id=2, prefect_run_id=str(alive.id), runner=current_claimer()))
            db.add(
                FlowRunRecord(
                    process="jury", entity_id=3, prefect_run_id=str(foreign.id), runner="worker-2.example|4242|x"
                )
            )  # another host: only its silence counts

        assert monitoring.prefect_server_configured()
        assert await crash_abandoned_runs() == [("jury", 1)]
        states = {
            n: (await client.read_flow_run(r.id)).state.type
            for n, r in (("dead", dead), ("alive", alive), ("foreign", foreign))
        }
        assert states == {"dead": StateType.CRASHED, "alive": StateType.RUNNING, "foreign": StateType.RUNNING}

        # The server has heard nothing of the foreign run for longer than the setting: crashed too.
        monkeypatch.setenv("CQP_FLOW_RUN_STALE_AFTER_SECONDS", "0")
        reset_settings_cache()
        assert await crash_abandoned_runs() == [("jury", 3)]
        assert (await client.read_flow_run(foreign.id)).state.type == StateType.CRASHED
        assert (await client.read_flow_run(alive.id)).state.type == StateType.RUNNING
