"""The CSMS side of ISO 15118 smart charging (2.0.1 K15, K16, K17; 2.1 the same messages).

* **NotifyEVChargingNeeds** (K15.FR.02, K17.FR.02): answered Accepted (K15.FR.03 / K17.FR.03)
  when a 2.x transaction runs on the EVSE and the needs can be planned for; then, in a task of
  this block that starts after the answer is queued, csms computes the schedule
  (:func:`csms.domain.ev_charging.plan_schedule`) within the limits installed on the EVSE (its
  composite of ChargingStationMaxProfile and TxDefaultProfile) and sends it in a
  SetChargingProfile with a TxProfile for that transaction (Part 6 reusable state
  ISO15118SmartCharging: purpose TxProfile, the transaction's id). Rejected, with a reasonCode,
  when no transaction runs there (``TxNotFound``), when the parameters do not fit the requested
  transfer (``InvalidValue``) or when the operator turned schedules off (``NoSchedule``). The
  profile's id is :data:`PROFILE_ID_BASE` + evseId, so a renegotiation (K16/K17) replaces it.
* **K16** (renegotiation initiated by the CSMS): :meth:`EvChargingScheduler.renegotiate` plans again
  from the EV's last needs (after the operator changed the limits) and sends the new TxProfile
  (``POST /api/v1/stations/{id}/evses/{evseId}/ev-schedule``).
* **NotifyEVChargingSchedule** (K15.FR.10/K17.FR.10): the EV's schedule is checked against the
  TxProfile csms sent for that EVSE: Accepted when within it (K15.FR.11), else Rejected with
  reasonCode ``InvalidSchedule`` and where it exceeds (logged). Without a schedule of csms's on
  the EVSE there is nothing to check: Accepted (the station checked it, K15.FR.07).

2.1's extended fields (controlMode, mobilityNeedsMode, v2xChargingParameters, evEnergyOffer,
timestamp...) are kept with the notification; the plan reads v2xChargingParameters
(maxChargeCurrent, maxChargePower, minChargeCurrent, evTargetEnergyRequest) when the AC/DC
parameters lack them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from csms.blocks.context import CallContext
from csms.blocks.smartcharging.commands import SmartChargingCommands
from csms.blocks.timefmt import station_time
from csms.domain.charging_ports import ChargingTransactionRepository
from csms.domain.errors import DomainError
from csms.domain.ev_charging import (
    EvChargingNeeds,
    EvSchedulePlan,
    NeedsError,
    exceeds,
    parse_needs,
    plan_schedule,
)
from csms.domain.smartcharging import (
    ChargingProfile,
    ChargingProfileKind,
    ChargingProfilePurpose,
    ChargingProfileRepository,
    ChargingProfileStatus,
    ChargingRateUnit,
    ChargingSchedule,
)

__all__ = ["HORIZON", "MAX_HORIZON", "PROFILE_ID_BASE", "EvChargingScheduler", "EvScheduleSent"]

logger = logging.getLogger(__name__)

Payload = dict[str, Any]

PROFILE_ID_BASE = 15_118_000  # + evseId: the id of csms's ISO 15118 TxProfile on that EVSE
HORIZON = 86_400  # seconds planned when the EV gives no departure time
MAX_HORIZON = 7 * 86_400  # a departure time further away is planned up to this


@dataclass(frozen=True, slots=True)
class EvScheduleSent:
    """A TxProfile csms planned for an EV's needs and the station's answer to it."""

    transaction_id: str
    profile: ChargingProfile
    plan: EvSchedulePlan
    status: ChargingProfileStatus


@dataclass(frozen=True, slots=True)
class _Pending:
    needs: EvChargingNeeds
    transaction_id: str


class EvChargingScheduler:
    """Answers EV charging needs with a TxProfile and checks the EV's schedule against it."""

    def __init__(
        self,
        commands: SmartChargingCommands,
        profiles: ChargingProfileRepository,
        charging: ChargingTransactionRepository,
        *,
        clock: Callable[[], datetime],
        enabled: bool = True,
        stack_level: int = 0,
    ) -> None:
        self._commands = commands
        self._profiles = profiles
        self._charging = charging
        self._clock = clock
        self._enabled = enabled
        self._stack_level = stack_level
        self._tasks: set[asyncio.Task[None]] = set()
        # The last needs per (station, evse), for a renegotiation by the CSMS (K16): at most one
        # per EVSE csms knows (bounded by the fleet), dropped when its transaction is found gone.
        self._last: dict[tuple[str, int], _Pending] = {}
        self._inflight: dict[tuple[str, int], asyncio.Task[None]] = {}
        # The schedule of the TxProfile last sent per (station, EVSE), from before it is sent
        # until the station refuses it: the EV's NotifyEVChargingSchedule can be handled before
        # the SetChargingProfile answer's record is stored (same socket, separate tasks).
        self._sent: dict[tuple[str, int], ChargingSchedule] = {}

    async def _transaction_on(self, station_id: str, evse_id: int) -> str | None:
        for tx in await self._charging.list_open(station_id=station_id, limit=1000):
            if tx.evse_id == evse_id and tx.ocpp_version != "1.6":
                return tx.transaction_id
        return None

    async def needs(self, ctx: CallContext, payload: Payload) -> Payload:
        """K15.FR.02–04 / K17.FR.02–04: answer NotifyEVChargingNeeds; schedule the profile."""
        if not self._enabled:
            return _status("Rejected", "NoSchedule", "EV charging schedules are turned off")
        received = self._clock()
        raw_departure = payload["chargingNeeds"].get("departureTime")
        departure = station_time(raw_departure, received) if raw_departure else None
        try:
            needs = parse_needs(payload, departure)
        except NeedsError as exc:
            ctx.limited(logging.INFO, "ev needs refused", "NotifyEVChargingNeeds Rejected: %s", exc)
            return _status("Rejected", "InvalidValue", str(exc)[:500])
        transaction_id = await self._transaction_on(ctx.station_id, needs.evse_id)
        if transaction_id is None:
            self._last.pop((ctx.station_id, needs.evse_id), None)
            self._sent.pop((ctx.station_id, needs.evse_id), None)
            ctx.limited(
                logging.INFO,
                "ev needs refused",
                "NotifyEVChargingNeeds Rejected: no transaction on EVSE %d",
                needs.evse_id,
            )
            return _status("Rejected", "TxNotFound", f"no transaction on EVSE {needs.evse_id}")
        pending = _Pending(needs, transaction_id)
        key = (ctx.station_id, needs.evse_id)
        self._last[key] = pending
        # One planning task per EVSE, which plans again while newer needs arrived meanwhile: a
        # station sending needs in a loop costs one SetChargingProfile at a time.
        running = self._inflight.get(key)
        if running is None or running.done():
            self._inflight[key] = self._spawn(self._send(ctx, key))
        return {"status": "Accepted"}

    async def renegotiate(self, station_id: str, evse_id: int) -> EvScheduleSent | None:
        """K16: plan again from the EV's last needs and send the TxProfile (None: no needs known
        for a running transaction there).

        Raises:
            StationNotConnected, CallTimeout, CallFailed, CallOutcomeUnknown, StationBusy.
        """
        pending = self._last.get((station_id, evse_id))
        if pending is None:
            return None
        if await self._transaction_on(station_id, evse_id) != pending.transaction_id:
            del self._last[(station_id, evse_id)]  # that transaction ended: its needs with it
            self._sent.pop((station_id, evse_id), None)
            return None
        return await self._plan_and_send(station_id, pending)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _send(self, ctx: CallContext, key: tuple[str, int]) -> None:
        sent: _Pending | None = None
        try:
            while (pending := self._last.get(key)) is not None and pending is not sent:
                sent = pending
                await self._plan_and_send(ctx.station_id, pending)
        except DomainError as exc:
            ctx.limited(logging.WARNING, "ev profile", "ISO 15118 TxProfile not set: %s", exc)
        finally:
            if self._inflight.get(key) is asyncio.current_task():
                del self._inflight[key]

    async def plan(self, station_id: str, needs: EvChargingNeeds) -> EvSchedulePlan:
        """The schedule for ``needs`` within the limits installed on its EVSE, from now."""
        now = self._clock().replace(microsecond=0)
        horizon = HORIZON
        if needs.departure_time is not None and needs.departure_time > now:
            horizon = min(MAX_HORIZON, int((needs.departure_time - now).total_seconds()))
        limits = await self._commands.expected_schedule(
            station_id,
            needs.evse_id,
            start=now,
            duration=max(1, horizon),
            charging_rate_unit=needs.unit,
        )
        return plan_schedule(needs, limits)

    async def _plan_and_send(self, station_id: str, pending: _Pending) -> EvScheduleSent:
        needs = pending.needs
        plan = await self.plan(station_id, needs)
        profile = ChargingProfile(
            id=PROFILE_ID_BASE + needs.evse_id,
            stack_level=self._stack_level,
            purpose=ChargingProfilePurpose.TX,
            kind=ChargingProfileKind.ABSOLUTE,
            schedule=plan.schedule,
            transaction_id=pending.transaction_id,
        )
        key = (station_id, needs.evse_id)
        self._sent[key] = profile.schedule
        try:
            status = await self._commands.set_charging_profile(station_id, needs.evse_id, profile)
        except BaseException:
            self._sent.pop(key, None)
            raise
        if status is not ChargingProfileStatus.ACCEPTED:
            self._sent.pop(key, None)
        logger.info(
            "[%s] ISO 15118 TxProfile for transaction %s on EVSE %d: %s (%d periods, %.0f Wh%s)",
            station_id,
            pending.transaction_id,
            needs.evse_id,
            status.value,
            len(plan.schedule.periods),
            plan.energy_wh,
            "" if plan.meets_energy else f" of the {needs.energy_amount_wh:.0f} Wh asked",
        )
        return EvScheduleSent(pending.transaction_id, profile, plan, status)

    async def ev_schedule(self, ctx: CallContext, payload: Payload) -> Payload:
        """K15.FR.11 / K17.FR.11: Accepted when the EV's schedule stays within csms's TxProfile."""
        evse_id: int = payload["evseId"]
        sent = await self._sent_schedule(ctx.station_id, evse_id)
        if sent is None:
            return {"status": "Accepted"}
        ev = payload["chargingSchedule"]
        periods = [
            (p["startPeriod"], float(p.get("limit", 0.0)), p.get("numberPhases"))
            for p in ev.get("chargingSchedulePeriod", ())
        ]
        if not periods:
            return {"status": "Accepted"}
        received = self._clock()
        time_base = station_time(payload["timeBase"], received)
        excess = exceeds(sent, time_base, periods, ChargingRateUnit(ev["chargingRateUnit"]))
        if excess is None:
            return {"status": "Accepted"}
        info = (
            f"asks {excess.asked:g} {sent.charging_rate_unit.value} at "
            f"{excess.start.isoformat()}, allowed {excess.allowed:g}"
        )
        ctx.limited(
            logging.INFO,
            "ev schedule refused",
            "NotifyEVChargingSchedule Rejected on EVSE %d: %s",
            evse_id,
            info,
        )
        return _status("Rejected", "InvalidSchedule", info)

    async def _sent_schedule(self, station_id: str, evse_id: int) -> ChargingSchedule | None:
        sent = self._sent.get((station_id, evse_id))
        if sent is not None:
            return sent
        for installed in await self._profiles.installed(station_id):
            if installed.evse_id == evse_id and installed.profile.id == PROFILE_ID_BASE + evse_id:
                return installed.profile.schedule
        return None

    async def drain(self) -> None:
        """Wait for the SetChargingProfile tasks running now (tests, orderly shutdown)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def aclose(self) -> None:
        """Cancel the SetChargingProfile tasks still running and wait for them."""
        for task in self._tasks:
            task.cancel()
        await self.drain()


def _status(status: str, reason: str, info: str) -> Payload:
    return {"status": status, "statusInfo": {"reasonCode": reason, "additionalInfo": info}}
