"""``GET /metrics``: Prometheus text exposition of what csms counts.

Nothing is counted here: the station endpoint, the storage and the message log keep plain
counters (:mod:`csms.domain.metrics`, one dict update per message) and this collector reads them
when Prometheus scrapes, into a registry of the app's own (never the client library's global one).
The route sits behind the API's bearer token like every other (Prometheus sends one with
``authorization: {credentials_file: ...}``); it is never public.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Final

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from csms.api.deps import attach, attached
from csms.domain.metrics import Histogram, ServerStats

__all__ = ["MetricsSources", "attach_metrics", "metrics_router"]

_STATE_KEY = "csms_metrics"
CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(frozen=True, slots=True)
class MetricsSources:
    """Where the numbers come from; each is read at scrape time (None: not running here)."""

    stats: ServerStats | None = None
    # OCPP version → live station connections.
    connections: Callable[[], Mapping[str, int]] | None = None
    commit_latency: Histogram | None = None
    committer_pending: Callable[[], int] | None = None
    # size, checkedout, overflow of the database connection pool.
    pool: Callable[[], Mapping[str, int]] | None = None
    # queued, dropped, written, failed, pruned of the message log (None: the log is off).
    message_log: Callable[[], Mapping[str, int]] | None = None
    # Handshake admission (server/saturation.py): in_handshake, reading, accept_paused (0/1) now;
    # pauses, deadline_closures, shed since start (None: no station endpoint here).
    admission: Callable[[], Mapping[str, int]] | None = None


def _histogram(family: HistogramMetricFamily, labels: list[str], h: Histogram) -> None:
    family.add_metric(labels, h.cumulative(), h.sum)


class CsmsCollector(Collector):
    """Turns :class:`MetricsSources` into Prometheus families."""

    def __init__(self, sources: MetricsSources) -> None:
        self._sources = sources

    def collect(self) -> Iterator[Metric]:
        s = self._sources
        if s.connections is not None:
            connections = GaugeMetricFamily(
                "csms_station_connections", "Live station connections", labels=["ocpp_version"]
            )
            for version, count in sorted(s.connections().items()):
                connections.add_metric([version], count)
            yield connections
        if s.stats is not None:
            yield from self._server(s.stats)
        if s.commit_latency is not None:
            commits = HistogramMetricFamily(
                "csms_group_commit_seconds", "Seconds per group-commit transaction", labels=[]
            )
            _histogram(commits, [], s.commit_latency)
            yield commits
        if s.committer_pending is not None:
            yield GaugeMetricFamily(
                "csms_committer_queue_depth",
                "Writes queued or being committed by the group committer",
                value=s.committer_pending(),
            )
        if s.pool is not None:
            pool = GaugeMetricFamily(
                "csms_db_pool_connections", "Database connection pool", labels=["state"]
            )
            for state, count in sorted(s.pool().items()):
                pool.add_metric([state], count)
            yield pool
        if s.message_log is not None:
            log = s.message_log()
            yield GaugeMetricFamily(
                "csms_message_log_queue_depth",
                "Frames waiting to be written to the message log",
                value=log.get("queued", 0),
            )
            for name, help_text in (
                ("dropped", "Frames not logged because the message log queue was full"),
                ("written", "Message log rows written (one per CALL and its answer)"),
                ("failed", "Message log rows (or frames not yet paired) lost to a failed write"),
                ("pruned", "Message log rows deleted by the retention"),
            ):
                yield CounterMetricFamily(
                    f"csms_message_log_{name}", help_text, value=log.get(name, 0)
                )

        if s.admission is not None:
            yield from self._admission(s.admission())

    @staticmethod
    def _admission(now: Mapping[str, int]) -> Iterator[Metric]:
        for name, help_text in (
            ("in_handshake", "Station connections accepted and not yet upgraded"),
            ("reading", "Handshakes waiting in the station read (database pool included)"),
            ("accept_paused", "1 while accept() waits (new connections stay in the backlog)"),
        ):
            yield GaugeMetricFamily(f"csms_handshakes_{name}", help_text, value=now.get(name, 0))
        for name, help_text in (
            ("accept_pauses", "Times accept() paused because the process was saturated"),
            ("deadline_closures", "Handshakes closed by the server's handshake deadline"),
            ("shed", "Handshakes answered 503 with Retry-After while saturated"),
        ):
            yield CounterMetricFamily(f"csms_handshake_{name}", help_text, value=now.get(name, 0))

    @staticmethod
    def _server(stats: ServerStats) -> Iterator[Metric]:
        messages = CounterMetricFamily(
            "csms_ocpp_messages",
            "OCPP CALLs by direction (in: from stations) and outcome (result, error, timeout, "
            "aborted)",
            labels=["ocpp_version", "action", "direction", "outcome"],
        )
        for key, count in sorted(stats.messages.items()):
            messages.add_metric(list(key), count)
        yield messages
        handlers = HistogramMetricFamily(
            "csms_handler_seconds",
            "Seconds from a station's CALL to its answer (commit included)",
            labels=["action"],
        )
        for action, histogram in sorted(stats.handler_latency.items()):
            _histogram(handlers, [action], histogram)
        yield handlers
        commands = CounterMetricFamily(
            "csms_commands",
            "CSMS-initiated commands by outcome (the status answered, CallError, Timeout, ...)",
            labels=["action", "outcome"],
        )
        for (action, outcome), count in sorted(stats.commands.items()):
            commands.add_metric([action, outcome], count)
        yield commands


def attach_metrics(app: FastAPI, sources: MetricsSources) -> None:
    """Give the app its own registry with the csms collector."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(CsmsCollector(sources))
    attach(app, _STATE_KEY, registry)


async def metrics(request: Request) -> Response:
    """The Prometheus text format (version 0.0.4)."""
    registry: CollectorRegistry = attached(request, _STATE_KEY)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE)


def metrics_router() -> APIRouter:
    """The ``/metrics`` route (a new router per app)."""
    router = APIRouter(tags=["health"])
    router.add_api_route(
        "/metrics",
        metrics,
        methods=["GET"],
        operation_id="metrics",
        summary="Prometheus metrics",
        response_class=Response,
        # Outside /api/v1 but behind the same credential: any role may scrape.
        openapi_extra={"x-required-role": "viewer"},
        responses={
            200: {
                "description": "Prometheus text format",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            }
        },
    )
    return router
