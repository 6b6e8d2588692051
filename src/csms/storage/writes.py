"""Write requests and how a batch of them is applied in one database transaction.

Repositories turn each ``record_*`` call into a :class:`Write`; the group committer collects them
and calls :func:`apply_batch`. Rules:

* One statement per kind of write, executed with a list of parameter sets (executemany), so the
  cost of a batch grows with its rows, not with its round trips.
* Kinds run in a fixed order that respects foreign keys and derived data: stations first, then
  updates to them, then transaction events (which decide which meter values are new), meter values,
  connector status, and last-seen times.
* Within a kind, parameter sets keep submission order, so two changes to one row apply in the order
  they were made (e.g. a disconnect then a reconnect in the same batch).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Boolean, String, bindparam, case, func, insert, or_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from csms.domain.model import (
    BootInfo,
    MeterValuesReport,
    RegistrationStatus,
    Station,
    StatusReport,
    TransactionEventReport,
)
from csms.storage.dialect import dialect_insert
from csms.storage.rows import STATION_FIELDS, STATUS_FIELDS, meter_rows, station_row
from csms.storage.tables import (
    boot_notifications,
    connection_events,
    connector_status,
    meter_values,
    stations,
    status_history,
)
from csms.storage.transaction_log import record_transaction_events
from csms.storage.types import UtcDateTime

__all__ = [
    "AddStation",
    "RecordBoot",
    "RecordConnection",
    "RecordMeterValues",
    "RecordStatus",
    "RecordTransactionEvent",
    "UpdateStation",
    "Write",
    "apply_batch",
]

R_co = TypeVar("R_co", covariant=True)


class Write(Generic[R_co]):
    """A change for the group committer; ``R_co`` is what the submitter gets back."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class AddStation(Write[None]):
    station: Station  # created_at already set


@dataclass(frozen=True, slots=True)
class UpdateStation(Write[bool]):  # False: no such station
    """An operator's change to some columns of a station (registration, password hash, ...)."""

    station_id: str
    values: Mapping[str, object]

    def __repr__(self) -> str:  # names only: a value may be a password hash
        return f"UpdateStation(station_id={self.station_id!r}, columns={sorted(self.values)})"


@dataclass(frozen=True, slots=True)
class RecordBoot(Write[None]):
    station_id: str
    boot: BootInfo
    status: RegistrationStatus
    at: datetime


@dataclass(frozen=True, slots=True)
class RecordConnection(Write[None]):
    station_id: str
    online: bool
    ocpp_version: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class RecordStatus(Write[None]):
    report: StatusReport
    received_at: datetime


@dataclass(frozen=True, slots=True)
class RecordMeterValues(Write[None]):
    report: MeterValuesReport
    received_at: datetime


@dataclass(frozen=True, slots=True)
class RecordTransactionEvent(Write[bool]):  # False: (station, transactionId, seqNo) seen before
    report: TransactionEventReport
    received_at: datetime


_BOOT_FIELDS = tuple(f.name for f in dataclasses.fields(BootInfo))
# What a Boot says that the station row also keeps (all but the boot reason).
_STATION_BOOT_FIELDS = tuple(f for f in _BOOT_FIELDS if f in STATION_FIELDS)


async def _add_stations(conn: AsyncConnection, writes: list[AddStation]) -> list[None]:
    await conn.execute(insert(stations), [station_row(w.station) for w in writes])
    return [None] * len(writes)


async def _update_stations(conn: AsyncConnection, writes: list[UpdateStation]) -> list[bool]:
    # One statement each: operator actions are rare, and each needs its own "found" answer.
    results = []
    for w in writes:
        stmt = update(stations).where(stations.c.id == w.station_id).values(dict(w.values))
        results.append((await conn.execute(stmt)).rowcount == 1)
    return results


async def _record_boots(conn: AsyncConnection, writes: list[RecordBoot]) -> list[None]:
    # The station row keeps what the last Boot said; "accepted" is sticky (see Station.accepted).
    accepted = bindparam("b_accepted", type_=Boolean())
    stmt = (
        update(stations)
        .where(stations.c.id == bindparam("b_id"))
        .values(
            {name: bindparam(f"b_{name}") for name in _STATION_BOOT_FIELDS}
            | {"last_boot_at": bindparam("b_at"), "accepted": or_(stations.c.accepted, accepted)}
        )
    )
    await conn.execute(
        stmt,
        [
            {
                "b_id": w.station_id,
                "b_at": w.at,
                "b_accepted": w.status is RegistrationStatus.ACCEPTED,
                **{f"b_{name}": getattr(w.boot, name) for name in _STATION_BOOT_FIELDS},
            }
            for w in writes
        ],
    )
    history = [
        {
            "station_id": w.station_id,
            "status": w.status.value,
            "at": w.at,
            **{name: getattr(w.boot, name) for name in _BOOT_FIELDS},
        }
        for w in writes
    ]
    await conn.execute(insert(boot_notifications), history)
    return [None] * len(writes)


