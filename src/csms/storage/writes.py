"""Write requests and how a batch of them is applied in one database transaction.

Repositories turn each ``record_*`` call into a :class:`Write`; the group committer collects them
and calls :func:`apply_batch`. Rules:

* One statement per kind of write, executed with a list of parameter sets (executemany), so the
  cost of a batch grows with its rows, not with its round trips. The frequent kinds use
  :mod:`csms.storage.statements` (SQL compiled once, tuples, no per-row SQLAlchemy processing);
  operator changes and new stations are rare and use plain Core statements.
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
from operator import attrgetter
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import Boolean, String, bindparam, case, func, insert, or_, update
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Insert, Update

from csms.domain.model import (
    BootInfo,
    MeterValuesReport,
    RegistrationStatus,
    Station,
    StatusReport,
    TransactionEventReport,
)
from csms.domain.transactions import TransactionEventOutcome
from csms.storage.dialect import dialect_insert
from csms.storage.rows import (
    INSERT_METER_VALUES,
    STATION_FIELDS,
    STATUS_COLUMNS,
    STATUS_FIELDS,
    meter_tuples,
    station_row,
    status_tuple,
)
from csms.storage.statements import Prepared, codec
from csms.storage.tables import (
    boot_notifications,
    connection_events,
    connector_status,
    stations,
    status_history,
)
from csms.storage.transaction_log import record_transaction_events
from csms.storage.types import UtcDateTime

__all__ = [
    "CONNECTION_HISTORY",
    "AddStation",
    "BatchWrite",
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
    """A change for the group committer; ``R_co`` is what the submitter gets back.

    Nothing changes a write once made. The ``Record*`` writes, made for every message, are not
    frozen dataclasses only because a frozen dataclass's ``__init__`` costs four times as much.
    """

    __slots__ = ()


class BatchWrite(Write[R_co]):
    """A write kind defined in another module, which applies a batch of its own kind.

    Kinds of this sort run after the built-in ones, by ascending ``batch_order``. ``apply_all``
    gets the writes of its kind in submission order and returns one result per write.
    """

    __slots__ = ()
    batch_order: ClassVar[int] = 0

    @classmethod
    async def apply_all(cls, conn: AsyncConnection, writes: list[Any]) -> Sequence[object]:
        raise NotImplementedError


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


@dataclass(slots=True)
class RecordBoot(Write[None]):
    station_id: str
    boot: BootInfo
    status: RegistrationStatus
    at: datetime


@dataclass(slots=True)
class RecordConnection(Write[None]):
    station_id: str
    online: bool
    ocpp_version: str | None
    at: datetime
    reason: str | None = None  # a disconnect's: the WebSocket close code and reason


@dataclass(slots=True)
class RecordStatus(Write[None]):
    report: StatusReport
    received_at: datetime


@dataclass(slots=True)
class RecordMeterValues(Write[None]):
    report: MeterValuesReport
    received_at: datetime


@dataclass(slots=True)
class RecordTransactionEvent(Write[TransactionEventOutcome]):
    report: TransactionEventReport
    received_at: datetime
    refuse_concurrent: bool = True  # a Started with a token in another transaction: ConcurrentTx


_BOOT_FIELDS = tuple(f.name for f in dataclasses.fields(BootInfo))
# What a Boot says that the station row also keeps (all but the boot reason).
_STATION_BOOT_FIELDS = tuple(f for f in _BOOT_FIELDS if f in STATION_FIELDS)
_boot_values = attrgetter(*_BOOT_FIELDS)
_station_boot_values = attrgetter(*_STATION_BOOT_FIELDS)


def _boot_station_update(_dialect: Dialect) -> Update:
    # The station row keeps what the last Boot said; "accepted" is sticky (see Station.accepted).
    accepted = bindparam("b_accepted", type_=Boolean())
    return (
        update(stations)
        .where(stations.c.id == bindparam("b_id", type_=stations.c.id.type))
        .values(
            {
                name: bindparam(f"b_{name}", type_=stations.c[name].type)
                for name in _STATION_BOOT_FIELDS
            }
            | {
                "last_boot_at": bindparam("b_at", type_=UtcDateTime()),
                "accepted": or_(stations.c.accepted, accepted),
            }
        )
    )


_BOOT_STATION = Prepared(
    _boot_station_update,
    ("b_id", "b_at", "b_accepted", *(f"b_{name}" for name in _STATION_BOOT_FIELDS)),
)
_BOOT_HISTORY_COLUMNS = ("station_id", "status", "at", *_BOOT_FIELDS)
_BOOT_HISTORY = Prepared(
    lambda _: insert(boot_notifications), _BOOT_HISTORY_COLUMNS, column_keys=_BOOT_HISTORY_COLUMNS
)


def _connection_station_update(_dialect: Dialect) -> Update:
    online = bindparam("b_online", type_=Boolean())
    at = bindparam("b_at", type_=UtcDateTime())
    return (
        update(stations)
        .where(stations.c.id == bindparam("b_id", type_=stations.c.id.type))
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


_CONNECTION_STATION = Prepared(
    _connection_station_update, ("b_id", "b_online", "b_version", "b_at")
)
CONNECTION_HISTORY_COLUMNS = ("station_id", "online", "ocpp_version", "at", "reason")
CONNECTION_HISTORY = Prepared(
    lambda _: insert(connection_events),
    CONNECTION_HISTORY_COLUMNS,
    column_keys=CONNECTION_HISTORY_COLUMNS,
)

_STATUS_HISTORY = Prepared(
    lambda _: insert(status_history), STATUS_COLUMNS, column_keys=STATUS_COLUMNS
)
_CONNECTOR_STATUS_COLUMNS = (*STATUS_COLUMNS[:-1], "updated_at")


def _connector_status_upsert(dialect: Dialect) -> Insert:
    # Current state: the newest report per connector wins, by the station's timestamp, because
    # queued messages may arrive late (ocpp-rules §3.1); ties go to the later arrival.
    stmt = dialect_insert(dialect, connector_status)
    return stmt.on_conflict_do_update(
        index_elements=["station_id", "evse_id", "connector_id"],
        set_={name: stmt.excluded[name] for name in (*STATUS_FIELDS, "updated_at")},
        where=stmt.excluded.timestamp >= connector_status.c.timestamp,
    )


_CONNECTOR_STATUS = Prepared(
    _connector_status_upsert, _CONNECTOR_STATUS_COLUMNS, column_keys=_CONNECTOR_STATUS_COLUMNS
)


def _touch_update(_dialect: Dialect) -> Update:
    seen = bindparam("b_seen", type_=UtcDateTime())
    return (
        update(stations)
        .where(stations.c.id == bindparam("b_id", type_=stations.c.id.type))
        .where(or_(stations.c.last_seen_at.is_(None), stations.c.last_seen_at < seen))
        .values(last_seen_at=seen)
    )


_TOUCH = Prepared(_touch_update, ("b_id", "b_seen"))


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
    timestamp = codec(conn.dialect).timestamp
    station_rows = []
    history = []
    for w in writes:
        at = timestamp(w.at)
        station_rows.append(
            (
                w.station_id,
                at,
                w.status is RegistrationStatus.ACCEPTED,
                *_station_boot_values(w.boot),
            )
        )
        history.append((w.station_id, w.status.value, at, *_boot_values(w.boot)))
    await _BOOT_STATION.executemany(conn, station_rows)
    await _BOOT_HISTORY.executemany(conn, history)
    return [None] * len(writes)


async def _record_connections(conn: AsyncConnection, writes: list[RecordConnection]) -> list[None]:
    timestamp = codec(conn.dialect).timestamp
    station_rows = []
    history = []
    for w in writes:
        at = timestamp(w.at)
        station_rows.append((w.station_id, w.online, w.ocpp_version, at))
        history.append((w.station_id, w.online, w.ocpp_version, at, w.reason))
    await _CONNECTION_STATION.executemany(conn, station_rows)
    await CONNECTION_HISTORY.executemany(conn, history)
    return [None] * len(writes)


async def _record_meter_values(
    conn: AsyncConnection, writes: list[RecordMeterValues]
) -> list[None]:
    timestamp = codec(conn.dialect).timestamp
    rows: list[tuple[Any, ...]] = []
    for w in writes:
        report = w.report
        meter_tuples(
            rows,
            report.station_id,
            report.evse_id,
            report.transaction_id,
            report.samples,
            received_at=timestamp(w.received_at),
            timestamp=timestamp,
        )
    await INSERT_METER_VALUES.executemany(conn, rows)
    return [None] * len(writes)


async def _record_statuses(conn: AsyncConnection, writes: list[RecordStatus]) -> list[None]:
    timestamp = codec(conn.dialect).timestamp
    history = [status_tuple(w.report, timestamp(w.received_at), timestamp) for w in writes]
    await _STATUS_HISTORY.executemany(conn, history)
    # Current state: the newest report per connector (by the station's timestamp), ties to the
    # later arrival; the upsert's WHERE also keeps a newer state already stored.
    newest: dict[tuple[str, int, int], int] = {}
    for i, w in enumerate(writes):
        report = w.report
        key = (report.station_id, report.evse_id, report.connector_id)
        j = newest.get(key)
        if j is None or report.timestamp >= writes[j].report.timestamp:
            newest[key] = i
    await _CONNECTOR_STATUS.executemany(conn, [history[i] for i in newest.values()])
    return [None] * len(writes)


async def _record_touches(conn: AsyncConnection, touches: Mapping[str, datetime]) -> None:
    timestamp = codec(conn.dialect).timestamp
    await _TOUCH.executemany(conn, [(k, timestamp(v)) for k, v in touches.items()])


async def _record_transaction_events(
    conn: AsyncConnection, writes: list[RecordTransactionEvent]
) -> list[TransactionEventOutcome]:
    return await record_transaction_events(
        conn,
        [(w.report, w.received_at) for w in writes],
        refuse_concurrent=[w.refuse_concurrent for w in writes],
    )


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
    extra = sorted(
        (kind for kind in unknown if issubclass(kind, BatchWrite)), key=lambda k: k.batch_order
    )
    unknown = unknown.difference(extra)
    if unknown:
        raise TypeError(f"no batch step for {sorted(k.__name__ for k in unknown)}")
    results: list[object] = [None] * len(writes)
    for kind, step in (*_STEPS, *((kind, kind.apply_all) for kind in extra)):
        indexes = positions.get(kind)
        if indexes:
            outcomes = await step(conn, [writes[i] for i in indexes])
            for i, outcome in zip(indexes, outcomes, strict=True):
                results[i] = outcome
    if touches:
        await _record_touches(conn, touches)
    return results
