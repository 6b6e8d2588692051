"""Liveness and readiness probes, outside ``/api/v1`` and never behind a credential, for load
balancers and monitoring.

Both report the station endpoint's load when the app is given it (issue 7 finding 3): connections
open (handshakes included), in handshake, the cap, and ``saturated`` while new station connections
are being refused. ``/readyz`` answers 503 then, so a balancer sends new stations elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel

from csms.api.deps import Context
from csms.api.schemas import Health
from csms.domain.load import ConnectionLoad

LoadProbe = Callable[[], ConnectionLoad | None]


class Connections(BaseModel):
    """Station connections now."""

    open: int
    in_handshake: int
    max: int


class HealthReport(Health):
    """Liveness, and the station endpoint's load when known."""

    connections: Connections | None = None
    saturated: bool | None = None


class Readiness(BaseModel):
    """Whether csms takes new station connections now."""

    status: Literal["ready", "saturated"]
    connections: Connections | None = None


def health_router(load: LoadProbe | None = None) -> APIRouter:
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
            connections=Connections(open=now.open, in_handshake=now.in_handshake, max=now.max),
            saturated=now.saturated,
        )

    async def readyz(response: Response) -> Readiness:
        """503 while new station connections are refused (at the cap, or out of descriptors)."""
        now = current()
        if now is None:
            return Readiness(status="ready")
        connections = Connections(open=now.open, in_handshake=now.in_handshake, max=now.max)
        if now.saturated:
            response.status_code = 503
            response.headers["Retry-After"] = "10"
            return Readiness(status="saturated", connections=connections)
        return Readiness(status="ready", connections=connections)

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
        responses={503: {"model": Readiness, "description": "Station connections saturated"}},
    )
    return router
