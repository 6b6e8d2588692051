"""The hot statements store exactly what SQLAlchemy Core stored (on SQLite and on PostgreSQL).

The repositories write with SQL compiled once and tuples converted by hand
(:mod:`csms.storage.statements`). Here the same domain objects are also written the way the store
wrote them before, with Core statements, dict rows and the column types' bind processing, for a
second station; both stations' rows must then be identical, column by column as the driver returns
them (SQLite: the very text stored), and read back identically through the repositories.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta, timezone
from functools import reduce
from typing import Any

import pytest
from sqlalchemy import Boolean, String, bindparam, case, event, func, insert, or_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from csms.domain.errors import StorageError
from csms.domain.model import (
    BootInfo,
    MeterSample,
    MeterValuesReport,
    RegistrationStatus,
    StatusReport,
    TransactionEventReport,
)
from csms.storage import Store, open_store
from csms.storage.dialect import dialect_insert
from csms.storage.tables import (
    boot_notifications,
    connection_events,
    connector_status,
    meter_values,
    stations,
    status_history,
    transaction_events,
    transactions,
)
from csms.storage.transaction_log import TransactionState, apply_event
from csms.storage.types import UtcDateTime
from tests.unit.storage.builders import a_sample, a_station, a_transaction_event, at

FAST, REFERENCE = "FAST", "REF"
PLUS_2 = timezone(timedelta(hours=2))
MINUS_5_30 = timezone(-timedelta(hours=5, minutes=30))
RECEIVED = datetime(2025, 3, 1, 9, 30, 0, 250_001, tzinfo=MINUS_5_30)  # the store's clock


def when(seconds: float, tz: timezone = UTC) -> datetime:
    return at(seconds).astimezone(tz)


BOOTS = (
    (
        BootInfo("Acme", "Wallbox 22", "SN-1", "1.2.3", "ICCID", "IMSI", "MT", "MSN", "PowerUp"),
        RegistrationStatus.PENDING,
        when(1, PLUS_2),
    ),
    (BootInfo("Acmé ☃", "M2"), RegistrationStatus.ACCEPTED, when(2)),
    (BootInfo("Acme", "M3", reason="Watchdog"), RegistrationStatus.REJECTED, when(3.000_001)),
)
CONNECTIONS = ((True, "ocpp2.0.1", when(4, MINUS_5_30)), (False, None, when(5)))


def statuses(station_id: str) -> list[StatusReport]:
    return [
        StatusReport(station_id, 1, 1, "Charging", when(10, PLUS_2), "NoError", "i", "v", "e"),
        StatusReport(station_id, 1, 1, "Preparing", when(5)),  # older: history only
        StatusReport(station_id, 0, 0, "Available", when(7.5, MINUS_5_30)),
        StatusReport(station_id, 2, 1, "Faulted", when(8), "GroundFailure"),
        StatusReport(station_id, 2, 1, "Unavailable", when(8)),  # same time, later: wins
    ]


SAMPLES = (
    a_sample(
        12.5,
        raw_value="12.50",
        measurand="Power.Active.Import",
        phase="L1-N",
        unit="kW",
        context="Sample.Periodic",
        location="Outlet",
        timestamp=when(20.123_456, PLUS_2),
    ),
    a_sample(None, raw_value="garbage", timestamp=when(20.123_456, PLUS_2)),
    a_sample(
        3.0,
        raw_value="3",
        signed_data="<sig>  \n verbatim</sig>",
        timestamp=datetime(1999, 1, 1, tzinfo=UTC),
    ),
)


def meter_reports(station_id: str) -> list[MeterValuesReport]:
    return [
        MeterValuesReport(station_id, 1, "TX1", SAMPLES),
        MeterValuesReport(station_id, 2, None, SAMPLES[1:]),
        MeterValuesReport(station_id, 1, "TX1", ()),
    ]


def events(station_id: str) -> list[TransactionEventReport]:
    raw = {"eventType": "Updated", "seqNo": 2, "idToken": {"idToken": "é☃", "type": "ISO14443"}}
    return [
        a_transaction_event(
            2,
            station_id=station_id,
            charging_state="Charging",
            samples=SAMPLES[:2],
            timestamp=when(60, PLUS_2),
            raw=raw,
        ),
        a_transaction_event(
            0,
            "Started",
            station_id=station_id,
            evse_id=3,
            connector_id=1,
            id_token="DRIVER",
            offline=True,
            samples=(a_sample(1.0, timestamp=when(0)),),
        ),
        a_transaction_event(
            5,
            "Ended",
            station_id=station_id,
            transaction_id="TX2",
            stopped_reason="Local",
            samples=(a_sample(2.0, timestamp=when(300, MINUS_5_30)),),
        ),
        a_transaction_event(9, "Ended", station_id=station_id, stopped_reason="EVDisconnected"),
    ]


# --- the reference: how the store wrote before (Core statements, dict rows, bind processors) ---

_BOOT_FIELDS = tuple(f.name for f in dataclasses.fields(BootInfo))
_STATION_BOOT_FIELDS = _BOOT_FIELDS[:-1]  # all but "reason"
_STATUS_FIELDS = ("status", "timestamp", "error_code", "info", "vendor_id", "vendor_error_code")
_STATE_FIELDS = TransactionState._fields


def _meter_rows(
    station_id: str,
    evse_id: int | None,
    transaction_id: str | None,
    samples: Sequence[MeterSample],
    received_at: datetime,
) -> list[dict[str, Any]]:
    return [
        {"station_id": station_id, "evse_id": evse_id, "transaction_id": transaction_id}
        | s._asdict()
        | {"received_at": received_at}
        for s in samples
    ]


async def _reference_boot(
    conn: AsyncConnection, boot: BootInfo, status: RegistrationStatus, when_: datetime
) -> None:
    accepted = bindparam("b_accepted", type_=Boolean())
    stmt = (
        update(stations)
        .where(stations.c.id == bindparam("b_id"))
        .values(
            {name: bindparam(f"b_{name}") for name in _STATION_BOOT_FIELDS}
            | {"last_boot_at": bindparam("b_at"), "accepted": or_(stations.c.accepted, accepted)}
        )
    )
    values = {f"b_{name}": getattr(boot, name) for name in _STATION_BOOT_FIELDS}
    await conn.execute(
        stmt,
        [{"b_id": REFERENCE, "b_at": when_, "b_accepted": status is RegistrationStatus.ACCEPTED}
         | values],
    )  # fmt: skip
    row = {"station_id": REFERENCE, "status": status.value, "at": when_}
    await conn.execute(insert(boot_notifications), [row | dataclasses.asdict(boot)])


async def _reference_connection(
    conn: AsyncConnection, online: bool, version: str | None, when_: datetime
) -> None:
    b_online = bindparam("b_online", type_=Boolean())
    b_at = bindparam("b_at", type_=UtcDateTime())
    stmt = (
        update(stations)
        .where(stations.c.id == bindparam("b_id"))
        .values(
            online=b_online,
            ocpp_version=func.coalesce(
                bindparam("b_version", type_=String()), stations.c.ocpp_version
            ),
            connected_at=case((b_online, b_at), else_=stations.c.connected_at),
            disconnected_at=case((b_online, stations.c.disconnected_at), else_=b_at),
        )
    )
    params = {"b_id": REFERENCE, "b_online": online, "b_version": version, "b_at": when_}
    await conn.execute(stmt, [params])
    row = {"station_id": REFERENCE, "online": online, "ocpp_version": version, "at": when_}
    await conn.execute(insert(connection_events), [row])


async def _reference_statuses(conn: AsyncConnection, reports: list[StatusReport]) -> None:
    history = [
        {"station_id": r.station_id, "evse_id": r.evse_id, "connector_id": r.connector_id}
        | {name: getattr(r, name) for name in _STATUS_FIELDS}
        | {"received_at": RECEIVED}
        for r in reports
    ]
    await conn.execute(insert(status_history), history)
    current: dict[tuple[str, int, int], dict[str, Any]] = {}
    for row in history:
        key = (row["station_id"], row["evse_id"], row["connector_id"])
        if key not in current or row["timestamp"] >= current[key]["timestamp"]:
            current[key] = row
    stmt = dialect_insert(conn, connector_status)
    stmt = stmt.on_conflict_do_update(
        index_elements=["station_id", "evse_id", "connector_id"],
        set_={name: stmt.excluded[name] for name in (*_STATUS_FIELDS, "updated_at")},
        where=stmt.excluded.timestamp >= connector_status.c.timestamp,
    )
    rows = [
        {k: v for k, v in row.items() if k != "received_at"} | {"updated_at": row["received_at"]}
        for row in current.values()
    ]
    await conn.execute(stmt, rows)


async def _reference_events(conn: AsyncConnection, reports: list[TransactionEventReport]) -> None:
    await conn.execute(
        insert(transaction_events),
        [
            {f: getattr(e, f) for f in ("station_id", "transaction_id", "seq_no", "event_type")}
            | {f: getattr(e, f) for f in ("timestamp", "trigger_reason", "evse_id")}
            | {f: getattr(e, f) for f in ("connector_id", "charging_state", "stopped_reason")}
            | {"id_token": e.id_token, "offline": e.offline, "raw": e.raw}
            | {"received_at": RECEIVED}
            for e in reports
        ],
    )
    by_transaction: dict[str, list[TransactionEventReport]] = {}
    for e in reports:
        by_transaction.setdefault(e.transaction_id, []).append(e)
    samples = []
    for transaction_id, group in by_transaction.items():
        # No token is registered here: csms answers every idToken Invalid and stores that.
        state = reduce(
            lambda s, e: apply_event(s, e, "Invalid" if e.id_token else None),
            group,
            TransactionState(),
        )
        row = {"station_id": REFERENCE, "transaction_id": transaction_id, "updated_at": RECEIVED}
        await conn.execute(
            insert(transactions), [row | {f: getattr(state, f) for f in _STATE_FIELDS}]
        )
        for e in group:
            evse_id = e.evse_id if e.evse_id is not None else state.evse_id
            samples += _meter_rows(REFERENCE, evse_id, transaction_id, e.samples, RECEIVED)
    await conn.execute(insert(meter_values), samples)


async def write_reference(store: Store) -> None:
    async with store.engine.begin() as conn:
        for boot, status, when_ in BOOTS:
            await _reference_boot(conn, boot, status, when_)
        for online, version, when_ in CONNECTIONS:
            await _reference_connection(conn, online, version, when_)
        await _reference_statuses(conn, statuses(REFERENCE))
        rows = [
            row
            for r in meter_reports(REFERENCE)
            for row in _meter_rows(REFERENCE, r.evse_id, r.transaction_id, r.samples, RECEIVED)
        ]
        await conn.execute(insert(meter_values), rows)
        await _reference_events(conn, events(REFERENCE))
        seen = bindparam("b_seen", type_=UtcDateTime())
        touch = (
            update(stations)
            .where(stations.c.id == bindparam("b_id"))
            .where(or_(stations.c.last_seen_at.is_(None), stations.c.last_seen_at < seen))
            .values(last_seen_at=seen)
        )
        await conn.execute(touch, [{"b_id": REFERENCE, "b_seen": when(30, PLUS_2)}])


async def write_fast(store: Store) -> None:
    for boot, status, when_ in BOOTS:
        await store.stations.record_boot(FAST, boot, status, when_)
    for online, version, when_ in CONNECTIONS:
        await store.stations.record_connection(FAST, online=online, ocpp_version=version, now=when_)
    # One batch each (gather submits in order), so the multi-row paths are the ones compared.
    await asyncio.gather(*(store.stations.record_status(r) for r in statuses(FAST)))
    await asyncio.gather(*(store.transactions.record_meter_values(r) for r in meter_reports(FAST)))
    results = await asyncio.gather(
        *(store.transactions.record_transaction_event(e) for e in events(FAST))
    )
    assert results == [True] * len(results)
    store.stations.touch(FAST, when(30, PLUS_2))
    # Touches are written with the next batch; this write stores no row.
    await store.transactions.record_meter_values(MeterValuesReport(FAST, 1, None, ()))


async def _raw(conn: AsyncConnection, table: Any, station_id: str) -> list[dict[str, Any]]:
    """The rows of ``station_id`` exactly as the driver returns them, in insertion order."""
    key = "id" if table is stations else "station_id"
    order = "evse_id, connector_id" if table is connector_status else "id"
    placeholder = "?" if conn.dialect.name == "sqlite" else "$1"
    result = await conn.exec_driver_sql(
        f"SELECT * FROM {table.name} WHERE {key} = {placeholder} ORDER BY {order}", (station_id,)
    )
    return [dict(zip(result.keys(), row, strict=True)) for row in result.fetchall()]


def _comparable(rows: list[dict[str, Any]], table: Any) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        kept = {k: v for k, v in row.items() if k not in ("id", "station_id")}
        if table is transaction_events:
            # orjson writes compact JSON (no spaces, UTF-8): the same JSON value, other text.
            raw = kept["raw"]
            kept["raw"] = json.loads(raw) if isinstance(raw, str) else raw
        out.append(kept)
    return out


@pytest.fixture
async def both(migrated_database_url: str) -> AsyncIterator[Store]:
    store = await open_store(migrated_database_url, clock=lambda: RECEIVED)
    try:
        for station_id in (FAST, REFERENCE):
            await store.stations.add(a_station(station_id, created_at=when(0, PLUS_2)))
        await write_reference(store)
        await write_fast(store)
        yield store
    finally:
        await store.aclose()


_TABLES = (
    stations,
    boot_notifications,
    connection_events,
    status_history,
    connector_status,
    meter_values,
    transaction_events,
    transactions,
)


@pytest.mark.parametrize("table", _TABLES, ids=[t.name for t in _TABLES])
async def test_rows_are_stored_exactly_as_core_stored_them(both: Store, table: Any) -> None:
    async with both.engine.connect() as conn:
        fast = await _raw(conn, table, FAST)
        reference = await _raw(conn, table, REFERENCE)
    assert fast, table.name
    assert _comparable(fast, table) == _comparable(reference, table)


async def test_reads_through_the_repositories_are_identical(both: Store) -> None:
    fast, reference = await both.stations.get(FAST), await both.stations.get(REFERENCE)
    assert fast is not None and reference is not None
    assert fast == dataclasses.replace(reference, id=FAST)
    assert fast.last_boot_at == when(3.000_001) and fast.last_seen_at == when(30)
    assert (fast.accepted, fast.online, fast.vendor_name) == (True, False, "Acme")
    for value in (fast.created_at, fast.last_boot_at, fast.connected_at, fast.disconnected_at):
        assert value is not None and value.tzinfo is UTC
    assert await both.stations.connector_states(FAST) == await both.stations.connector_states(
        REFERENCE
    )
    history = await both.stations.status_history(FAST)
    assert history == [
        dataclasses.replace(r, station_id=FAST)
        for r in await both.stations.status_history(REFERENCE)
    ]
    assert [r.timestamp.tzinfo for r in history] == [UTC] * len(history)


async def test_timestamps_are_stored_as_utc(both: Store) -> None:
    async with both.engine.connect() as conn:
        [first, *_] = await _raw(conn, meter_values, FAST)
    stored = (first["timestamp"], first["received_at"])
    if both.engine.dialect.name == "sqlite":  # the text UtcDateTime stores: comparable as text
        assert stored == ("2025-03-01 12:00:20.123456", "2025-03-01 15:00:00.250001")
    else:
        assert stored == (when(20.123_456), RECEIVED)
    assert first["value"] == 12.5


@pytest.mark.parametrize("kind", ["meter values", "transaction event", "boot", "connection"])
async def test_a_naive_datetime_fails_only_its_own_write(store: Store, kind: str) -> None:
    naive = datetime(2025, 3, 1)
    if kind == "meter values":
        bad = store.transactions.record_meter_values(
            MeterValuesReport("CS1", 1, None, (a_sample(timestamp=naive),))
        )
    elif kind == "transaction event":
        bad = store.transactions.record_transaction_event(a_transaction_event(0, timestamp=naive))
    elif kind == "boot":
        bad = store.stations.record_boot("CS1", BOOTS[0][0], RegistrationStatus.ACCEPTED, naive)
    else:
        bad = store.stations.record_connection("CS1", online=True, ocpp_version=None, now=naive)
    good = store.transactions.record_meter_values(MeterValuesReport("CS1", 1, None, SAMPLES))
    results = await asyncio.gather(bad, good, return_exceptions=True)
    assert isinstance(results[0], StorageError)
    assert isinstance(results[0].__cause__, ValueError)
    assert results[1] is None


async def test_big_batches_of_transaction_events_are_split_and_deduplicated(store: Store) -> None:
    """More than 256 events and transactions in one batch: several multi-row statements."""
    started = [a_transaction_event(0, "Started", transaction_id=f"T{i}") for i in range(300)]
    first = await asyncio.gather(*(store.transactions.record_transaction_event(r) for r in started))
    assert first == [True] * 300
    updated = [a_transaction_event(1, transaction_id=f"T{i}") for i in range(290)]
    batch = [*updated, *started[:10], updated[0]]  # 290 new, then duplicates of stored and new
    second = await asyncio.gather(*(store.transactions.record_transaction_event(r) for r in batch))
    assert second == [True] * 290 + [False] * 11
    async with store.engine.connect() as conn:
        stored = await _raw(conn, transactions, "CS1")
        events_stored = await _raw(conn, transaction_events, "CS1")
    assert len(stored) == 300 and len(events_stored) == 590
    assert sum(row["last_seq_no"] for row in stored) == 290
    assert all(row["started_at"] is not None for row in stored)


async def test_an_updated_event_sets_only_the_columns_it_changed(store: Store) -> None:
    """An UPDATE names only changed columns: SQLite rewrites every index entry whose column is in
    the SET list, and started_at, id_token and ended_at are indexed (a full-row update cost the
    TransactionEvent benchmark about a third of its time; docs/performance.md)."""
    statements: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("UPDATE transactions "):
            statements.append(statement)

    engine = store.engine.sync_engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        await store.transactions.record_transaction_event(
            a_transaction_event(0, "Started", id_token="DRIVER")
        )
        await store.transactions.record_transaction_event(
            a_transaction_event(1, samples=(a_sample(),))
        )
    finally:
        event.remove(engine, "before_cursor_execute", note)
    [update_sql] = statements
    set_list = update_sql.partition(" SET ")[2].partition(" WHERE ")[0]
    for indexed in ("started_at", "id_token", "ended_at", "station_id"):
        assert f"{indexed}=" not in set_list.replace(" ", ""), set_list
    assert "last_seq_no" in set_list and "updated_at" in set_list
    async with store.engine.connect() as conn:
        [row] = await _raw(conn, transactions, "CS1")
    assert (row["last_seq_no"], row["id_token"]) == (1, "DRIVER")
