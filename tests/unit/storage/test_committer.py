"""Group commit: batching, commit-before-return, failure isolation, touch, backpressure, close."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from csms.domain.errors import StorageError
from csms.storage import GroupCommitter, Store, create_engine, open_store, upgrade
from csms.storage.tables import meter_values, stations, status_history, transaction_events
from csms.storage.writes import AddStation, RecordStatus
from tests.unit.storage.builders import (
    a_meter_values,
    a_station,
    a_status,
    a_transaction_event,
    at,
)
from tests.unit.storage.db import CommitCounter, fetch


async def test_concurrent_writes_share_few_commits(store: Store) -> None:
    counter = CommitCounter(store.engine)
    await asyncio.gather(
        *(
            store.stations.record_status(a_status(connector_id=i, timestamp=at(i)))
            for i in range(500)
        )
    )
    counter.close()
    assert counter.commits <= 5, counter.commits
    assert len(await fetch(store.engine, status_history)) == 500


async def test_each_writer_returns_only_after_its_write_is_committed(
    store: Store, migrated_database_url: str
) -> None:
    observer = create_engine(migrated_database_url)  # its own connections see only committed rows

    async def write_then_look(i: int) -> int:
        await store.stations.record_status(a_status(connector_id=i, timestamp=at(i)))
        return len(await fetch(observer, status_history, connector_id=i))

    try:
        seen = await asyncio.gather(*(write_then_look(i) for i in range(100)))
    finally:
        await observer.dispose()
    assert seen == [1] * 100


async def test_a_failing_write_does_not_fail_the_others_in_its_batch(store: Store) -> None:
    counter = CommitCounter(store.engine)
    writes = [
        store.stations.record_status(a_status(connector_id=1)),
        store.transactions.record_meter_values(a_meter_values(samples=2)),
        store.stations.record_status(a_status("UNKNOWN")),  # foreign key violation
        store.transactions.record_transaction_event(a_transaction_event(0, "Started")),
        store.transactions.record_transaction_event(a_transaction_event(0, station_id="UNKNOWN")),
        store.stations.record_status(a_status(connector_id=2)),
    ]
    results = await asyncio.gather(*writes, return_exceptions=True)
    counter.close()

    failed = [i for i, r in enumerate(results) if isinstance(r, BaseException)]
    assert failed == [2, 4]
    for i in failed:
        error = results[i]
        assert isinstance(error, StorageError)
        assert isinstance(error.__cause__, IntegrityError)
    assert results[3] is True
    assert len(await fetch(store.engine, status_history)) == 2
    assert len(await fetch(store.engine, meter_values)) == 2
    assert len(await fetch(store.engine, transaction_events)) == 1
    # One failed batch, then one transaction per write (the last two may have been a second batch).
    assert counter.commits <= len(writes) + 1


async def test_one_bad_write_in_a_big_batch_costs_a_few_transactions_not_one_per_write(
    store: Store,
) -> None:
    # Under load one refused write (a duplicate, a foreign key) sits in a batch of hundreds; one
    # transaction (fsync) per write stalled every writer for seconds. Bisection isolates it.
    counter = CommitCounter(store.engine)
    writes = [store.stations.record_status(a_status(connector_id=i)) for i in range(300)]
    writes.insert(150, store.stations.record_status(a_status("UNKNOWN")))  # foreign key violation
    results = await asyncio.gather(*writes, return_exceptions=True)
    counter.close()

    assert [i for i, r in enumerate(results) if isinstance(r, BaseException)] == [150]
    assert isinstance(results[150], StorageError)
    assert len(await fetch(store.engine, status_history)) == 300
    assert counter.commits <= 2 * 9 + 2, counter.commits  # ~2·log2(301), not 301


async def test_a_cancelled_writer_does_not_stop_the_write_or_the_committer(store: Store) -> None:
    task = asyncio.create_task(store.stations.record_status(a_status(connector_id=7)))
    await asyncio.sleep(0)  # queued
    task.cancel()
    await store.stations.record_status(a_status(connector_id=8))
    stored = {row["connector_id"] for row in await fetch(store.engine, status_history)}
    assert stored == {7, 8}


@pytest.fixture
async def migrated_url(tmp_path: Path) -> AsyncIterator[str]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'csms.db'}"
    await upgrade(url)
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(
            stations.insert(),
            [{"id": "CS1", "registration_status": "Accepted", "accepted": True}
             | {"lenient": False, "online": False, "created_at": at(0)}],
        )  # fmt: skip
    await engine.dispose()
    yield url


@pytest.fixture
async def engine(migrated_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(migrated_url, sqlite_busy_timeout_ms=10_000)
    yield engine
    await engine.dispose()


async def test_writers_wait_when_max_pending_writes_are_queued(
    engine: AsyncEngine, migrated_url: str
) -> None:
    committer = GroupCommitter(engine, max_batch=1, max_pending=3)
    await committer.start()
    # Another process holds SQLite's write lock: the committer's first batch cannot begin.
    blocker = sqlite3.connect(migrated_url.removeprefix("sqlite+aiosqlite:///"))
    blocker.execute("BEGIN IMMEDIATE")
    try:
        writers = [
            asyncio.create_task(committer.submit(RecordStatus(a_status(connector_id=i), at(0))))
            for i in range(10)
        ]
        await asyncio.sleep(0.2)
        assert committer.pending == 3  # the rest wait for room, holding no queue memory
        assert not any(w.done() for w in writers)
    finally:
        blocker.rollback()
        blocker.close()
    await asyncio.gather(*writers)
    await committer.aclose()
    assert len(await fetch(engine, status_history)) == 10


async def test_a_writer_cancelled_while_waiting_for_room_stores_nothing(
    engine: AsyncEngine, migrated_url: str
) -> None:
    committer = GroupCommitter(engine, max_batch=1, max_pending=3)
    await committer.start()
    blocker = sqlite3.connect(migrated_url.removeprefix("sqlite+aiosqlite:///"))
    blocker.execute("BEGIN IMMEDIATE")
    try:
        writers = [
            asyncio.create_task(committer.submit(RecordStatus(a_status(connector_id=i), at(0))))
            for i in range(10)
        ]
        await asyncio.sleep(0.1)
        writers[6].cancel()  # waiting for room: its write was never queued
    finally:
        blocker.rollback()
        blocker.close()
    results = await asyncio.gather(*writers, return_exceptions=True)
    await committer.aclose()
    assert isinstance(results[6], asyncio.CancelledError)
    stored = {row["connector_id"] for row in await fetch(engine, status_history)}
    assert stored == set(range(10)) - {6}


async def test_aclose_refuses_writers_still_waiting_for_room(
    engine: AsyncEngine, migrated_url: str
) -> None:
    committer = GroupCommitter(engine, max_batch=1, max_pending=3)
    await committer.start()
    blocker = sqlite3.connect(migrated_url.removeprefix("sqlite+aiosqlite:///"))
    blocker.execute("BEGIN IMMEDIATE")
    try:
        writers = [
            asyncio.create_task(committer.submit(RecordStatus(a_status(connector_id=i), at(0))))
            for i in range(10)
        ]
        await asyncio.sleep(0.1)
        closing = asyncio.create_task(committer.aclose())
        await asyncio.sleep(0.1)
    finally:
        blocker.rollback()
        blocker.close()
    await closing
    results = await asyncio.gather(*writers, return_exceptions=True)
    assert results[:3] == [None] * 3  # admitted before the close: committed
    assert all(isinstance(r, StorageError) for r in results[3:])  # never admitted: not acked
    assert len(await fetch(engine, status_history)) == 3


async def test_touch_is_flushed_by_the_timer_without_other_writes(engine: AsyncEngine) -> None:
    store = Store(engine, touch_interval=0.05)
    await store.start()
    try:
        store.stations.touch("CS1", at(9))
        store.stations.touch("UNKNOWN", at(9))  # no row to update: ignored
        for _ in range(100):
            await asyncio.sleep(0.02)
            station = await store.stations.get("CS1")
            if station is not None and station.last_seen_at is not None:
                break
        assert station is not None and station.last_seen_at == at(9)
    finally:
        await store.aclose()


async def test_aclose_commits_everything_pending_then_refuses_writes(migrated_url: str) -> None:
    store = await open_store(migrated_url)
    writers = [
        asyncio.create_task(store.stations.record_status(a_status(connector_id=i)))
        for i in range(50)
    ]
    await asyncio.sleep(0)
    store.stations.touch("CS1", at(3))
    await store.aclose()
    assert all(w.done() and w.exception() is None for w in writers)
    with pytest.raises(StorageError):
        await store.stations.record_status(a_status())

    reopened = await open_store(migrated_url, migrate=False)
    try:
        assert len(await reopened.stations.status_history("CS1", limit=100)) == 50
        station = await reopened.stations.get("CS1")
        assert station is not None and station.last_seen_at == at(3)
    finally:
        await reopened.aclose()


async def test_submit_before_start_is_refused(engine: AsyncEngine) -> None:
    committer = GroupCommitter(engine)
    with pytest.raises(StorageError):
        await committer.submit(AddStation(a_station("X")))


async def test_limits_are_checked(engine: AsyncEngine) -> None:
    with pytest.raises(ValueError, match="max_batch"):
        GroupCommitter(engine, max_batch=10, max_pending=5)


async def test_an_unavailable_database_fails_the_batch_fast_and_recovers(
    migrated_url: str,
) -> None:
    """§6 test 62: the writes fail (no ack, so stations retry); later writes succeed again."""
    store = Store(create_engine(migrated_url, sqlite_busy_timeout_ms=100))
    await store.start()
    blocker = sqlite3.connect(migrated_url.removeprefix("sqlite+aiosqlite:///"))
    blocker.execute("BEGIN IMMEDIATE")
    try:
        start = asyncio.get_running_loop().time()
        results = await asyncio.gather(
            *(store.stations.record_status(a_status(connector_id=i)) for i in range(50)),
            return_exceptions=True,
        )
        elapsed = asyncio.get_running_loop().time() - start
    finally:
        blocker.rollback()
        blocker.close()
    try:
        errors = [r for r in results if isinstance(r, StorageError)]
        assert len(errors) == len(results)
        assert all(isinstance(e.__cause__, OperationalError) for e in errors)
        assert elapsed < 2  # two attempts at the batch, not one wait per write
        await store.stations.record_status(a_status(connector_id=99))
        assert [r.connector_id for r in await store.stations.status_history("CS1")] == [99]
    finally:
        await store.aclose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_an_outage_logs_a_few_lines_per_interval_not_one_per_batch(
    backend: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 7 finding 5: 30 s of full disk wrote 77 MB. Each failing batch used to log two lines;
    through the limiter the committer logs its burst, then sums the rest up. SQLite is "down"
    because another connection holds its write lock; PostgreSQL because nothing listens."""
    from csms.log import LogLimiter

    caplog.set_level(logging.INFO, "csms.storage.committer")
    clock = [0.0]
    limiter = LogLimiter(interval=60, burst=3, clock=lambda: clock[0])
    blocker: sqlite3.Connection | None = None
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'csms.db'}"
        await upgrade(url)
        engine = create_engine(url, sqlite_busy_timeout_ms=10)
        blocker = sqlite3.connect(tmp_path / "csms.db")
        blocker.execute("BEGIN IMMEDIATE")
    else:
        engine = create_engine("postgresql+asyncpg://csms:csms@127.0.0.1:9/csms")  # port 9: none
    committer = GroupCommitter(engine, log_limiter=limiter)
    await committer.start()
    try:
        for i in range(20):  # 20 batches, one after the other: 40 failed attempts
            with pytest.raises(StorageError):
                await committer.submit(AddStation(a_station(f"CS{i}")))
        lines = [r.message for r in caplog.records if r.name == "csms.storage.committer"]
        assert len(lines) == 3
        assert all("database unavailable" in line for line in lines)
        clock[0] = 61.0
        with pytest.raises(StorageError):
            await committer.submit(AddStation(a_station("LATER")))
        lines = [r.message for r in caplog.records if r.name == "csms.storage.committer"]
        assert "database unavailable repeated 37 times in the last 61 s" in lines[3]
    finally:
        if blocker is not None:
            blocker.rollback()
            blocker.close()
        await committer.aclose()
        await engine.dispose()
