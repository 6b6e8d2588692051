"""``GET /stations/{id}/connections``: the station's connection history, newest first.

Each connect (with the OCPP version negotiated) and disconnect (with its reason: the WebSocket
close code in words, e.g. ``1006 connection lost (no close frame)``), as the server recorded
them. Pages with an opaque ``cursor`` like the message log.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, FastAPI, Query, Request
from pydantic import BaseModel, Field

from csms.api.deps import Context, attach, attached
from csms.api.errors import VALIDATION, ApiProblem
from csms.api.routes.stations import StationIdPath, require_station
from csms.api.schemas import DB_INT_MAX, Problem, ValidationProblem
from csms.domain.connections import ConnectionEvent, ConnectionHistory

__all__ = ["attach_connection_history", "connection_history_router"]

_STATE_KEY = "csms_connection_history"
DEFAULT_LIMIT = 50
MAX_LIMIT = 500


def attach_connection_history(app: FastAPI, history: ConnectionHistory) -> None:
    """Keep the history on the app, where the route finds it."""
    attach(app, _STATE_KEY, history)


class ConnectionOut(BaseModel):
    """One connect or disconnect."""

    id: int
    event: Literal["connected", "disconnected"]
    at: datetime = Field(description="When the server recorded it (UTC)")
    ocpp_version: str | None = Field(description="The version negotiated on that connection")
    reason: str | None = Field(description="A disconnect's: the close code in words")

    @classmethod
    def of(cls, e: ConnectionEvent) -> ConnectionOut:
        return cls(
            id=e.id,
            event="connected" if e.online else "disconnected",
            at=e.at,
            ocpp_version=e.ocpp_version,
            reason=e.reason,
        )


class ConnectionPage(BaseModel):
    """A page of the history, newest first."""

    items: list[ConnectionOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page")
    total: int | None = Field(default=None, description="Not counted")


def _encode(entry_id: int) -> str:
    return base64.urlsafe_b64encode(f"c:{entry_id}".encode()).decode().rstrip("=")


def _decode(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, number = text.partition(":")
        value = int(number)
        if prefix != "c" or not 1 <= value <= DB_INT_MAX:
            raise ValueError(cursor)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiProblem(VALIDATION, "cursor: not a cursor this API returned") from None
    return value


async def list_connections(
    context: Context,
    request: Request,
    station_id: StationIdPath,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> ConnectionPage:
    """The station's connects and disconnects, newest first; 404 for an unknown station."""
    before = None if cursor is None else _decode(cursor)
    await require_station(context, station_id)
    history: ConnectionHistory = attached(request, _STATE_KEY)
    found = await history.connections(station_id, before_id=before, limit=limit + 1)
    items = [ConnectionOut.of(e) for e in found[:limit]]
    more = len(found) > limit
    return ConnectionPage(items=items, next_cursor=_encode(items[-1].id) if more else None)


def connection_history_router() -> APIRouter:
    """Build the route (a new router per app: routers are mutable)."""
    router = APIRouter(tags=["stations"])
    router.add_api_route(
        "/stations/{station_id}/connections",
        list_connections,
        methods=["GET"],
        operation_id="listStationConnections",
        summary="A station's connection history",
        responses={
            404: {"model": Problem, "description": "Unknown station"},
            422: {"model": ValidationProblem, "description": "Invalid cursor"},
        },
    )
    return router
