"""SQL implementation of :class:`csms.domain.ledger.Ledger`: the operator's read side.

The transaction listing is a keyset page over two tables: each table is asked for its next
``limit`` rows after the cursor in ``(started_at DESC, id DESC)`` order (served by the
``(started_at, id)`` and ``(station_id, started_at, id)`` indexes of migration 0012) and the two
short lists are merged here, so a page costs two index range scans whatever its depth. 2.x rows
without a start time (no Started event yet) form the tail, read by row id once the started rows
are exhausted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, false, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine

from csms.domain.ledger import (
    LedgerEntry,
    LedgerEvent,
    LedgerKey,
    LedgerVersion,
    MeterPoint,
    MeterQuery,
    StationQuery,
    StationSearch,
    TransactionQuery,
)
from csms.domain.tokens import token_key
from csms.storage import charging_rows, rows
from csms.storage.charging_closes import v2_transaction
from csms.storage.direct import reading
from csms.storage.tables import (
    connector_status,
    meter_values,
    stations,
    transaction_events,
    transactions,
)
from csms.storage.tables_charging import transaction_audit, transactions_v16

__all__ = ["SqlLedger", "search_stations"]

_T16 = transactions_v16.c
_T2 = transactions.c
_M = meter_values.c
_S = stations.c
V16, V2 = LedgerVersion.V16, LedgerVersion.V2


def _filters16(q: TransactionQuery) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if q.station_id is not None:
        where.append(_T16.station_id == q.station_id)
    if q.evse_id is not None:
        where.append(_T16.evse_id == q.evse_id)
    if q.id_token is not None:
        where.append(_T16.id_tag_key == token_key(q.id_token))
    if q.started_from is not None:
        where.append(_T16.started_at >= q.started_from)
    if q.started_to is not None:
        where.append(_T16.started_at < q.started_to)
    if q.open is not None:
        where.append(_T16.ended_at.is_(None) if q.open else _T16.ended_at.is_not(None))
    if q.stop_reason is not None:
        where.append(_T16.stopped_reason == q.stop_reason)
    return where


def _filters2(q: TransactionQuery) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if q.station_id is not None:
        where.append(_T2.station_id == q.station_id)
    if q.evse_id is not None:
        where.append(_T2.evse_id == q.evse_id)
    if q.id_token is not None:
        where.append(_T2.id_token == q.id_token)
    if q.started_from is not None:
        where.append(_T2.started_at >= q.started_from)
    if q.started_to is not None:
        where.append(_T2.started_at < q.started_to)
    if q.open is not None:
        where.append(_T2.ended_at.is_(None) if q.open else _T2.ended_at.is_not(None))
    if q.stop_reason is not None:
        where.append(_T2.stopped_reason == q.stop_reason)
    return where


def _after(
    started: Any, row_id: Any, version: LedgerVersion, after: LedgerKey
) -> ColumnElement[bool]:
    """Rows of table ``version`` strictly after ``after`` in the listing's order (started rows)."""
    assert after.started_at is not None
    if version < after.version:  # equal start times of this table come after the cursor
        return started <= after.started_at  # type: ignore[no-any-return]
    if version > after.version:
        return started < after.started_at  # type: ignore[no-any-return]
    return tuple_(started, row_id) < tuple_(after.started_at, after.row_id)


def _entry16(row: Mapping[Any, Any]) -> LedgerEntry:
    tx = charging_rows.transaction(row)
    key = LedgerKey(row["started_at"], V16, int(row["id"]))
    return LedgerEntry(key, tx, None if tx.ended_at is not None else float(row["register_wh"]))


def _entry2(row: Mapping[Any, Any]) -> LedgerEntry:
    return LedgerEntry(LedgerKey(row["started_at"], V2, int(row["id"])), v2_transaction(row))


def _newest_first(entry: LedgerEntry) -> tuple[bool, Any, int, int]:
    k = entry.key
    # Descending: started before tail, later start first, 2.x before 1.6, higher id first.
    return (k.started_at is None, _neg(k), -int(k.version), -k.row_id)


def _neg(key: LedgerKey) -> float:
    return -key.started_at.timestamp() if key.started_at is not None else 0.0


