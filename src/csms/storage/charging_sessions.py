"""1.6 StartTransaction and StopTransaction, applied a batch at a time.

Under load a batch holds the Starts and Stops of many stations; each costs a fixed number of
statements per batch, not a few per message (on SQLite every statement is a hop to the driver's
thread, on PostgreSQL a round trip). Messages are still applied *as if one after the other*, in
submission order: a token started twice in one batch is ConcurrentTx the second time, a Stop
closes a transaction a Start of the same batch opened, a retried Stop in the same batch is a
retry.

Start: the tokens of the batch are read at once (:class:`TokenView`), each new transaction's
idTag status computed, then one multi-row ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` per
chunk inserts them: the unique key (station, EVSE, idTag, timestamp, meterStart) decides which
are new, atomically, also against another csms process; a Start whose key exists is a retry and
gets the existing transactionId (ocpp-rules §3.1). Reservations are consumed one by one (rare).

Stop: the transactions named are read at once (``FOR UPDATE`` on PostgreSQL), the stops applied
in order in memory, then one executemany UPDATE and one executemany of the transactionData
samples. Unknown, -1 and other stations' ids are kept one by one (rare).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from typing import Any, ClassVar

from sqlalchemy import Select, bindparam, select, update
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import ReturningInsert

from csms.domain.model import MeterSample
from csms.domain.reservations import ReservationStatus
from csms.domain.tokens import AuthorizationStatus, IdTokenInfo, evaluate, token_key
from csms.domain.transactions import (
    RegisterMark,
    StartResult,
    StopOutcome,
    StopResult,
    TransactionAudit,
    TransactionFlag,
    TransactionStart,
    TransactionStop,
    check_registers,
    energy_wh,
    flags_text,
    in_future,
    parse_flags,
)
from csms.storage.charging_writes import (
    CSMS,
    OPERATOR,
    STATION,
    Unmatched,
    audit,
    keep_unmatched,
)
from csms.storage.dialect import dialect_insert
from csms.storage.rows import INSERT_METER_VALUES, meter_tuples
from csms.storage.statements import (
    Codec,
    Prepared,
    PreparedFamily,
    codec,
    power_of_two_chunks,
)
from csms.storage.tables_charging import reservations, transactions_v16
from csms.storage.token_view import TokenView
from csms.storage.writes import BatchWrite

__all__ = ["StartTransaction", "StopTransaction", "TokenView"]

_T = transactions_v16.c


# --- start ----------------------------------------------------------------------------------


@dataclass(slots=True)
class StartTransaction(BatchWrite[StartResult]):
    start: TransactionStart
    received_at: datetime
    batch_order: ClassVar[int] = 10

    @classmethod
    async def apply_all(cls, conn: AsyncConnection, writes: list[Any]) -> Sequence[object]:
        return await _start_all(conn, writes)


_START_COLUMNS = (
    "station_id",
    "evse_id",
    "connector_id",
    "id_tag",
    "id_tag_key",
    "id_tag_status",
    "meter_start",
    "started_at",
    "reservation_id",
    "flags",
    "register_wh",
    "register_at",
    "created_at",
    "updated_at",
)
_Key = tuple[str, int, str, Any, int]  # station, EVSE, idTag, started_at (converted), meterStart


def _insert_starts(dialect: Dialect, count: int) -> ReturningInsert[Any]:
    rows = [
        {name: bindparam(f"{name}__{i}", type_=_T[name].type) for name in _START_COLUMNS}
        for i in range(count)
    ]
    return (
        dialect_insert(dialect, transactions_v16)
        .values(rows)
        .on_conflict_do_nothing(
            index_elements=["station_id", "evse_id", "id_tag", "started_at", "meter_start"]
        )
        .returning(_T.id, _T.station_id, _T.evse_id, _T.id_tag, _T.started_at, _T.meter_start)
    )


_INSERT_STARTS = PreparedFamily(
    _insert_starts,
    len(_START_COLUMNS),
    lambda count: [f"{name}__{i}" for i in range(count) for name in _START_COLUMNS],
)


def _existing_start(_dialect: Dialect) -> Select[Any]:
    names = ("station_id", "evse_id", "id_tag", "started_at", "meter_start")
    return select(_T.id, _T.flags).where(
        *(_T[name] == bindparam(f"b_{name}", type_=_T[name].type) for name in names)
    )


_EXISTING_START = Prepared(
    _existing_start,
    ("b_station_id", "b_evse_id", "b_id_tag", "b_started_at", "b_meter_start"),
    for_executemany=False,
)


async def _start_all(conn: AsyncConnection, writes: list[StartTransaction]) -> list[StartResult]:
    timestamp = codec(conn.dialect).timestamp
    view = await TokenView.load(conn, (w.start.id_token for w in writes))
    keys: list[_Key] = []
    first: dict[_Key, int] = {}
    params: list[tuple[Any, ...]] = []
    flags: list[set[TransactionFlag]] = []
    claimed: set[str] = set()  # token keys a candidate of this batch already started with
    for i, w in enumerate(writes):
        s, now = w.start, w.received_at
        started = timestamp(s.timestamp)
        key = (s.station_id, s.evse_id, s.id_token, started, s.meter_start_wh)
        keys.append(key)
        flags.append({TransactionFlag.FUTURE_TIMESTAMP} if in_future(s.timestamp, now) else set())
        if key in first:
            continue
        first[key] = i
        # The status as if inserted now; discarded by ON CONFLICT for a retry.
        status = view.info(s.id_token, now)
        tag_key = token_key(s.id_token)
        if tag_key in claimed and status.status is AuthorizationStatus.ACCEPTED:
            status = evaluate(view.tokens.get(tag_key), now, in_other_transaction=True)
        claimed.add(tag_key)
        received = timestamp(now)
        params.append(
            (
                s.station_id, s.evse_id, s.connector_id, s.id_token, tag_key,
                status.status.value, s.meter_start_wh, started, s.reservation_id,
                flags_text(flags[i]), float(s.meter_start_wh), started, received, received,
            )
        )  # fmt: skip
    ids: dict[_Key, int] = {}
    for chunk in power_of_two_chunks(params):
        returned = await _INSERT_STARTS(len(chunk)).fetchall(conn, tuple(chain(*chunk)))
        for row in returned:
            ids[(row[1], int(row[2]), row[3], row[4], int(row[5]))] = int(row[0])
    results: dict[_Key, StartResult] = {}
    for key, i in first.items():
        w = writes[i]
        s, now = w.start, w.received_at
        # Equal datetimes hash alike, so PostgreSQL's returned timestamps match the keys too.
        transaction_id = ids.get(key)
        if transaction_id is None:  # a retry of a start stored before: the same transaction
            [(found_id, found_flags)] = await _EXISTING_START.fetchall(conn, key)
            transaction_id = int(found_id)
            info = view.info(s.id_token, now, exclude=transaction_id)
            results[key] = StartResult(transaction_id, info, True, parse_flags(found_flags))
            continue
        info = view.info(s.id_token, now)
        view.opened(s.id_token, transaction_id)
        if s.reservation_id is not None and not await _consume(conn, s, transaction_id, now):
            flags[i].add(TransactionFlag.RESERVATION_NOT_FOUND)
            await conn.execute(
                update(transactions_v16)
                .where(_T.id == transaction_id)
                .values(flags=flags_text(flags[i]))
            )
        results[key] = StartResult(transaction_id, info, False, frozenset(flags[i]))
    out = []
    for i, key in enumerate(keys):
        result = results[key]
        out.append(result if first[key] == i else _as_retry(result, view, writes[i]))
    return out


def _as_retry(result: StartResult, view: TokenView, w: StartTransaction) -> StartResult:
    info = view.info(w.start.id_token, w.received_at, exclude=result.transaction_id)
    return StartResult(result.transaction_id, info, True, result.flags)


async def _consume(
    conn: AsyncConnection, s: TransactionStart, transaction_id: int, now: datetime
) -> bool:
    """1.6 §4.8: the transaction ends the reservation it names, whatever its state (the station
    may have started offline, after the reservation expired here)."""
    r = reservations.c
    used = await conn.execute(
        update(reservations)
        .where(r.id == s.reservation_id, r.station_id == s.station_id, r.transaction_id.is_(None))
        .values(
            status=ReservationStatus.USED.value, transaction_id=str(transaction_id), updated_at=now
        )
    )
    return bool(used.rowcount == 1)


# --- stop -----------------------------------------------------------------------------------


@dataclass(slots=True)
class StopTransaction(BatchWrite[StopResult]):
    stop: TransactionStop
    received_at: datetime
    batch_order: ClassVar[int] = 20

    @classmethod
    async def apply_all(cls, conn: AsyncConnection, writes: list[Any]) -> Sequence[object]:
        return await _stop_all(conn, writes)


_STOP_READ = (
    "id", "station_id", "evse_id", "id_tag_key", "meter_start", "started_at", "closed_by",
    "energy_wh", "flags", "register_wh", "register_at",
)  # fmt: skip


def _select_for_stop(_dialect: Dialect, count: int) -> Select[Any]:
    return (
        select(*(_T[name] for name in _STOP_READ))
        .where(_T.id.in_([0] * count))  # placeholders only: rendered, never bound
        .with_for_update()
    )


_SELECT_FOR_STOP = PreparedFamily(_select_for_stop, 1)

_STOP_WRITE = (
    "ended_at", "meter_stop", "energy_wh", "stopped_reason", "stop_id_tag", "closed_by", "flags",
    "register_wh", "register_at", "updated_at",
)  # fmt: skip
_UPDATE_STOP = Prepared(
    lambda _: update(transactions_v16).where(_T.id == bindparam("b_id", type_=_T.id.type)),
    (*_STOP_WRITE, "b_id"),
    column_keys=_STOP_WRITE,
)


@dataclass(slots=True)
class _Open:
    """A transaction's row while the batch's stops are applied to it."""

    station_id: str
    evse_id: int
    id_tag_key: str
    meter_start: int
    started_at: datetime
    closed_by: str | None
    energy_wh: int | None
    flags: frozenset[TransactionFlag]
    mark: RegisterMark
    update: tuple[Any, ...] | None = None  # the _STOP_WRITE values, once a stop applied


async def _load_for_stop(conn: AsyncConnection, ids: Iterable[int], c: Codec) -> dict[int, _Open]:
    found: dict[int, _Open] = {}
    for chunk in power_of_two_chunks(sorted(set(ids))):
        for row in await _SELECT_FOR_STOP(len(chunk)).fetchall(conn, tuple(chunk)):
            started, at = c.read_timestamp(row[5]), c.read_timestamp(row[10])
            assert started is not None and at is not None  # NOT NULL columns
            found[int(row[0])] = _Open(
                row[1], int(row[2]), row[3], int(row[4]), started, row[6],
                row[7], parse_flags(row[8]), RegisterMark(float(row[9]), at),
            )  # fmt: skip
    return found


async def _stop_all(conn: AsyncConnection, writes: list[StopTransaction]) -> list[StopResult]:
    c = codec(conn.dialect)
    timestamp = c.timestamp
    rows = await _load_for_stop(
        conn, (w.stop.transaction_id for w in writes if w.stop.transaction_id > 0), c
    )
    view = await TokenView.load(conn, (w.stop.id_token for w in writes if w.stop.id_token))
    samples: list[tuple[Any, ...]] = []
    out: list[StopResult] = []
    for w in writes:
        s, now = w.stop, w.received_at
        row = rows.get(s.transaction_id)
        if row is None or row.station_id != s.station_id:
            # 1.6 errata 3.18 (-1), unknown ids, and another station's id (ocpp-rules §6
            # tests 51-52): acknowledged, never applied to any session, kept whole.
            outcome = StopOutcome.UNKNOWN if row is None else StopOutcome.FOREIGN
            message = Unmatched(s.station_id, "StopTransaction", s.transaction_id, outcome, s.raw)
            await keep_unmatched(conn, message, samples=s.samples, now=now)
            info = view.own_info(s.id_token, now) if s.id_token else None
            out.append(StopResult(outcome, info))
            continue
        # The token's own status: ConcurrentTx is only for a StartTransaction (1.6 §7.2).
        info = view.own_info(s.id_token, now) if s.id_token else None
        if row.closed_by == STATION:  # a retried Stop: closed once, its values stored once
            out.append(
                StopResult(StopOutcome.ALREADY_CLOSED, info, row.energy_wh, row.flags, row.evse_id)
            )
            continue
        result = await _close(conn, s, row, now, info)
        view.closed(row.id_tag_key, s.transaction_id)
        meter_tuples(
            samples, s.station_id, row.evse_id, str(s.transaction_id), s.samples,
            received_at=timestamp(now), timestamp=timestamp,
        )  # fmt: skip
        out.append(result)
    updates = [_convert((*row.update, tid), c) for tid, row in rows.items() if row.update]
    await _UPDATE_STOP.executemany(conn, updates)
    await INSERT_METER_VALUES.executemany(conn, samples)
    return out


async def _close(
    conn: AsyncConnection,
    s: TransactionStop,
    row: _Open,
    now: datetime,
    info: IdTokenInfo | None,
) -> StopResult:
    """Apply ``s`` to ``row`` in memory (written by the caller's executemany)."""
    energy, flags = energy_wh(row.meter_start, s.meter_stop_wh)
    flags = flags | row.flags
    if in_future(s.timestamp, now):
        flags |= {TransactionFlag.FUTURE_TIMESTAMP}
    if s.timestamp < row.started_at:
        flags |= {TransactionFlag.STOP_BEFORE_START}
    stop_reading = MeterSample(s.timestamp, float(s.meter_stop_wh), str(s.meter_stop_wh))
    mark, regressed = check_registers(row.mark, (*s.samples, stop_reading))
    if regressed:
        flags |= {TransactionFlag.NON_MONOTONIC_REGISTER}
    outcome = StopOutcome.CLOSED
    if row.closed_by in _REPLACED_BY_STOP:
        # An operator's or csms's provisional close: the station's stop is the fact and wins.
        outcome = StopOutcome.RECONCILED
        flag, action = _REPLACED_BY_STOP[row.closed_by]
        flags |= {flag}
        details = {"meter_stop": s.meter_stop_wh, "energy_wh": energy}
        record = TransactionAudit(
            str(s.transaction_id), s.station_id, action, STATION, s.reason, now, details
        )
        await audit(conn, record)
    row.closed_by, row.energy_wh, row.flags, row.mark = STATION, energy, flags, mark
    row.update = (
        s.timestamp, s.meter_stop_wh, energy, s.reason, s.id_token, STATION, flags_text(flags),
        mark.wh, mark.at, now,
    )  # fmt: skip
    return StopResult(outcome, info, energy, frozenset(flags), row.evse_id)


# Closes a late StopTransaction replaces: the flag it adds and the audit action it records.
_REPLACED_BY_STOP = {
    OPERATOR: (TransactionFlag.STOPPED_AFTER_OPERATOR_CLOSE, "station-stop-after-close"),
    CSMS: (TransactionFlag.STOPPED_AFTER_ABANDON, "station-stop-after-abandon"),
}


def _convert(values: tuple[Any, ...], c: Codec) -> tuple[Any, ...]:
    """Timestamps of an :data:`_UPDATE_STOP` tuple, converted for the dialect."""
    ended, *middle, register_at, updated_at, transaction_id = values
    return (
        c.timestamp(ended),
        *middle,
        c.timestamp(register_at),
        c.timestamp(updated_at),
        transaction_id,
    )


# --- authorize ------------------------------------------------------------------------------


@dataclass(slots=True)
class AuthorizeToken(BatchWrite[IdTokenInfo]):
    """An Authorize, answered inside the group commit: one :class:`TokenView` for the whole
    batch instead of a pooled connection per request. It writes nothing, and answers the token's
    own status (:meth:`TokenView.own_info`): never ConcurrentTx."""

    id_token: str
    now: datetime
    token_type: str | None = None  # 2.x: the type presented; 1.6: None
    batch_order: ClassVar[int] = 1  # before starts: as if asked just before them

    @classmethod
    async def apply_all(cls, conn: AsyncConnection, writes: list[Any]) -> Sequence[object]:
        view = await TokenView.load(conn, (w.id_token for w in writes))
        return [view.own_info(w.id_token, w.now, w.token_type) for w in writes]
