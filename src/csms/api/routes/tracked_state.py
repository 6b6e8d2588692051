"""Tracked state: what csms asked stations to hold (desired) beside what they last said (reported).

* ``GET /reservations`` and ``GET /stations/{id}/reservations``: reservations made through the
  API, their status as the station answered, updated by 2.x ReservationStatusUpdate and by the
  transaction that used them; expiry is applied when read (1.6 §5.13: the station releases the
  connector itself).
* ``GET /stations/{id}/charging-profiles``: profiles sent (with answers) and what csms believes is
  installed; the station's own reports (2.x ReportChargingProfiles); the composite limits in force
  per EVSE from the last GetCompositeSchedule answer.
* ``GET /stations/{id}/configuration``: 1.6 keys and 2.x device-model variables, each with the
  value an operator last set (desired: value, when, the station's answer) and the value the
  station last reported (GetConfiguration / GetVariables / NotifyReport, or accepted a set).
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Path, Query, Request
from pydantic import BaseModel

from csms.api.deps import attach, attached
from csms.api.errors import ApiProblem, ProblemKind
from csms.api.intents.catalog import COMPOSITE_SCHEDULE_ACTION, variable_name
from csms.api.intents.registry import IntentServices
from csms.api.schemas import Problem
from csms.domain.errors import UnknownStation
from csms.domain.reservations import Reservation
from csms.domain.smartcharging import InstalledProfile

__all__ = ["attach_tracked_state", "tracked_state_router"]

_KEY = "csms_tracked_state"
BAD_CURSOR = ProblemKind(422, "validation-error", "Request validation failed")
StationIdPath = Annotated[str, Path(description="Charging station identity")]
Limit = Annotated[int, Query(ge=1, le=500)]
REPORTED_ACTION = "ReportChargingProfiles"


def attach_tracked_state(app: FastAPI, services: IntentServices) -> None:
    attach(app, _KEY, services)


def _services(request: Request) -> IntentServices:
    services: IntentServices = attached(request, _KEY)
    return services


async def _station(request: Request, station_id: str) -> IntentServices:
    services = _services(request)
    if await services.stations.get(station_id) is None:
        raise UnknownStation(f"no station {station_id!r} is registered")
    return services


def _offset(cursor: str | None) -> int:
    if cursor is None:
        return 0
    try:
        value = int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ApiProblem(BAD_CURSOR, "cursor: not a cursor this API gave") from None
    if value < 0:
        raise ApiProblem(BAD_CURSOR, "cursor: not a cursor this API gave")
    return value


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(str(offset).encode()).decode().rstrip("=")


# --- reservations ----------------------------------------------------------------------------


class ReservationPage(BaseModel):
    items: list[Reservation]
    next_cursor: str | None = None
    total: int


async def _reservations(
    services: IntentServices, station_id: str | None, active: bool, cursor: str | None, limit: int
) -> ReservationPage:
    store = services.need("reservations")
    found = await store.list(services.clock(), station_id=station_id, active_only=active)
    start = _offset(cursor)
    page = list(found[start : start + limit])
    more = start + limit < len(found)
    return ReservationPage(
        items=page, next_cursor=_cursor(start + limit) if more else None, total=len(found)
    )


async def list_reservations(
    request: Request,
    station: Annotated[str | None, Query(max_length=255)] = None,
    active: bool = False,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Limit = 50,
) -> ReservationPage:
    """Reservations, newest first; ``active=true``: only those still Requested or Accepted."""
    return await _reservations(_services(request), station, active, cursor, limit)


async def station_reservations(
    request: Request,
    station_id: StationIdPath,
    active: bool = False,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Limit = 50,
) -> ReservationPage:
    """The station's reservations, newest first."""
    return await _reservations(
        await _station(request, station_id), station_id, active, cursor, limit
    )


# --- charging profiles -----------------------------------------------------------------------


class ReportedProfiles(BaseModel):
    """One ReportChargingProfiles message (2.x K09) as the station sent it."""

    received_at: datetime
    request_id: int | None
    evse_id: int | None
    payload: dict[str, Any]


class CompositeInForce(BaseModel):
    """The last GetCompositeSchedule answer for an EVSE (``schedule`` None: none given)."""

    evse_id: int
    received_at: datetime
    status: str | None
    schedule: dict[str, Any] | None


class ChargingProfilesOut(BaseModel):
    """``desired``: every profile sent, newest first, with the answer (``installed`` true while
    accepted and neither superseded nor cleared); ``installed``: what csms believes the station
    holds; ``reported``: the station's own reports; ``composite``: limits in force per EVSE."""

    desired: list[InstalledProfile]
    installed: list[InstalledProfile]
    reported: list[ReportedProfiles]
    composite: list[CompositeInForce]