class SqlLedger:
    """Implements :class:`csms.domain.ledger.Ledger`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    # --- transactions ---------------------------------------------------------------------

    async def page(
        self, query: TransactionQuery, *, after: LedgerKey | None, limit: int
    ) -> Sequence[LedgerEntry]:
        found: list[LedgerEntry] = []
        async with reading(self._engine) as conn:
            if query.version in (None, V16) and (after is None or after.started_at is not None):
                stmt = select(transactions_v16).where(*_filters16(query))
                if after is not None:
                    stmt = stmt.where(_after(_T16.started_at, _T16.id, V16, after))
                stmt = stmt.order_by(_T16.started_at.desc(), _T16.id.desc()).limit(limit)
                found += [_entry16(r) for r in (await conn.execute(stmt)).mappings()]
            if query.version in (None, V2):
                started = 0
                if after is None or after.started_at is not None:
                    stmt = select(transactions).where(
                        *_filters2(query), _T2.started_at.is_not(None)
                    )
                    if after is not None:
                        stmt = stmt.where(_after(_T2.started_at, _T2.id, V2, after))
                    stmt = stmt.order_by(_T2.started_at.desc(), _T2.id.desc()).limit(limit)
                    rows2 = [_entry2(r) for r in (await conn.execute(stmt)).mappings()]
                    started = len(rows2)
                    found += rows2
                if started < limit and not query.time_bounded:
                    found += await self._tail(conn, query, after, limit - started)
        found.sort(key=_newest_first)
        return found[:limit]

    async def _tail(
        self, conn: Any, query: TransactionQuery, after: LedgerKey | None, limit: int
    ) -> list[LedgerEntry]:
        stmt = select(transactions).where(*_filters2(query), _T2.started_at.is_(None))
        if after is not None and after.started_at is None:
            stmt = stmt.where(_T2.id < after.row_id)
        stmt = stmt.order_by(_T2.id.desc()).limit(limit)
        return [_entry2(r) for r in (await conn.execute(stmt)).mappings()]

    async def count(self, query: TransactionQuery) -> int:
        total = 0
        async with reading(self._engine) as conn:
            if query.version in (None, V16):
                stmt16 = select(func.count()).select_from(transactions_v16)
                total += int((await conn.execute(stmt16.where(*_filters16(query)))).scalar_one())
            if query.version in (None, V2):
                stmt2 = select(func.count()).select_from(transactions).where(*_filters2(query))
                if query.time_bounded:
                    stmt2 = stmt2.where(_T2.started_at.is_not(None))
                total += int((await conn.execute(stmt2)).scalar_one())
        return total

    async def get(self, version: LedgerVersion, row_id: int) -> LedgerEntry | None:
        table = transactions_v16 if version is V16 else transactions
        async with reading(self._engine) as conn:
            row = (await conn.execute(select(table).where(table.c.id == row_id))).mappings().first()
        if row is None:
            return None
        return _entry16(row) if version is V16 else _entry2(row)

    async def open_on(self, station_id: str) -> Sequence[LedgerEntry]:
        async with reading(self._engine) as conn:
            s16 = select(transactions_v16).where(
                _T16.station_id == station_id, _T16.ended_at.is_(None)
            )
            s2 = select(transactions).where(_T2.station_id == station_id, _T2.ended_at.is_(None))
            found = [_entry16(r) for r in (await conn.execute(s16)).mappings()]
            found += [_entry2(r) for r in (await conn.execute(s2)).mappings()]
        found.sort(key=_newest_first)
        return found

    async def events(self, entry: LedgerEntry, *, limit: int) -> Sequence[LedgerEvent]:
        t = entry.transaction
        async with reading(self._engine) as conn:
            if entry.key.version is V2:
                e = transaction_events.c
                stmt = (
                    select(transaction_events)
                    .where(e.station_id == t.station_id, e.transaction_id == t.transaction_id)
                    .order_by(e.seq_no, e.id)
                    .limit(limit)
                )
                return [_v2_event(r) for r in (await conn.execute(stmt)).mappings()]
            return await _v16_events(conn, entry, limit)

    async def meter_values(self, query: MeterQuery, *, limit: int) -> Sequence[MeterPoint]:
        where: list[ColumnElement[bool]] = [_M.station_id == query.station_id]
        if query.transaction_id is not None:
            where.append(_M.transaction_id == query.transaction_id)
        if query.evse_id is not None:
            where.append(_M.evse_id == query.evse_id)
        if query.measurands:
            where.append(_M.measurand.in_(sorted(query.measurands)))
        if query.phases:
            named = sorted(query.phases - {"none"})
            phase = [_M.phase.in_(named)] if named else []
            if "none" in query.phases:
                phase.append(_M.phase.is_(None))
            where.append(or_(*phase))
        if query.start is not None:
            where.append(_M.timestamp >= query.start)
        if query.end is not None:
            where.append(_M.timestamp < query.end)
        stmt = select(meter_values).where(*where).order_by(_M.timestamp, _M.id).limit(limit)
        async with reading(self._engine) as conn:
            return [_point(r) for r in (await conn.execute(stmt)).mappings()]


async def search_stations(
    engine: AsyncEngine, query: StationQuery, *, after: str | None, limit: int
) -> StationSearch:
    """Stations ordered by id after ``after`` (for :class:`SqlStationRepository`)."""
    where = _station_filters(query)
    page = select(stations).where(*where)
    if after is not None:
        page = page.where(_S.id > after)
    page = page.order_by(_S.id).limit(limit + 1)
    async with reading(engine) as conn:
        found = [rows.station(r) for r in (await conn.execute(page)).mappings()]
        count = select(func.count()).select_from(stations).where(*where)
        total = int((await conn.execute(count)).scalar_one())
    return StationSearch(found[:limit], total, more=len(found) > limit)


def _station_filters(query: StationQuery) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if not query.include_decommissioned:
        where.append(_S.decommissioned_at.is_(None))
    if query.registration_status is not None:
        where.append(_S.registration_status == query.registration_status.value)
    if query.online is not None:
        where.append(_S.online.is_(query.online))
    if query.ocpp_version is not None:
        where.append(_S.ocpp_version == query.ocpp_version)
    if query.status is not None:
        c = connector_status.c
        where.append(exists().where(c.station_id == _S.id, c.status == query.status))
    if query.q:
        pattern = "%" + _escape_like(query.q.lower()) + "%"
        columns = (_S.id, _S.vendor_name, _S.model, _S.serial_number)
        where.append(or_(false(), *(func.lower(col).like(pattern, escape="\\") for col in columns)))
    return where


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _v2_event(row: Mapping[Any, Any]) -> LedgerEvent:
    return LedgerEvent(
        kind=row["event_type"],
        timestamp=row["timestamp"],
        seq_no=int(row["seq_no"]),
        trigger_reason=row["trigger_reason"],
        offline=bool(row["offline"]),
        charging_state=row["charging_state"],
        id_token=row["id_token"],
        stopped_reason=row["stopped_reason"],
        evse_id=row["evse_id"],
        connector_id=row["connector_id"],
    )


async def _v16_events(conn: Any, entry: LedgerEntry, limit: int) -> list[LedgerEvent]:
    """1.6 has no event log: StartTransaction and StopTransaction are the row itself, the
    MeterValues are the sample timestamps of the transaction, operators' actions the audit."""
    t = entry.transaction
    out = [
        LedgerEvent(
            kind="StartTransaction",
            timestamp=entry.key.started_at or t.updated_at or _never(),
            id_token=t.id_token,
            evse_id=t.evse_id,
            connector_id=t.connector_id,
            meter_wh=t.meter_start_wh,
        )
    ]
    samples = (
        select(_M.timestamp, func.count())
        .where(_M.station_id == t.station_id, _M.transaction_id == t.transaction_id)
        .group_by(_M.timestamp)
        .order_by(_M.timestamp)
        .limit(limit)
    )
    for at, count in (await conn.execute(samples)).all():
        out.append(
            LedgerEvent(kind="MeterValues", timestamp=at, evse_id=t.evse_id, samples=int(count))
        )
    if t.ended_at is not None and t.closed_by == "station":
        out.append(
            LedgerEvent(
                kind="StopTransaction",
                timestamp=t.ended_at,
                id_token=t.stop_id_token,
                stopped_reason=t.stopped_reason,
                evse_id=t.evse_id,
                meter_wh=t.meter_stop_wh,
            )
        )
    a = transaction_audit.c
    audits = (
        select(transaction_audit)
        .where(a.transaction_id == entry.key.row_id)
        .order_by(a.id)
        .limit(limit)
    )
    for r in (await conn.execute(audits)).mappings():
        record = charging_rows.audit(r)
        out.append(
            LedgerEvent(
                kind=record.action,
                timestamp=record.at,
                operator=record.operator,
                stopped_reason=record.reason,
            )
        )
    out.sort(key=lambda e: e.timestamp)
    return out[:limit]


def _never() -> datetime:
    return datetime.min.replace(tzinfo=UTC)


def _point(row: Mapping[Any, Any]) -> MeterPoint:
    return MeterPoint(
        timestamp=row["timestamp"],
        measurand=row["measurand"],
        phase=row["phase"],
        unit=row["unit"],
        context=row["context"],
        location=row["location"],
        value=row["value"],
        raw_value=row["raw_value"],
        signed_data=row["signed_data"],
        transaction_id=row["transaction_id"],
        evse_id=row["evse_id"],
    )
