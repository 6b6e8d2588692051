"""What a 2.x station reported about itself: device model, monitors, report progress, events.

Read-only views of :class:`csms.domain.devicemodel.DeviceModelRepository`: the stored knowledge
of each variable attribute (from NotifyReport, NotifyEvent and Get/SetVariables results, with the
source and time), the monitors from NotifyMonitoringReport, which requested reports are complete,
and the NotifyEvent history (newest first, paged with ``before``). Secrets are stored masked.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from pydantic import BaseModel, Field

from csms.api.deps import Context, attach, attached
from csms.api.routes.stations import StationIdPath, require_station
from csms.api.schemas import DB_INT_MAX, Problem
from csms.domain.devicemodel import (
    DeviceEvent,
    DeviceModelRepository,
    ReportProgress,
    StoredAttribute,
    VariableKey,
    VariableMonitor,
)

__all__ = ["attach_device_model", "device_model_router"]

_STATE_KEY = "csms_device_model"


def attach_device_model(app: FastAPI, repository: DeviceModelRepository) -> None:
    """Store the repository on the app, where the routes find it."""
    attach(app, _STATE_KEY, repository)


def _repository(request: Request) -> DeviceModelRepository:
    return attached(request, _STATE_KEY)  # type: ignore[no-any-return]


class VariableKeyOut(BaseModel):
    """Component (instance, EVSE, connector) and variable (instance), as OCPP 2.x names them."""

    path: str = Field(description="EVSE[n].Connector[m]/Component[instance]/Variable[instance]")
    component: str
    component_instance: str | None
    evse_id: int | None
    connector_id: int | None
    variable: str
    variable_instance: str | None

    @classmethod
    def of(cls, key: VariableKey) -> VariableKeyOut:
        return cls(
            path=key.path(),
            component=key.component,
            component_instance=key.component_instance,
            evse_id=key.evse_id,
            connector_id=key.connector_id,
            variable=key.variable,
            variable_instance=key.variable_instance,
        )


class AttributeOut(VariableKeyOut):
    """One attribute of one variable: the latest value csms knows, where and when it learnt it."""

    attribute_type: str = Field(description="Actual, Target, MinSet or MaxSet")
    value: str | None = Field(description="'***' for secrets; null when reported without value")
    mutability: str | None
    persistent: bool | None
    constant: bool | None
    data_type: str | None
    unit: str | None
    min_limit: float | None
    max_limit: float | None
    values_list: str | None
    supports_monitoring: bool | None
    source: str = Field(description="NotifyReport, NotifyEvent, GetVariables or SetVariables")
    updated_at: datetime

    @classmethod
    def of_attribute(cls, stored: StoredAttribute) -> AttributeOut:
        chars = stored.characteristics
        attr = stored.attribute
        return cls(
            **VariableKeyOut.of(stored.key).model_dump(),
            attribute_type=attr.type,
            value=attr.value,
            mutability=attr.mutability,
            persistent=attr.persistent,
            constant=attr.constant,
            data_type=chars.data_type if chars else None,
            unit=chars.unit if chars else None,
            min_limit=chars.min_limit if chars else None,
            max_limit=chars.max_limit if chars else None,
            values_list=chars.values_list if chars else None,
            supports_monitoring=chars.supports_monitoring if chars else None,
            source=stored.source,
            updated_at=stored.updated_at,
        )


class MonitorOut(VariableKeyOut):
    """A monitor the station reported (NotifyMonitoringReport)."""

    monitor_id: int
    transaction: bool
    value: float
    type: str
    severity: int
    reported_at: datetime

    @classmethod
    def of_monitor(cls, m: VariableMonitor) -> MonitorOut:
        return cls(
            **VariableKeyOut.of(m.key).model_dump(),
            monitor_id=m.monitor_id,
            transaction=m.transaction,
            value=m.value,
            type=m.type,
            severity=m.severity,
            reported_at=m.reported_at,
        )


class ReportOut(BaseModel):
    """How far a requested report arrived (NotifyReport or NotifyMonitoringReport parts)."""

    request_id: int
    kind: str = Field(description="variables (NotifyReport) or monitors (NotifyMonitoringReport)")
    parts: int
    last_seq_no: int
    complete: bool
    missing_seq_nos: list[int]
    started_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, r: ReportProgress) -> ReportOut:
        return cls(
            request_id=r.request_id,
            kind=r.kind,
            parts=r.parts,
            last_seq_no=r.last_seq_no,
            complete=r.complete,
            missing_seq_nos=list(r.missing),
            started_at=r.started_at,
            updated_at=r.updated_at,
        )


class DeviceEventOut(VariableKeyOut):
    """One NotifyEvent entry as received."""

    id: int = Field(description="Storage id; pass it as `before` to page back")
    event_id: int
    timestamp: datetime
    trigger: str
    actual_value: str
    notification_type: str
    cause: int | None
    tech_code: str | None
    tech_info: str | None
    cleared: bool | None
    transaction_id: str | None
    variable_monitoring_id: int | None
    severity: int | None
    received_at: datetime | None

    @classmethod
    def of_event(cls, storage_id: int, e: DeviceEvent) -> DeviceEventOut:
        return cls(
            **VariableKeyOut.of(e.key).model_dump(),
            id=storage_id,
            event_id=e.event_id,
            timestamp=e.timestamp,
            trigger=e.trigger,
            actual_value=e.actual_value,
            notification_type=e.notification_type,
            cause=e.cause,
            tech_code=e.tech_code,
            tech_info=e.tech_info,
            cleared=e.cleared,
            transaction_id=e.transaction_id,
            variable_monitoring_id=e.variable_monitoring_id,
            severity=e.severity,
            received_at=e.received_at,
        )


async def get_device_model(
    context: Context,
    request: Request,
    station_id: StationIdPath,
    component: Annotated[str | None, Query(max_length=50)] = None,
    variable: Annotated[str | None, Query(max_length=50)] = None,
) -> list[AttributeOut]:
    """Every stored attribute of the station, optionally of one component and/or variable."""
    await require_station(context, station_id)
    stored = await _repository(request).attributes(
        station_id, component=component, variable=variable
    )
    return [AttributeOut.of_attribute(s) for s in stored]


async def get_monitors(
    context: Context, request: Request, station_id: StationIdPath
) -> list[MonitorOut]:
    """The monitors the station reported."""
    await require_station(context, station_id)
    return [MonitorOut.of_monitor(m) for m in await _repository(request).monitors(station_id)]


async def get_reports(
    context: Context, request: Request, station_id: StationIdPath
) -> list[ReportOut]:
    """The reports the station sent, newest first, with missing parts."""
    await require_station(context, station_id)
    return [ReportOut.of(r) for r in await _repository(request).reports(station_id)]


async def get_events(
    context: Context,
    request: Request,
    station_id: StationIdPath,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before: Annotated[
        int | None, Query(ge=1, le=DB_INT_MAX, description="Only events with a smaller id")
    ] = None,
) -> list[DeviceEventOut]:
    """The station's NotifyEvent history, newest first."""
    await require_station(context, station_id)
    events = await _repository(request).events(station_id, limit=limit, before_id=before)
    return [DeviceEventOut.of_event(storage_id, e) for storage_id, e in events]


def device_model_router() -> APIRouter:
    """Build the device-model routes (a new router per app: routers are mutable)."""
    router = APIRouter(tags=["device model"])
    not_found: dict[int | str, dict[str, Any]] = {
        404: {"model": Problem, "description": "Unknown station"}
    }
    for path, endpoint, operation in (
        ("/stations/{station_id}/device-model", get_device_model, "getDeviceModel"),
        ("/stations/{station_id}/monitors", get_monitors, "getMonitors"),
        ("/stations/{station_id}/reports", get_reports, "getReports"),
        ("/stations/{station_id}/events", get_events, "getDeviceEvents"),
    ):
        router.add_api_route(
            path, endpoint, methods=["GET"], operation_id=operation, responses=not_found
        )
    return router
