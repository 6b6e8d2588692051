"""The transaction a remote start started (2.0.1 F01/F02 remoteStartId correlation).

``GET /stations/{id}/remote-starts/{remoteStartId}``: the stored TransactionEvents that carried
the remoteStartId csms sent in RequestStartTransaction (the typed command and ``/call`` return
it), oldest first; ``transactions`` is empty while the station has not started one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, FastAPI, Path, Request
from pydantic import BaseModel

from csms.api.deps import Context, attach, attached
from csms.api.routes.stations import StationIdPath, require_station
from csms.api.schemas import Problem
from csms.domain.remotestart import RemoteStartLink, RemoteStartLinks

__all__ = ["attach_remote_starts", "remote_starts_router"]

_STATE_KEY = "csms_remote_starts"


def attach_remote_starts(app: FastAPI, links: RemoteStartLinks) -> None:
    """Store the reader on the app, where the route finds it."""
    attach(app, _STATE_KEY, links)


def _links(request: Request) -> RemoteStartLinks:
    return attached(request, _STATE_KEY)  # type: ignore[no-any-return]


class RemoteStartEventOut(BaseModel):
    """A TransactionEvent that carried the remoteStartId."""

    transaction_id: str
    event_type: str
    seq_no: int
    trigger_reason: str
    timestamp: datetime
    evse_id: int | None
    connector_id: int | None
    id_token: str | None

    @classmethod
    def of(cls, link: RemoteStartLink) -> RemoteStartEventOut:
        return cls(
            transaction_id=link.transaction_id,
            event_type=link.event_type,
            seq_no=link.seq_no,
            trigger_reason=link.trigger_reason,
            timestamp=link.timestamp,
            evse_id=link.evse_id,
            connector_id=link.connector_id,
            id_token=link.id_token,
        )


class RemoteStartOut(BaseModel):
    """A remote start and the transaction events that answered it."""

    remote_start_id: int
    transactions: list[RemoteStartEventOut]


RemoteStartIdPath = Annotated[
    int, Path(ge=-(2**31), le=2**31 - 1, description="remoteStartId of RequestStartTransaction")
]


async def get_remote_start(
    context: Context,
    request: Request,
    station_id: StationIdPath,
    remote_start_id: RemoteStartIdPath,
) -> RemoteStartOut:
    """The transaction(s) the station started for ``remote_start_id``, oldest event first."""
    await require_station(context, station_id)
    found = await _links(request).events_for(station_id, remote_start_id)
    return RemoteStartOut(
        remote_start_id=remote_start_id,
        transactions=[RemoteStartEventOut.of(link) for link in found],
    )


def remote_starts_router() -> APIRouter:
    """Build the remote-start route (a new router per app: routers are mutable)."""
    router = APIRouter(tags=["stations"])
    router.add_api_route(
        "/stations/{station_id}/remote-starts/{remote_start_id}",
        get_remote_start,
        methods=["GET"],
        operation_id="getRemoteStart",
        responses={404: {"model": Problem, "description": "Unknown station"}},
    )
    return router
