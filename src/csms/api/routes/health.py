"""Liveness probe, outside ``/api/v1`` and never behind the token, for load balancers."""

from __future__ import annotations

from fastapi import APIRouter

from csms.api.deps import Context
from csms.api.schemas import Health


async def healthz(context: Context) -> Health:
    """Answer while the process serves HTTP; it does not probe the database or stations."""
    return Health(version=context.version)


def health_router() -> APIRouter:
    """Build the health route (a new router per app: routers are mutable)."""
    router = APIRouter(tags=["health"])
    router.add_api_route(
        "/healthz", healthz, methods=["GET"], operation_id="healthz", summary="Liveness"
    )
    return router
