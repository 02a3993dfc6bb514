"""Tables of flow monitoring: one :class:`FlowRunRecord` per run of a dossier's flow or of the sweep.

Written by the flows themselves (``flows.monitoring.monitored``), whatever the dispatch mode, and
read by the operations page, the alerts and the metrics. Imported at the bottom of
:mod:`certification.models`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text
from sqlmodel import Field

from certification.clock import now
from certification.types import Row, UTCDateTime

__all__ = ["FlowRunRecord", "RUN_COMPLETED", "RUN_CRASHED", "RUN_FAILED", "RUN_RUNNING"]

RUN_RUNNING = "running"
RUN_COMPLETED = "completed"
RUN_FAILED = "failed"
RUN_CRASHED = "crashed"  # its process died while it ran (found by the sweep or at start-up)


class FlowRunRecord(Row, table=True):
    """One run: ``process`` is the dispatch kind (``jury``, ``agrement_request``…) or ``sweep``.

    ``failures_in_a_row`` counts this run and the failed or crashed runs of the same dossier just
    before it (0 when it completed); ``incident_id`` is the id of the first failed run of that
    streak, so that one streak is one incident (one alert). ``runner`` is the claimer identity of
    the process running it (``notifications.claimer``).
    """

    __tablename__ = "flow_run_records"
    __table_args__ = (
        Index("ix_flow_run_records_entity", "process", "entity_id", "id"),
        Index("ix_flow_run_records_state", "state"),
    )

    process: str = Field(max_length=40)
    entity_id: int | None = None
    prefect_run_id: str | None = Field(default=None, max_length=40)
    runner: str | None = Field(default=None, max_length=300)
    started_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    state: str = Field(default=RUN_RUNNING, max_length=20)
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    failures_in_a_row: int = 0
    incident_id: int | None = None
    result: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
