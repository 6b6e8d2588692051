"""What operators read about transactions and stations, one model for 1.6 and 2.x (issue 9).

1.6 transactions (the CSMS issued the id) and 2.x transactions (the station did) are stored in two
tables; the ledger lists them as one resource, newest first, paged by a keyset on
``(started_at, version, row id)`` rather than an offset, so a page deep in a million rows costs
what the first one does. A 2.x transaction whose Started event never arrived has no start time:
it sorts after every started one (the *tail*), by row id.

Meter series are downsampled here (sans I/O): the time range of a series is cut into ``points``
equal buckets and each bucket keeps its **last** sample, so a value shown is always a reading the
station sent (registers stay monotonic, signed meter data stays verifiable, verbatim).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from csms.domain.model import RegistrationStatus, Station
from csms.domain.transactions import Transaction

__all__ = [
    "Ledger",
    "LedgerEntry",
    "LedgerEvent",
    "LedgerKey",
    "LedgerVersion",
    "MeterPoint",
    "MeterQuery",
    "StationQuery",
    "StationSearch",
    "TransactionQuery",
    "downsample",
    "energy_so_far",
]


class LedgerVersion(enum.IntEnum):
    """Which table a transaction lives in; the value orders equal start times (2.x first)."""

    V16 = 0
    V2 = 1

    @property
    def label(self) -> str:
        return "1.6" if self is LedgerVersion.V16 else "2.x"


@dataclass(frozen=True, slots=True, order=True)
class LedgerKey:
    """A position in the listing (newest first). ``started_at`` None: the tail of 2.x
    transactions without a Started event."""

    started_at: datetime | None
    version: LedgerVersion
    row_id: int


@dataclass(frozen=True, slots=True)
class TransactionQuery:
    """Filters of the transaction listing; every one given must match."""

    station_id: str | None = None
    evse_id: int | None = None
    id_token: str | None = None  # 1.6 idTags compare case-insensitively (1.6 §7.28)
    started_from: datetime | None = None  # inclusive
    started_to: datetime | None = None  # exclusive
    open: bool | None = None  # True: not ended; False: ended
    stop_reason: str | None = None
    version: LedgerVersion | None = None

    @property
    def time_bounded(self) -> bool:
        return self.started_from is not None or self.started_to is not None


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One transaction with its place in the listing."""

    key: LedgerKey
    transaction: Transaction
    # 1.6 while open: the highest register reading so far (Wh), for the energy so far.
    register_wh: float | None = None


@dataclass(frozen=True, slots=True)
class LedgerEvent:
    """One message (or operator action) in a transaction's history."""

    kind: str  # 2.x eventType; 1.6 StartTransaction / MeterValues / StopTransaction; audit action
    timestamp: datetime
    seq_no: int | None = None
    trigger_reason: str | None = None
    offline: bool = False
    charging_state: str | None = None
    id_token: str | None = None
    stopped_reason: str | None = None
    evse_id: int | None = None
    connector_id: int | None = None
    meter_wh: int | None = None
    samples: int = 0  # meter samples it carried (1.6 MeterValues)
    operator: str | None = None  # audit records


@dataclass(frozen=True, slots=True)
class MeterQuery:
    """Which samples a meter series holds."""

    station_id: str
    transaction_id: str | None = None  # the OCPP transactionId (1.6 as decimal text)
    evse_id: int | None = None
    measurands: frozenset[str] = frozenset()  # empty: all
    phases: frozenset[str] = frozenset()  # empty: all; "none" matches samples without a phase
    start: datetime | None = None  # inclusive
    end: datetime | None = None  # exclusive


@dataclass(frozen=True, slots=True)
class MeterPoint:
    """One sampled value as stored; ``raw_value`` and ``signed_data`` are verbatim."""

    timestamp: datetime
    measurand: str
    phase: str | None
    unit: str | None
    context: str | None
    location: str | None
    value: float | None
    raw_value: str
    signed_data: str | None
    transaction_id: str | None = None
    evse_id: int | None = None
    bucket_samples: int = 1  # how many samples of its bucket this one stands for


