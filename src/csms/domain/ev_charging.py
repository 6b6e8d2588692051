"""An ISO 15118 EV's charging needs and the schedule csms answers them with (2.0.1 K15–K17).

Pure functions, no I/O. The station forwards the EV's needs in NotifyEVChargingNeeds (K15.FR.01):
the energy transfer it asks for, the energy it wants, by when (``departureTime``) and its limits.
csms answers with a TxProfile for the running transaction (K15.FR.03) whose schedule:

* stays within the limits in force on the EVSE (the composite of the installed
  ChargingStationMaxProfile / TxDefaultProfile, :mod:`csms.domain.composite`) and within the
  EV's own maximum (evMaxCurrent for AC; evMaxPower, else evMaxCurrent × evMaxVoltage for DC);
* *levels* the load (ISO 15118-1 E1/E4 "load leveling"): the lowest constant rate, capped by the
  limits above at each instant, that delivers the EV's energy amount by its departure time; never
  below the EV's minimum current (a lower rate would not charge it); when the energy cannot be
  delivered in time, or no departure time is given, the maximum the limits allow;
* has at most ``maxScheduleTuples`` periods (K15: the EV supports no more), adjacent periods merged
  at the lower limit so the schedule never exceeds a limit.

AC schedules are in A per phase with the phases of ``requestedEnergyTransfer``; DC ones in W.
The EV's own schedule (NotifyEVChargingSchedule, K15.FR.10) is then checked against the one csms
sent (K15.FR.11): :func:`exceeds` names where it asks for more.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from csms.domain.composite import DEFAULT_VOLTAGE, CompositeSchedule, convert
from csms.domain.smartcharging import ChargingRateUnit, ChargingSchedule, ChargingSchedulePeriod

__all__ = [
    "MAX_PERIODS",
    "EvChargingNeeds",
    "EvSchedulePlan",
    "Excess",
    "NeedsError",
    "exceeds",
    "parse_needs",
    "plan_schedule",
]

MAX_PERIODS = 1024  # chargingSchedulePeriod maxItems (2.0.1 / 2.1 schemas)
_AC_PHASES = {"AC_single_phase": 1, "AC_two_phase": 2, "AC_three_phase": 3}


class NeedsError(ValueError):
    """Charging needs csms cannot plan for (the reason goes to statusInfo.additionalInfo)."""


@dataclass(frozen=True, slots=True)
class EvChargingNeeds:
    """What NotifyEVChargingNeeds says, in csms's terms (2.0.1 ChargingNeedsType; 2.1 adds
    ``v2xChargingParameters``, read for maxChargePower / maxChargeCurrent / minChargeCurrent /
    evTargetEnergyRequest where the AC/DC parameters lack them)."""

    evse_id: int
    energy_transfer: str  # requestedEnergyTransfer
    departure_time: datetime | None
    energy_amount_wh: float | None
    max_rate: float  # in ``unit``: A per phase (AC) or W (DC)
    min_rate: float | None  # the EV's minimum current (AC)
    unit: ChargingRateUnit
    phases: int | None  # AC only
    max_schedule_tuples: int | None


@dataclass(frozen=True, slots=True)
class EvSchedulePlan:
    """The schedule for the EV and what it delivers by the departure time (or the horizon)."""

    schedule: ChargingSchedule
    energy_wh: float
    meets_energy: bool  # True also when the EV asked for no amount


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def parse_needs(
    payload: dict[str, object], departure_time: datetime | None, *, voltage: float = DEFAULT_VOLTAGE
) -> EvChargingNeeds:
    """Read a (schema-valid) NotifyEVChargingNeeds request of 2.0.1 or 2.1.

    Raises:
        NeedsError: no maximum rate for the requested energy transfer among its parameters
            (AC: evMaxCurrent; DC: evMaxPower or evMaxCurrent × evMaxVoltage; 2.1 also
            v2xChargingParameters), or a transfer csms plans nothing for (2.1 WPT).
    """
    needs = payload["chargingNeeds"]
    assert isinstance(needs, dict)
    transfer = str(needs["requestedEnergyTransfer"])
    ac, dc, v2x = (
        needs.get(k)
        for k in ("acChargingParameters", "dcChargingParameters", "v2xChargingParameters")
    )
    v2x = v2x if isinstance(v2x, dict) else {}
    tuples = payload.get("maxScheduleTuples")
    max_tuples = tuples if isinstance(tuples, int) and tuples > 0 else None
    evse_id = payload["evseId"]
    assert isinstance(evse_id, int)
    phases = _AC_PHASES.get(transfer) or (3 if transfer.startswith("AC") else None)
    if phases is not None:  # 2.1 AC_BPT, AC_DER...: three phases assumed
        ac_params = ac if isinstance(ac, dict) else {}
        max_rate = _number(ac_params.get("evMaxCurrent"))
        if max_rate is None:
            max_rate = _number(v2x.get("maxChargeCurrent"))
        if max_rate is None and (power := _number(v2x.get("maxChargePower"))) is not None:
            max_rate = round(power / (voltage * phases), 1)
        if max_rate is None or max_rate <= 0:
            raise NeedsError(
                f"{transfer} without acChargingParameters.evMaxCurrent (or 2.1 "
                "v2xChargingParameters.maxChargeCurrent/maxChargePower) > 0"
            )
        energy = _number(ac_params.get("energyAmount"))
        if energy is None:
            energy = _number(v2x.get("evTargetEnergyRequest"))
        minimum = _number(ac_params.get("evMinCurrent"))
        if minimum is None:
            minimum = _number(v2x.get("minChargeCurrent"))
        return EvChargingNeeds(
            evse_id,
            transfer,
            departure_time,
            energy,
            max_rate,
            minimum,
            ChargingRateUnit.A,
            phases,
            max_tuples,
        )
    if transfer.startswith("DC"):
        params = dc if isinstance(dc, dict) else None
        power = _number(params.get("evMaxPower")) if params else None
        if power is None:
            power = _number(v2x.get("maxChargePower"))
        if power is None and params is not None:
            current, volts = (
                _number(params.get("evMaxCurrent")),
                _number(params.get("evMaxVoltage")),
            )
            if current is not None and volts is not None:
                power = current * volts
        if power is None or power <= 0:
            raise NeedsError(f"{transfer} without dcChargingParameters (evMaxPower or current)")
        energy = _number(params.get("energyAmount")) if params else None
        if energy is None:
            energy = _number(v2x.get("evTargetEnergyRequest"))
        return EvChargingNeeds(
            evse_id,
            transfer,
            departure_time,
            energy,
            power,
            None,
            ChargingRateUnit.W,
            None,
            max_tuples,
        )
    raise NeedsError(f"csms plans no schedule for requestedEnergyTransfer {transfer}")


def _watts(rate: float, needs: EvChargingNeeds, voltage: float) -> float:
    if needs.unit is ChargingRateUnit.W:
        return rate
    return rate * voltage * (needs.phases or 3)


@dataclass(frozen=True, slots=True)
class _Span:
    start: int
    end: int
    cap: float  # the most the EV may draw then, in the needs' unit


def _in_unit(
    limit: float, unit: ChargingRateUnit, phases: int | None, needs: EvChargingNeeds, voltage: float
) -> float:
    """A composite limit in the needs' unit (W shared by the EV's phases when converting to A)."""
    if unit is needs.unit:
        return limit
    if needs.unit is ChargingRateUnit.A:
        return limit / (voltage * (needs.phases or 3))
    return convert(limit, unit, needs.unit, phases, voltage=voltage)


def _spans(limits: CompositeSchedule, needs: EvChargingNeeds, voltage: float) -> list[_Span]:
    spans = []
    periods = limits.periods
    for i, period in enumerate(periods):
        end = periods[i + 1].start_period if i + 1 < len(periods) else limits.duration
        cap = needs.max_rate
        if period.limit is not None:
            cap = min(
                cap,
                _in_unit(
                    period.limit, limits.charging_rate_unit, period.number_phases, needs, voltage
                ),
            )
        if end > period.start_period:
            spans.append(_Span(period.start_period, end, max(0.0, math.floor(cap * 10) / 10)))
    return spans


def _energy(spans: Sequence[_Span], level: float, needs: EvChargingNeeds, voltage: float) -> float:
    return sum(_watts(min(level, s.cap), needs, voltage) * (s.end - s.start) / 3600 for s in spans)


def _level(spans: Sequence[_Span], needs: EvChargingNeeds, voltage: float) -> float:
    """The lowest rate (0.1 steps) that delivers the energy amount, else the highest cap."""
    top = max((s.cap for s in spans), default=0.0)
    wanted = needs.energy_amount_wh
    if (
        wanted is None
        or needs.departure_time is None
        or _energy(spans, top, needs, voltage) <= wanted
    ):
        return top
    low, high = 0.0, top
    for _ in range(60):
        middle = (low + high) / 2
        if _energy(spans, middle, needs, voltage) >= wanted:
            high = middle
        else:
            low = middle
    level = math.ceil(high * 10 - 1e-6) / 10
    if needs.min_rate is not None:
        level = max(level, needs.min_rate)
    return min(level, top)


def _merge(periods: list[ChargingSchedulePeriod], most: int) -> list[ChargingSchedulePeriod]:
    """At most ``most`` periods: merge the adjacent pair closest in limit, at the lower limit."""
    while len(periods) > most:
        i = min(range(len(periods) - 1), key=lambda k: abs(periods[k].limit - periods[k + 1].limit))
        low = min(periods[i].limit, periods[i + 1].limit)
        periods[i : i + 2] = [ChargingSchedulePeriod(periods[i].start_period, low)]
    return periods


def plan_schedule(
    needs: EvChargingNeeds,
    limits: CompositeSchedule,
    *,
    schedule_id: int = 1,
    voltage: float = DEFAULT_VOLTAGE,
) -> EvSchedulePlan:
    """The schedule answering ``needs`` within ``limits`` (the composite of the EVSE from now, in
    any unit, over the horizon: until the departure time when the EV gave one); see module."""
    spans = _spans(limits, needs, voltage)
    level = _level(spans, needs, voltage)
    periods: list[ChargingSchedulePeriod] = []
    for span in spans:
        rate = min(level, span.cap)
        if periods and periods[-1].limit == rate:
            continue
        periods.append(ChargingSchedulePeriod(span.start, rate))
    if not periods:
        periods.append(ChargingSchedulePeriod(0, 0.0))
    periods = _merge(periods, min(needs.max_schedule_tuples or MAX_PERIODS, MAX_PERIODS))
    schedule = ChargingSchedule(
        charging_rate_unit=needs.unit,
        periods=tuple(periods),
        duration=limits.duration,
        start_schedule=limits.start,
        min_charging_rate=needs.min_rate,
        id=schedule_id,
    )
    delivered = _delivered(schedule, needs, voltage)
    wanted = needs.energy_amount_wh
    return EvSchedulePlan(schedule, delivered, wanted is None or delivered + 1e-6 >= wanted)


def _delivered(schedule: ChargingSchedule, needs: EvChargingNeeds, voltage: float) -> float:
    periods, end = schedule.periods, schedule.duration or 0
    total = 0.0
    for i, period in enumerate(periods):
        until = periods[i + 1].start_period if i + 1 < len(periods) else end
        total += _watts(period.limit, needs, voltage) * max(0, until - period.start_period) / 3600
    return total


@dataclass(frozen=True, slots=True)
class Excess:
    """Where the EV's schedule asks for more than csms's schedule allows."""

    start: datetime
    allowed: float
    asked: float


def exceeds(
    sent: ChargingSchedule,
    time_base: datetime,
    ev_periods: Sequence[tuple[int, float, int | None]],
    ev_unit: ChargingRateUnit,
    *,
    tolerance: float = 0.1,
    voltage: float = DEFAULT_VOLTAGE,
) -> Excess | None:
    """The first instant the EV's schedule (periods (startPeriod, limit, numberPhases) from
    ``time_base``) asks for more than ``sent`` allows (K15.FR.11), or None when it stays within
    it. Only the sent schedule's span is checked (before and after it other profiles apply)."""
    assert sent.start_schedule is not None and ev_periods
    base = sent.start_schedule
    shift = (time_base - base).total_seconds()
    end = float(sent.duration) if sent.duration is not None else math.inf
    points = {max(0.0, shift + start) for start, _, _ in ev_periods}
    points.update(float(p.start_period) for p in sent.periods)
    for at in sorted(p for p in points if p < end):
        current = None
        for start, limit, phases in ev_periods:
            if shift + start > at:
                break
            current = (limit, phases)
        if current is None:
            continue
        asked = convert(current[0], ev_unit, sent.charging_rate_unit, current[1], voltage=voltage)
        allowed = _limit_at(sent, at)
        if asked > allowed + tolerance:
            return Excess(base + timedelta(seconds=at), allowed, asked)
    return None


def _limit_at(schedule: ChargingSchedule, offset: float) -> float:
    found = schedule.periods[0].limit
    for period in schedule.periods:
        if period.start_period > offset:
            break
        found = period.limit
    return found
