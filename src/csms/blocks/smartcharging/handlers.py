"""What a 2.x station reports about charging limits and schedules (2.0.1 K09, K12, K13, K15-K17).

ReportChargingProfiles (the answer to GetChargingProfiles), NotifyChargingLimit /
ClearedChargingLimit (a limit set by an external system such as an energy manager or the grid
operator) and the ISO 15118 NotifyEVChargingNeeds / NotifyEVChargingSchedule are stored whole
(:mod:`csms.domain.notifications`) and answered. csms computes no schedule for an EV's charging
needs itself: with an :class:`~csms.blocks.smartcharging.ev_schedule.EvChargingScheduler` the
needs are answered with a TxProfile and the EV's schedule checked against it (K15–K17, see
that module); without one NotifyEVChargingNeeds is answered ``Rejected`` (no schedule will
follow; the station applies the profiles it has) and NotifyEVChargingSchedule ``Accepted``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from csms.blocks.context import CallContext
from csms.blocks.kept import keep
from csms.blocks.routing import handles
from csms.blocks.smartcharging.ev_schedule import EvChargingScheduler
from csms.domain.notifications import NotificationLog
from csms.rpc import OcppVersion

__all__ = ["SmartChargingReportsBlock"]

Payload = dict[str, Any]
V2 = (OcppVersion.V201, OcppVersion.V21)


class SmartChargingReportsBlock:
    """Station-initiated messages of the smart charging block (2.x)."""

    def __init__(
        self,
        log: NotificationLog,
        *,
        clock: Callable[[], datetime],
        ev_scheduler: EvChargingScheduler | None = None,
    ) -> None:
        self._log = log
        self._clock = clock
        self._ev = ev_scheduler

    async def _keep(self, ctx: CallContext, action: str, payload: Payload) -> None:
        await keep(self._log, ctx, action, payload, self._clock())

    @handles(V2, "ReportChargingProfiles")
    async def report_charging_profiles(self, ctx: CallContext, payload: Payload) -> Payload:
        """K09: the profiles installed on an EVSE, by requestId (one message per EVSE/source)."""
        await self._keep(ctx, "ReportChargingProfiles", payload)
        return {}

    @handles(V2, "NotifyChargingLimit")
    async def notify_charging_limit(self, ctx: CallContext, payload: Payload) -> Payload:
        """K12: an external limit (EMS, SO, other) now applies on the station or an EVSE."""
        await self._keep(ctx, "NotifyChargingLimit", payload)
        return {}

    @handles(V2, "ClearedChargingLimit")
    async def cleared_charging_limit(self, ctx: CallContext, payload: Payload) -> Payload:
        """K13: an external limit was released."""
        await self._keep(ctx, "ClearedChargingLimit", payload)
        return {}

    @handles(V2, "NotifyEVChargingNeeds")
    async def notify_ev_charging_needs(self, ctx: CallContext, payload: Payload) -> Payload:
        """K15.FR.02 / K17.FR.02: stored, then answered by the scheduler (see module)."""
        await self._keep(ctx, "NotifyEVChargingNeeds", payload)
        if self._ev is not None:
            return await self._ev.needs(ctx, payload)
        return {
            "status": "Rejected",
            "statusInfo": {
                "reasonCode": "NoSchedule",
                "additionalInfo": "csms does not compute schedules from EV charging needs",
            },
        }

    @handles(V2, "NotifyEVChargingSchedule")
    async def notify_ev_charging_schedule(self, ctx: CallContext, payload: Payload) -> Payload:
        """K15.FR.10/11, K17: the schedule the EV chose, stored and checked (see module)."""
        await self._keep(ctx, "NotifyEVChargingSchedule", payload)
        if self._ev is not None:
            return await self._ev.ev_schedule(ctx, payload)
        return {"status": "Accepted"}
