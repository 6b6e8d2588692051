"""The composite schedule csms expects a station to apply, and how it compares with the station's.

Pure functions over installed profiles (1.6 §3.13.1–3.13.3, §5.7, §7.8–7.14 with errata 3.7/3.8):

* **Selection** for an EVSE (1.6 connector) N > 0: ChargingStationMaxProfiles installed on 0;
  TxDefaultProfiles installed on N, and those on 0 whose stackLevel N does not have (a profile for
  N "replaces" the station-wide one for that connector only, §3.13.1); TxProfiles on N, only while a
  transaction runs there and, when the profile names a transactionId, only for that transaction.
  For N = 0 only the ChargingStationMaxProfiles count: the limit on the grid connection.
* **Stacking** (§3.13.2): within a purpose, at each instant the profile with the highest
  stackLevel among those *active* then prevails. Active means within validFrom/validTo and within
  its schedule's duration, so a profile whose duration has run out falls back to lower levels
  (errata 3.7: without a duration the highest level never falls back).
* **Combining** (§3.13.3): the TxProfile prevails over the TxDefaultProfile while it is active; the
  result is capped by the ChargingStationMaxProfile: the minimum of the two at every instant.
* **Schedule start**: Absolute → startSchedule, else validFrom, else the transaction start, else the
  requested start; Relative → the transaction start, else the requested start (no transaction:
  "now", as for a GetCompositeSchedule without a transaction); Recurring → startSchedule (else
  validFrom, else the requested start) plus whole days (Daily) or weeks (Weekly), never before the
  first start. A recurring schedule's duration is capped at its recurrence period.
* **Periods** (§5.16.4): a period lasts until the next one starts; the last one lasts until the
  duration ends, or for ever without one.
* **Units** (§7.12): W is the total power, A the current per phase. Converting uses
  ``W = A × voltage × phases`` with the period's numberPhases (3 when absent, §7.12) and the nominal
  phase voltage ``voltage`` (default 230 V; the spec says to use "the set voltage for the area",
  not a measured one). Converted limits are rounded to 0.1, the precision 1.6 payloads carry.

Times are whole seconds from the requested start (sub-second parts of profile times are rounded up).
An interval no profile limits has limit None: a station reports its own hardware limit there,
which :func:`compare` reports as a difference for the caller to judge.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from csms.domain.smartcharging import (
    ChargingProfile,
    ChargingProfileKind,
    ChargingProfilePurpose,
    ChargingRateUnit,
    RecurrencyKind,
)

__all__ = [
    "DEFAULT_PHASES",
    "DEFAULT_VOLTAGE",
    "CompositePeriod",
    "CompositeSchedule",
    "ScheduleComparison",
    "ScheduleDifference",
    "compare",
    "composite_schedule",
    "convert",
]

DEFAULT_VOLTAGE = 230.0  # nominal phase voltage (1.6 §7.12 "230 or 110 volt")
DEFAULT_PHASES = 3  # numberPhases when absent (1.6 §7.12)
_RECURRENCE_S = {RecurrencyKind.DAILY: 86_400, RecurrencyKind.WEEKLY: 7 * 86_400}
_INF = math.inf


@dataclass(frozen=True, slots=True)
class CompositePeriod:
    """A limit from ``start_period`` seconds after the schedule's start until the next period."""

    start_period: int
    limit: float | None  # None: no profile limits this interval
    number_phases: int | None = None


@dataclass(frozen=True, slots=True)
class CompositeSchedule:
    """A composite schedule (1.6 GetCompositeSchedule.conf; 2.x CompositeScheduleType)."""

    evse_id: int
    start: datetime
    duration: int
    charging_rate_unit: ChargingRateUnit
    periods: tuple[CompositePeriod, ...]

    def period_at(self, offset: float) -> CompositePeriod | None:
        """The period in force ``offset`` seconds after the start (None outside the schedule)."""
        if not 0 <= offset < self.duration:
            return None
        found = None
        for period in self.periods:
            if period.start_period > offset:
                break
            found = period
        return found


@dataclass(frozen=True, slots=True)
class ScheduleDifference:
    """An interval in which the station's limit differs from the expected one."""

    start: datetime
    end: datetime
    expected: float | None
    reported: float | None


@dataclass(frozen=True, slots=True)
class ScheduleComparison:
    """The result of :func:`compare`, in the expected schedule's unit."""

    charging_rate_unit: ChargingRateUnit
    differences: tuple[ScheduleDifference, ...]

    @property
    def matches(self) -> bool:
        """True if the station's schedule equals the expected one within the tolerance."""
        return not self.differences


@dataclass(frozen=True, slots=True)
class _Segment:
    """A profile's limit over [start, end) seconds from the requested start."""

    start: float
    end: float
    limit: float
    phases: int | None
    unit: ChargingRateUnit


