"""Station notifications kept whole (:mod:`csms.domain.notifications`), newest first.

ReportChargingProfiles, NotifyChargingLimit, ClearedChargingLimit, NotifyEVChargingNeeds /
NotifyEVChargingSchedule, NotifyDisplayMessages, NotifyCustomerInformation,
PublishFirmwareStatusNotification, Get15118EVCertificate, GetCertificateStatus and
ReservationStatusUpdate, as the station sent them, filtered by action and request id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from pydantic import BaseModel, Field

from csms.api.deps import Context, attach, attached
from csms.api.routes.stations import StationIdPath, require_station
from csms.api.schemas import Problem
from csms.domain.notifications import NotificationLog, StationNotification

__all__ = ["attach_notifications", "notifications_router"]

_STATE_KEY = "csms_notifications"


def attach_notifications(app: FastAPI, log: NotificationLog) -> None:
    """Store the log on the app, where the route finds it."""
    attach(app, _STATE_KEY, log)


def _log(request: Request) -> NotificationLog:
    return attached(request, _STATE_KEY)  # type: ignore[no-any-return]


class NotificationOut(BaseModel):
    """One station notification as received."""

    id: int = Field(description="Storage id; pass it as `before` to page back")
    action: str
    request_id: int | None
    evse_id: int | None
    received_at: datetime
    payload: dict[str, Any] = Field(description="The request payload as the station sent it")

    @classmethod
    def of(cls, n: StationNotification) -> NotificationOut:
        assert n.id is not None
        return cls(
            id=n.id,
            action=n.action,
            request_id=n.request_id,
            evse_id=n.evse_id,
            received_at=n.received_at,
            payload=n.payload,
        )


async def list_notifications(
    context: Context,
    request: Request,
    station_id: StationIdPath,
    *,
    action: Annotated[
        str | None, Query(max_length=64, description="e.g. NotifyChargingLimit")
    ] = None,
    request_id: Annotated[int | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before: Annotated[int | None, Query(ge=1, description="Only entries with a smaller id")] = None,
) -> list[NotificationOut]:
    """The station's kept notifications, newest first."""
    await require_station(context, station_id)
    found = await _log(request).list(
        station_id, action=action, request_id=request_id, limit=limit, before_id=before
    )
    return [NotificationOut.of(n) for n in found]


def notifications_router() -> APIRouter:
    """Build the notification route (a new router per app: routers are mutable)."""
    router = APIRouter(tags=["device model"])
    router.add_api_route(
        "/stations/{station_id}/notifications",
        list_notifications,
        methods=["GET"],
        operation_id="listStationNotifications",
        responses={404: {"model": Problem, "description": "Unknown station"}},
    )
    return router