@dataclass(frozen=True, slots=True)
class StationQuery:
    """Filters of the station listing."""

    registration_status: RegistrationStatus | None = None
    online: bool | None = None  # the stored flag (what the server recorded last)
    ocpp_version: str | None = None
    status: str | None = None  # any connector (or the station, EVSE 0) reports it
    q: str | None = None  # substring of id, vendor, model or serial number, case-insensitive
    include_decommissioned: bool = False


@dataclass(frozen=True, slots=True)
class StationSearch:
    """A page of stations (ordered by id) and how many match in all."""

    stations: Sequence[Station]
    total: int
    more: bool = False


@dataclass(frozen=True, slots=True)
class _Series:
    points: list[MeterPoint] = field(default_factory=list)


class Ledger(Protocol):
    """What operators list and read: transactions, meter values, stations (implemented by
    ``csms.storage``)."""

    async def page(
        self, query: TransactionQuery, *, after: LedgerKey | None, limit: int
    ) -> Sequence[LedgerEntry]:
        """Up to ``limit`` transactions after ``after`` (newest first)."""
        ...

    async def count(self, query: TransactionQuery) -> int:
        """How many transactions match (a full count: not cheap on big tables)."""
        ...

    async def get(self, version: LedgerVersion, row_id: int) -> LedgerEntry | None:
        """One transaction by its table and row id."""
        ...

    async def events(self, entry: LedgerEntry, *, limit: int) -> Sequence[LedgerEvent]:
        """Its history, oldest first: 2.x TransactionEvents; 1.6 start, meter values, stop and
        operators' actions."""
        ...

    async def open_on(self, station_id: str) -> Sequence[LedgerEntry]:
        """The station's open transactions (what runs on each EVSE now)."""
        ...

    async def meter_values(self, query: MeterQuery, *, limit: int) -> Sequence[MeterPoint]:
        """Samples in time order, at most ``limit``."""
        ...


def downsample(points: Iterable[MeterPoint], buckets: int) -> list[MeterPoint]:
    """At most ``buckets`` points per series (measurand, phase, unit, location, context): the
    series' time range cut in ``buckets`` equal parts, the last sample of each part kept (and
    how many it stands for). Points must come in time order."""
    if buckets < 1:
        raise ValueError("buckets must be at least 1")
    series: dict[tuple[str, str | None, str | None, str | None, str | None], _Series] = {}
    for p in points:
        key = (p.measurand, p.phase, p.unit, p.location, p.context)
        series.setdefault(key, _Series()).points.append(p)
    out: list[MeterPoint] = []
    for s in series.values():
        out.extend(_last_per_bucket(s.points, buckets))
    out.sort(key=lambda p: p.timestamp)
    return out


def _last_per_bucket(points: list[MeterPoint], buckets: int) -> list[MeterPoint]:
    if len(points) <= buckets:
        return points
    first, last = points[0].timestamp, points[-1].timestamp
    span = (last - first).total_seconds()
    kept: dict[int, tuple[MeterPoint, int]] = {}
    for p in points:
        offset = (p.timestamp - first).total_seconds()
        index = min(buckets - 1, int(offset / span * buckets)) if span > 0 else 0
        count = kept[index][1] + 1 if index in kept else 1
        kept[index] = (p, count)
    return [_standing_for(p, n) for _, (p, n) in sorted(kept.items())]


def _standing_for(point: MeterPoint, samples: int) -> MeterPoint:
    if samples == point.bucket_samples:
        return point
    return MeterPoint(
        timestamp=point.timestamp,
        measurand=point.measurand,
        phase=point.phase,
        unit=point.unit,
        context=point.context,
        location=point.location,
        value=point.value,
        raw_value=point.raw_value,
        signed_data=point.signed_data,
        transaction_id=point.transaction_id,
        evse_id=point.evse_id,
        bucket_samples=samples,
    )


def energy_so_far(entry: LedgerEntry) -> int | None:
    """The energy of a transaction in Wh: the stored figure, or for an open 1.6 one the highest
    register reading so far minus meterStart (never negative)."""
    t = entry.transaction
    if t.energy_wh is not None or entry.register_wh is None or t.meter_start_wh is None:
        return t.energy_wh
    return max(0, int(entry.register_wh) - t.meter_start_wh)