@dataclass(frozen=True, slots=True)
class _Candidate:
    stack_level: int
    rank: int  # breaks stackLevel ties: an EVSE's own profile over the station-wide one
    profile_id: int
    segments: tuple[_Segment, ...]


def convert(
    limit: float,
    source: ChargingRateUnit,
    target: ChargingRateUnit,
    phases: int | None,
    *,
    voltage: float = DEFAULT_VOLTAGE,
) -> float:
    """Convert a limit between A (per phase) and W (total), rounded to 0.1 (1.6 §7.12)."""
    if source is target:
        return limit
    factor = voltage * (phases or DEFAULT_PHASES)
    value = limit * factor if target is ChargingRateUnit.W else limit / factor
    return round(value, 1)


def _offset(moment: datetime, start: datetime) -> float:
    return float(math.ceil((moment - start).total_seconds()))


def _anchor(
    profile: ChargingProfile, start: datetime, transaction_start: datetime | None
) -> datetime:
    schedule = profile.schedule
    if profile.kind is ChargingProfileKind.RELATIVE:
        return transaction_start or start
    if profile.kind is ChargingProfileKind.RECURRING:
        return schedule.start_schedule or profile.valid_from or start
    return schedule.start_schedule or profile.valid_from or transaction_start or start


def _segments(
    profile: ChargingProfile,
    start: datetime,
    duration: int,
    transaction_start: datetime | None,
) -> tuple[_Segment, ...]:
    """Where and how much ``profile`` limits within [0, duration), ignoring other profiles."""
    schedule = profile.schedule
    low = max(0.0, _offset(profile.valid_from, start) if profile.valid_from else 0.0)
    high = min(float(duration), _offset(profile.valid_to, start) if profile.valid_to else _INF)
    if low >= high:
        return ()
    anchor = _offset(_anchor(profile, start, transaction_start), start)
    length = float(schedule.duration) if schedule.duration is not None else _INF
    occurrences: Iterable[float] = (anchor,)
    if profile.recurrency_kind is not None:
        every = _RECURRENCE_S[profile.recurrency_kind]
        length = min(length, float(every))
        first = max(0, math.floor((low - anchor) / every))
        last = math.floor((high - anchor) / every)
        occurrences = (anchor + k * every for k in range(first, last + 1))
    segments = []
    periods = schedule.periods
    for origin in occurrences:
        for i, period in enumerate(periods):
            begin = origin + period.start_period
            end = origin + (periods[i + 1].start_period if i + 1 < len(periods) else _INF)
            begin, end = max(begin, low), min(end, origin + length, high)
            if begin < end:
                segments.append(
                    _Segment(
                        begin, end, period.limit, period.number_phases, schedule.charging_rate_unit
                    )
                )
    return tuple(segments)


def _prevailing(candidates: Sequence[_Candidate], at: float) -> _Segment | None:
    """The segment of the highest-stackLevel candidate active at ``at`` (1.6 §3.13.2)."""
    best: tuple[int, int, int] | None = None
    found = None
    for candidate in candidates:
        key = (candidate.stack_level, candidate.rank, candidate.profile_id)
        if best is not None and key <= best:
            continue
        for segment in candidate.segments:
            if segment.start <= at < segment.end:
                best, found = key, segment
                break
    return found


def _select(
    profiles: Iterable[tuple[int, ChargingProfile]],
    evse_id: int,
    transaction_id: str | None,
    has_transaction: bool,
) -> dict[ChargingProfilePurpose, list[tuple[int, ChargingProfile]]]:
    """The profiles that apply to ``evse_id``, by purpose, with their tie-break rank."""
    chosen: dict[ChargingProfilePurpose, list[tuple[int, ChargingProfile]]] = {
        purpose: [] for purpose in ChargingProfilePurpose
    }
    station_defaults = []
    for installed_on, profile in profiles:
        purpose = profile.purpose
        if purpose is ChargingProfilePurpose.STATION_MAX:
            if installed_on == 0:
                chosen[purpose].append((0, profile))
        elif evse_id == 0:
            continue
        elif purpose is ChargingProfilePurpose.TX_DEFAULT:
            if installed_on == evse_id:
                chosen[purpose].append((1, profile))
            elif installed_on == 0:
                station_defaults.append(profile)
        elif (
            installed_on == evse_id
            and has_transaction
            and profile.transaction_id in (None, transaction_id)
        ):
            chosen[purpose].append((1, profile))
    own_levels = {p.stack_level for _, p in chosen[ChargingProfilePurpose.TX_DEFAULT]}
    chosen[ChargingProfilePurpose.TX_DEFAULT].extend(
        (0, p) for p in station_defaults if p.stack_level not in own_levels
    )
    return chosen


