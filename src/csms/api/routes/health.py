"""Liveness and readiness probes, outside ``/api/v1`` and never behind a credential, for load
balancers and monitoring.

Both report the station endpoint's load when the app is given it (issue 7 finding 3): connections
open (handshakes included), in handshake, the cap, and ``saturated`` while new station connections
are being refused. ``/readyz`` answers 503 then, so a balancer sends new stations elsewhere.

``/readyz`` also checks the database when given a :class:`DatabaseProbe` (issue 9): ``SELECT 1``
within a short timeout, its answer reused for about a second and concurrent probes sharing one
check, so probes can never load the database. ``/healthz`` stays liveness only: a database outage
must not get the process restarted.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from csms.api.deps import Context
from csms.api.schemas import Health
from csms.domain.load import ConnectionLoad
from csms.log import KindLog

logger = logging.getLogger(__name__)

LoadProbe = Callable[[], ConnectionLoad | None]


class DatabaseProbe:
    """Whether the database answers ``SELECT 1`` (``ping``) within ``timeout`` seconds; an answer
    is reused for ``cache`` seconds and concurrent callers share one check."""

    def __init__(
        self,
        ping: Callable[[], Awaitable[None]],
        *,
        timeout: float = 2.0,
        cache: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ping = ping
        self._timeout = timeout
        self._cache = cache
        self._clock = clock
        self._checked_at: float | None = None
        self._ok = False
        self._running: asyncio.Task[bool] | None = None
        self._log = KindLog(logger, burst=3)

    async def ok(self) -> bool:
        """True if the database answered (now or within the last ``cache`` seconds)."""
        if self._checked_at is not None and self._clock() - self._checked_at < self._cache:
            return self._ok
        if self._running is None:
            self._running = asyncio.create_task(self._check())
        task = self._running
        return await asyncio.shield(task)

    async def _check(self) -> bool:
        try:
            async with asyncio.timeout(self._timeout):
                await self._ping()
        except Exception as exc:
            self._log.warning("readiness: the database did not answer: %r", exc)
            self._ok = False
        else:
            self._ok = True
        self._checked_at = self._clock()
        self._running = None
        return self._ok


class Connections(BaseModel):
    """Station connections now."""

    open: int
    in_handshake: int
    max: int
    # Handshakes waiting in the station read; why accept() waits now (None: it accepts).
    reading: int = 0
    accepting_paused: str | None = None


class HealthReport(Health):
    """Liveness, and the station endpoint's load when known."""

    connections: Connections | None = None
    saturated: bool | None = None


class Readiness(BaseModel):
    """Whether csms takes new station connections now."""

    status: Literal["ready", "saturated", "database-unavailable"]
    connections: Connections | None = None
    database: Literal["ok", "unavailable"] | None = Field(
        default=None, description="SELECT 1 answered (absent when not checked here)"
    )


def _connections(now: ConnectionLoad) -> Connections:
    return Connections(
        open=now.open,
        in_handshake=now.in_handshake,
        max=now.max,
        reading=now.reading,
        accepting_paused=now.accepting_paused,
    )


def health_router(
    load: LoadProbe | None = None, database: DatabaseProbe | None = None
) -> APIRouter:
    """Build the probes (a new router per app: routers are mutable)."""
    router = APIRouter(tags=["health"])

    def current() -> ConnectionLoad | None:
        return None if load is None else load()

    async def healthz(context: Context) -> HealthReport:
        """Answer while the process serves HTTP; it does not probe the database or stations."""
        now = current()
        if now is None:
            return HealthReport(version=context.version)
        return HealthReport(
            version=context.version,
            connections=_connections(now),
            saturated=now.saturated,
        )

    async def readyz(response: Response) -> Readiness:
        """503 while new station connections are refused (at the cap, or out of descriptors) or
        the database does not answer."""
        now = current()
        connections = None if now is None else _connections(now)
        db: Literal["ok", "unavailable"] | None = None
        if database is not None:
            db = "ok" if await database.ok() else "unavailable"
        status: Literal["ready", "saturated", "database-unavailable"] = "ready"
        if db == "unavailable":
            status = "database-unavailable"
        elif now is not None and now.saturated:
            status = "saturated"
        if status != "ready":
            response.status_code = 503
            response.headers["Retry-After"] = "10"
        return Readiness(status=status, connections=connections, database=db)

    router.add_api_route(
        "/healthz",
        healthz,
        methods=["GET"],
        operation_id="healthz",
        summary="Liveness",
        response_model_exclude_none=True,
    )
    router.add_api_route(
        "/readyz",
        readyz,
        methods=["GET"],
        operation_id="readyz",
        summary="Readiness",
        response_model_exclude_none=True,
        responses={
            503: {
                "model": Readiness,
                "description": "Station connections saturated or the database unavailable",
            }
        },
    )
    return router
