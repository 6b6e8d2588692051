"""Station notifications kept whole (:mod:`csms.domain.notifications`), newest first.

ReportChargingProfiles, NotifyChargingLimit, ClearedChargingLimit, NotifyEVChargingNeeds /
NotifyEVChargingSchedule, NotifyDisplayMessages, NotifyCustomerInformation,
PublishFirmwareStatusNotification, Get15118EVCertificate, GetCertificateStatus and
ReservationStatusUpdate, as the station sent them, filtered by action and request id; and the
NotifyCustomerInformation parts of one CustomerInformation request joined into one report (N09/N10).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Path, Query, Request
from pydantic import BaseModel, Field

from csms.api.deps import Context, attach, attached
from csms.api.errors import ApiProblem, ProblemKind
from csms.api.routes.stations import StationIdPath, require_station
from csms.api.schemas import DB_INT_MAX, DB_INT_MIN, Problem
from csms.blocks.diagnostics.customer import customer_information
from csms.domain.notifications import NotificationLog, StationNotification

__all__ = ["attach_notifications", "notifications_router"]

_STATE_KEY = "csms_notifications"
NO_REPORT = ProblemKind(404, "not-found", "Not found")


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
    request_id: Annotated[int | None, Query(ge=DB_INT_MIN, le=DB_INT_MAX)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before: Annotated[
        int | None, Query(ge=1, le=DB_INT_MAX, description="Only entries with a smaller id")
    ] = None,
) -> list[NotificationOut]:
    """The station's kept notifications, newest first."""
    await require_station(context, station_id)
    found = await _log(request).list(
        station_id, action=action, request_id=request_id, limit=limit, before_id=before
    )
    return [NotificationOut.of(n) for n in found]


class CustomerInformationOut(BaseModel):
    """A CustomerInformation request's NotifyCustomerInformation parts, joined in seqNo order."""

    request_id: int
    data: str = Field(description="Every part's data, in seqNo order")
    parts: int = Field(description="Distinct parts received")
    complete: bool = Field(description="Parts 0..n all received and part n has tbc false")
    missing_seq_nos: list[int] = Field(description="seqNos not received below the highest one")
    generated_at: datetime = Field(description="generatedAt of the last part")
    received_at: datetime


async def get_customer_information(
    context: Context,
    request: Request,
    station_id: StationIdPath,
    request_id: Annotated[
        int, Path(ge=-(2**31), le=2**31 - 1, description="requestId of CustomerInformation")
    ],
) -> CustomerInformationOut:
    """The station's answer to CustomerInformation ``request_id``, assembled; 404 before any
    part arrived."""
    await require_station(context, station_id)
    report = await customer_information(_log(request), station_id, request_id)
    if report is None:
        raise ApiProblem(NO_REPORT, f"no NotifyCustomerInformation for request {request_id}")
    return CustomerInformationOut(
        request_id=report.request_id,
        data=report.data,
        parts=report.parts,
        complete=report.complete,
        missing_seq_nos=list(report.missing),
        generated_at=report.generated_at,
        received_at=report.received_at,
    )


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
    router.add_api_route(
        "/stations/{station_id}/customer-information/{request_id}",
        get_customer_information,
        methods=["GET"],
        operation_id="getCustomerInformation",
        responses={404: {"model": Problem, "description": "Unknown station or no report yet"}},
    )
    return router