def composite_schedule(
    profiles: Iterable[tuple[int, ChargingProfile]],
    *,
    evse_id: int,
    start: datetime,
    duration: int,
    charging_rate_unit: ChargingRateUnit | None = None,
    transaction_start: datetime | None = None,
    transaction_id: str | None = None,
    voltage: float = DEFAULT_VOLTAGE,
) -> CompositeSchedule:
    """Compute the composite schedule of ``evse_id`` over [start, start + duration).

    Args:
        profiles: the installed profiles as (evse_id they were set on, profile).
        evse_id: the EVSE (1.6 connector) asked about; 0 for the station's grid connection.
        start: the start of the schedule (GetCompositeSchedule: when the station got the request).
        duration: its length in seconds.
        charging_rate_unit: the unit wanted; None → the unit of the first profile that applies
            (TxProfile, TxDefaultProfile, ChargingStationMaxProfile), else A.
        transaction_start: when the transaction on ``evse_id`` started; None: no transaction (then
            no TxProfile applies).
        transaction_id: that transaction's id, matched against a TxProfile's transactionId.
        voltage: the nominal phase voltage for A ↔ W conversion.
    """
    if duration < 0:
        raise ValueError("duration must be >= 0")
    has_transaction = transaction_start is not None or transaction_id is not None
    chosen = _select(profiles, evse_id, transaction_id, has_transaction)
    by_purpose: dict[ChargingProfilePurpose, list[_Candidate]] = {}
    breakpoints = {0.0, float(duration)}
    for purpose, ranked in chosen.items():
        candidates = []
        for rank, profile in ranked:
            segments = _segments(profile, start, duration, transaction_start)
            if segments:
                candidates.append(_Candidate(profile.stack_level, rank, profile.id, segments))
                for segment in segments:
                    breakpoints.update((segment.start, segment.end))
        by_purpose[purpose] = candidates
    unit = charging_rate_unit or _first_unit(chosen) or ChargingRateUnit.A
    periods: list[CompositePeriod] = []
    for at in sorted(b for b in breakpoints if 0 <= b < duration):
        tx = _prevailing(by_purpose[ChargingProfilePurpose.TX], at)
        if tx is None:
            tx = _prevailing(by_purpose[ChargingProfilePurpose.TX_DEFAULT], at)
        cap = _prevailing(by_purpose[ChargingProfilePurpose.STATION_MAX], at)
        limits = [
            (convert(s.limit, s.unit, unit, s.phases, voltage=voltage), s.phases)
            for s in (tx, cap)
            if s is not None
        ]
        limit, phases = min(limits, key=lambda lp: lp[0]) if limits else (None, None)
        if periods and periods[-1].limit == limit and periods[-1].number_phases == phases:
            continue
        periods.append(CompositePeriod(int(at), limit, phases))
    if not periods:  # duration 0
        periods.append(CompositePeriod(0, None))
    return CompositeSchedule(evse_id, start, duration, unit, tuple(periods))


def _first_unit(
    chosen: dict[ChargingProfilePurpose, list[tuple[int, ChargingProfile]]],
) -> ChargingRateUnit | None:
    for purpose in (
        ChargingProfilePurpose.TX,
        ChargingProfilePurpose.TX_DEFAULT,
        ChargingProfilePurpose.STATION_MAX,
    ):
        for _, profile in chosen[purpose]:
            return profile.schedule.charging_rate_unit
    return None


def compare(
    expected: CompositeSchedule,
    reported: CompositeSchedule,
    *,
    tolerance: float = 0.1,
    voltage: float = DEFAULT_VOLTAGE,
) -> ScheduleComparison:
    """Compare the station's composite schedule with the expected one where both are defined.

    The two are aligned on absolute time (a station starts its schedule when it got the request,
    slightly after csms computed its own). The station's limits are converted to the expected
    unit first; limits closer than ``tolerance`` are equal. Consecutive differing intervals with
    the same values are reported as one.
    """
    unit = expected.charging_rate_unit
    shift = _offset(reported.start, expected.start)
    low = max(0.0, shift)
    high = min(float(expected.duration), shift + reported.duration)
    points = {low, high}
    points.update(float(p.start_period) for p in expected.periods)
    points.update(shift + p.start_period for p in reported.periods)
    differences: list[ScheduleDifference] = []
    ordered = sorted(p for p in points if low <= p <= high)
    for begin, end in itertools.pairwise(ordered):
        mine = expected.period_at(begin)
        theirs = reported.period_at(begin - shift)
        want = mine.limit if mine else None
        got = None
        if theirs is not None and theirs.limit is not None:
            got = convert(
                theirs.limit,
                reported.charging_rate_unit,
                unit,
                theirs.number_phases,
                voltage=voltage,
            )
        if _same(want, got, tolerance):
            continue
        at, until = (expected.start + timedelta(seconds=s) for s in (begin, end))
        last = differences[-1] if differences else None
        if last and last.end == at and (last.expected, last.reported) == (want, got):
            differences[-1] = ScheduleDifference(last.start, until, want, got)
        else:
            differences.append(ScheduleDifference(at, until, want, got))
    return ScheduleComparison(unit, tuple(differences))


def _same(a: float | None, b: float | None, tolerance: float) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= tolerance + 1e-9
