"""K16, renegotiation initiated by the CSMS: plan an ISO 15118 EV's schedule again and send it.

``POST /stations/{id}/evses/{evseId}/ev-schedule`` (no body): after the operator changed the limits
on a station (a new ChargingStationMaxProfile, say), csms plans again from the charging needs the
EV last sent for the transaction running on that EVSE and sends the TxProfile
(:mod:`csms.blocks.smartcharging.ev_schedule`); the answer shows the schedule and the station's
status. 404 ``no-ev-charging-needs`` when csms knows no needs for a running transaction there.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final, Protocol

from fastapi import APIRouter, FastAPI, Path, Request
from pydantic import BaseModel

from csms.api.deps import Context, attach, attached
from csms.api.errors import ApiProblem, ProblemKind
from csms.api.routes.stations import StationIdPath, require_station
from csms.api.schemas import CallFailedProblem, Problem
from csms.blocks.smartcharging.ev_schedule import EvScheduleSent

__all__ = ["EvRenegotiation", "attach_ev_schedules", "ev_schedules_router"]

_STATE_KEY = "csms_ev_schedules"
NO_NEEDS: Final = ProblemKind(404, "no-ev-charging-needs", "No EV charging needs known")


class EvRenegotiation(Protocol):
    """What the route needs of the scheduler."""

    async def renegotiate(self, station_id: str, evse_id: int) -> EvScheduleSent | None: ...


def attach_ev_schedules(app: FastAPI, scheduler: EvRenegotiation) -> None:
    """Store the scheduler on the app, where the route finds it."""
    attach(app, _STATE_KEY, scheduler)


class PeriodOut(BaseModel):
    start_period: int
    limit: float


class EvScheduleOut(BaseModel):
    """The TxProfile sent for the EV and what it delivers by the departure time (or 24 h)."""

    transaction_id: str
    profile_id: int
    status: str  # the station's answer to SetChargingProfile
    charging_rate_unit: str
    start_schedule: datetime | None
    duration: int | None
    periods: list[PeriodOut]
    energy_wh: float
    meets_energy: bool


EvseIdPath = Annotated[int, Path(ge=1, le=2**31 - 1, description="the EVSE the EV charges on")]


async def renegotiate(
    context: Context, request: Request, station_id: StationIdPath, evse_id: EvseIdPath
) -> EvScheduleOut:
    """Plan the EV's schedule again within today's limits and send it (2.0.1 K16)."""
    await require_station(context, station_id)
    scheduler: EvRenegotiation = attached(request, _STATE_KEY)
    sent = await scheduler.renegotiate(station_id, evse_id)
    if sent is None:
        raise ApiProblem(
            NO_NEEDS, f"no EV charging needs known for a running transaction on EVSE {evse_id}"
        )
    schedule = sent.profile.schedule
    return EvScheduleOut(
        transaction_id=sent.transaction_id,
        profile_id=sent.profile.id,
        status=sent.status.value,
        charging_rate_unit=schedule.charging_rate_unit.value,
        start_schedule=schedule.start_schedule,
        duration=schedule.duration,
        periods=[PeriodOut(start_period=p.start_period, limit=p.limit) for p in schedule.periods],
        energy_wh=round(sent.plan.energy_wh, 1),
        meets_energy=sent.plan.meets_energy,
    )


def ev_schedules_router() -> APIRouter:
    """Build the route (a new router per app: routers are mutable)."""
    router = APIRouter(tags=["stations"])
    router.add_api_route(
        "/stations/{station_id}/evses/{evse_id}/ev-schedule",
        renegotiate,
        methods=["POST"],
        operation_id="renegotiateEvSchedule",
        summary="Renegotiate an ISO 15118 EV's schedule (K16)",
        responses={
            404: {"model": Problem, "description": "Unknown station, or no EV needs known"},
            409: {"model": Problem, "description": "Station not connected"},
            502: {"model": CallFailedProblem, "description": "The station did not take it"},
            504: {"model": Problem, "description": "Station did not answer in time"},
        },
    )
    return router