async def _record_connections(conn: AsyncConnection, writes: list[RecordConnection]) -> list[None]:
    online = bindparam("b_online", type_=Boolean())
    at = bindparam("b_at", type_=UtcDateTime())
    stmt = (
        update(stations)
        .where(stations.c.id == bindparam("b_id"))
        .values(
            online=online,
            # A disconnect keeps the last negotiated version: reconnects without Boot need it
            # (ocpp-rules §3.3).
            ocpp_version=func.coalesce(
                bindparam("b_version", type_=String()), stations.c.ocpp_version
            ),
            connected_at=case((online, at), else_=stations.c.connected_at),
            disconnected_at=case((online, stations.c.disconnected_at), else_=at),
        )
    )
    await conn.execute(
        stmt,
        [
            {"b_id": w.station_id, "b_online": w.online, "b_version": w.ocpp_version, "b_at": w.at}
            for w in writes
        ],
    )
    history = [
        {"station_id": w.station_id, "online": w.online, "ocpp_version": w.ocpp_version, "at": w.at}
        for w in writes
    ]
    await conn.execute(insert(connection_events), history)
    return [None] * len(writes)


async def _record_meter_values(
    conn: AsyncConnection, writes: list[RecordMeterValues]
) -> list[None]:
    rows = [
        row
        for w in writes
        for row in meter_rows(
            w.report.station_id,
            w.report.evse_id,
            w.report.transaction_id,
            w.report.samples,
            w.received_at,
        )
    ]
    if rows:
        await conn.execute(insert(meter_values), rows)
    return [None] * len(writes)


async def _record_statuses(conn: AsyncConnection, writes: list[RecordStatus]) -> list[None]:
    history = [
        {
            "station_id": w.report.station_id,
            "evse_id": w.report.evse_id,
            "connector_id": w.report.connector_id,
            "received_at": w.received_at,
            **{name: getattr(w.report, name) for name in STATUS_FIELDS},
        }
        for w in writes
    ]
    await conn.execute(insert(status_history), history)
    # Current state: the newest report per connector wins, by the station's timestamp, because
    # queued messages may arrive late (ocpp-rules §3.1); ties go to the later arrival.
    current: dict[tuple[str, int, int], dict[str, Any]] = {}
    for row in history:
        key = (row["station_id"], row["evse_id"], row["connector_id"])
        if key not in current or row["timestamp"] >= current[key]["timestamp"]:
            current[key] = row
    stmt = dialect_insert(conn, connector_status)
    stmt = stmt.on_conflict_do_update(
        index_elements=["station_id", "evse_id", "connector_id"],
        set_={name: stmt.excluded[name] for name in (*STATUS_FIELDS, "updated_at")},
        where=stmt.excluded.timestamp >= connector_status.c.timestamp,
    )
    rows = [
        {k: v for k, v in row.items() if k != "received_at"} | {"updated_at": row["received_at"]}
        for row in current.values()
    ]
    await conn.execute(stmt, rows)
    return [None] * len(writes)


async def _record_touches(conn: AsyncConnection, touches: Mapping[str, datetime]) -> None:
    seen = bindparam("b_seen", type_=UtcDateTime())
    stmt = (
        update(stations)
        .where(stations.c.id == bindparam("b_id"))
        .where(or_(stations.c.last_seen_at.is_(None), stations.c.last_seen_at < seen))
        .values(last_seen_at=seen)
    )
    await conn.execute(stmt, [{"b_id": k, "b_seen": v} for k, v in touches.items()])


async def _record_transaction_events(
    conn: AsyncConnection, writes: list[RecordTransactionEvent]
) -> list[bool]:
    return await record_transaction_events(conn, [(w.report, w.received_at) for w in writes])


_Step = Callable[[AsyncConnection, list[Any]], Awaitable[Sequence[object]]]

# The order in which kinds are applied (see the module docstring).
_STEPS: tuple[tuple[type[Write[object]], _Step], ...] = (
    (AddStation, _add_stations),
    (UpdateStation, _update_stations),
    (RecordBoot, _record_boots),
    (RecordConnection, _record_connections),
    (RecordTransactionEvent, _record_transaction_events),
    (RecordMeterValues, _record_meter_values),
    (RecordStatus, _record_statuses),
)


async def apply_batch(
    conn: AsyncConnection, writes: Sequence[Write[object]], touches: Mapping[str, datetime]
) -> list[object]:
    """Apply ``writes`` and ``touches`` on ``conn`` (inside the caller's transaction).

    Returns:
        One result per write, in the order of ``writes``.
    """
    positions: dict[type[Write[object]], list[int]] = {}
    for i, write in enumerate(writes):
        positions.setdefault(type(write), []).append(i)
    unknown = positions.keys() - {kind for kind, _ in _STEPS}
    if unknown:
        raise TypeError(f"no batch step for {sorted(k.__name__ for k in unknown)}")
    results: list[object] = [None] * len(writes)
    for kind, step in _STEPS:
        indexes = positions.get(kind)
        if indexes:
            outcomes = await step(conn, [writes[i] for i in indexes])
            for i, outcome in zip(indexes, outcomes, strict=True):
                results[i] = outcome
    if touches:
        await _record_touches(conn, touches)
    return results