async def station_charging_profiles(
    request: Request, station_id: StationIdPath, limit: Limit = 50
) -> ChargingProfilesOut:
    services = await _station(request, station_id)
    profiles = services.need("charging_profiles")
    reported: list[ReportedProfiles] = []
    composite: dict[int, CompositeInForce] = {}
    log = services.notifications
    if log is not None:
        for n in await log.list(station_id, action=REPORTED_ACTION, limit=limit):
            reported.append(ReportedProfiles(received_at=n.received_at, request_id=n.request_id,
                                             evse_id=n.evse_id, payload=n.payload))  # fmt: skip
        for n in await log.list(station_id, action=COMPOSITE_SCHEDULE_ACTION, limit=limit):
            if n.evse_id is not None and n.evse_id not in composite:  # newest first
                composite[n.evse_id] = CompositeInForce(
                    evse_id=n.evse_id,
                    received_at=n.received_at,
                    status=n.payload.get("status"),
                    schedule=n.payload.get("schedule"),
                )
    return ChargingProfilesOut(
        desired=list(await profiles.history(station_id, limit=limit)),
        installed=list(await profiles.installed(station_id)),
        reported=reported,
        composite=sorted(composite.values(), key=lambda c: c.evse_id),
    )


# --- configuration ---------------------------------------------------------------------------


class Desired(BaseModel):
    value: str
    sent_at: datetime
    status: str | None  # the station's answer; None: no answer


class Reported(BaseModel):
    value: str | None
    at: datetime | None
    source: str  # GetConfiguration, ChangeConfiguration, GetVariables, SetVariables, NotifyReport
    readonly: bool | None = None
    unknown: bool = False


class Setting(BaseModel):
    """A 1.6 key (``name`` = key) or a 2.x variable (``name`` = its device-model path, with
    ``@Target``/``@MinSet``/``@MaxSet`` for attributes other than Actual)."""

    name: str
    desired: Desired | None = None
    reported: Reported | None = None


class ConfigurationOut(BaseModel):
    keys: list[Setting]
    variables: list[Setting]


async def station_configuration(request: Request, station_id: StationIdPath) -> ConfigurationOut:
    services = await _station(request, station_id)
    desired = {
        (d.kind, d.name): Desired(value=d.value, sent_at=d.sent_at, status=d.status)
        for d in (await services.desired.list(station_id) if services.desired else ())
    }
    keys: dict[str, Setting] = {}
    if services.configuration is not None:
        for k in await services.configuration.keys(station_id):
            changed_last = k.changed_at is not None and (
                k.read_at is None or k.changed_at > k.read_at
            )
            keys[k.key] = Setting(
                name=k.key,
                reported=Reported(
                    value=k.value,
                    at=k.changed_at if changed_last else k.read_at,
                    source="ChangeConfiguration" if changed_last else "GetConfiguration",
                    readonly=k.readonly,
                    unknown=k.unknown,
                ),
            )
    variables: dict[str, Setting] = {}
    if services.device_model is not None:
        for a in await services.device_model.attributes(station_id):
            name = variable_name(a.key, a.attribute.type)
            variables[name] = Setting(
                name=name,
                reported=Reported(value=a.attribute.value, at=a.updated_at, source=a.source),
            )
    for (kind, name), wanted in desired.items():
        table = keys if kind == "key" else variables
        table.setdefault(name, Setting(name=name)).desired = wanted
    return ConfigurationOut(
        keys=sorted(keys.values(), key=lambda s: s.name),
        variables=sorted(variables.values(), key=lambda s: s.name),
    )


def tracked_state_router(services: IntentServices) -> APIRouter:
    router = APIRouter(tags=["tracked state"])
    not_found: dict[int | str, dict[str, Any]] = {
        404: {"model": Problem, "description": "Unknown station"}
    }
    if services.reservations is not None:
        router.add_api_route(
            "/reservations",
            list_reservations,
            methods=["GET"],
            operation_id="listReservations",
            summary="Reservations (all stations)",
        )
        router.add_api_route(
            "/stations/{station_id}/reservations",
            station_reservations,
            methods=["GET"],
            operation_id="listStationReservations",
            summary="The station's reservations",
            responses=not_found,
        )
    if services.charging_profiles is not None:
        router.add_api_route(
            "/stations/{station_id}/charging-profiles",
            station_charging_profiles,
            methods=["GET"],
            operation_id="getStationChargingProfiles",
            summary="Charging profiles: sent, installed, reported, composite limits in force",
            responses=not_found,
        )
    router.add_api_route(
        "/stations/{station_id}/configuration",
        station_configuration,
        methods=["GET"],
        operation_id="getStationConfiguration",
        summary="Configuration keys / variables: desired (set by csms) vs reported",
        responses=not_found,
    )
    return router
