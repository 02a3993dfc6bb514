"""Prometheus metrics (``GET /metrics``, text exposition format of prometheus-client).

- ``cqp_http_request_duration_seconds{method, route, status}``: request latency (histogram); the
  route is the template (``/juries/{session_id}``), never the path with its ids;
- ``cqp_flow_runs{process, state}``: the recorded runs by process and final state
  (``flows.monitoring``); ``cqp_flow_incidents_open``: dossiers whose flow keeps failing;
- ``cqp_dossiers_waiting{process}``: dossiers waiting for an automatic step;
- ``cqp_outbox_messages{status}``: the outbox queue (pending, sending, failed, sent) and
  ``cqp_outbox_undeliverable``: messages still not sent after ``alert_mail_attempts`` attempts.

The database figures are read at scrape time. No label carries personal data (no e-mail, no
name, no id).
"""

from __future__ import annotations

import logging
import time
from collections import Counter

from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func
from sqlmodel import select

log = logging.getLogger(__name__)

registry = CollectorRegistry()
REQUEST_LATENCY = Histogram(
    "cqp_http_request_duration_seconds",
    "Durée de traitement des requêtes HTTP",
    ["method", "route", "status"],
    registry=registry,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


class DatabaseCollector:
    """Figures read from the database at each scrape (a failure leaves them out, logged)."""

    def collect(self):
        from certification.db import session_scope
        from certification.models_monitoring import FlowRunRecord
        from flows import monitoring
        from notifications.models import OutboxMessage

        try:
            with session_scope() as db:
                runs = db.exec(
                    select(FlowRunRecord.process, FlowRunRecord.state, func.count()).group_by(
                        FlowRunRecord.process, FlowRunRecord.state
                    )
                ).all()
                outbox = db.exec(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()
                undeliverable = len(monitoring.undeliverable(db))
                incidents = len(monitoring.open_flow_incidents(db))
                waiting = Counter(w.process for w in monitoring.waiting_dossiers(db))
        except Exception:  # noqa: BLE001 - a scrape never fails the API
            log.exception("metrics: the database could not be read")
            return
        family = GaugeMetricFamily(
            "cqp_flow_runs", "Exécutions enregistrées par processus et état final", labels=["process", "state"]
        )
        for process, state, count in runs:
            family.add_metric([process, state], count)
        yield family
        family = GaugeMetricFamily("cqp_outbox_messages", "Courriels de la file d'envoi par statut", labels=["status"])
        counts = dict(outbox)
        for status in ("pending", "sending", "failed", "sent"):
            family.add_metric([status], counts.get(status, 0))
        yield family
        yield GaugeMetricFamily(
            "cqp_outbox_undeliverable", "Courriels non distribués après le seuil d'alerte", value=undeliverable
        )
        yield GaugeMetricFamily(
            "cqp_flow_incidents_open", "Dossiers dont le traitement échoue de façon répétée", value=incidents
        )
        family = GaugeMetricFamily(
            "cqp_dossiers_waiting", "Dossiers en attente d'une étape automatique", labels=["process"]
        )
        for process in sorted(monitoring.PROCESS_LABELS):
            if process != monitoring.SWEEP:
                family.add_metric([process], waiting.get(process, 0))
        yield family


registry.register(DatabaseCollector())


def install(app: FastAPI) -> None:
    """The latency middleware and the ``/metrics`` route."""

    @app.middleware("http")
    async def measure(request: Request, call_next):
        start = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        template = getattr(route, "path", None) or "(inconnue)"
        REQUEST_LATENCY.labels(request.method, template, f"{response.status_code // 100}xx").observe(
            time.perf_counter() - start
        )
        return response

    @app.get("/metrics", tags=["supervision"], summary="Métriques Prometheus", response_class=Response)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
