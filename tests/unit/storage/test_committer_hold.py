"""The committer keeps its PostgreSQL connection while batches keep coming (task s13_steady):
no pool checkout, so no pre-ping (three round trips), per batch; a broken connection costs one
retried attempt; the connection goes back to the pool when idle and at close."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from csms.storage import Store, committer, open_store
from csms.storage.engine import PoolSizing
from csms.storage.tables import status_history
from tests.unit.storage.builders import a_station, a_status, at
from tests.unit.storage.db import fetch


@pytest.fixture
def pg_store(store: Store, migrated_database_url: str) -> Store:
    """The storage tests' store (conftest.py), on PostgreSQL only."""
    if migrated_database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL only: SQLite batches run on the writer thread's own connection")
    return store


def _count_checkouts(engine: AsyncEngine) -> list[int]:
    seen = [0]

    def on_checkout(*_args: object) -> None:
        seen[0] += 1

    event.listen(engine.sync_engine, "checkout", on_checkout)
    return seen


async def test_back_to_back_batches_share_one_checkout(pg_store: Store) -> None:
    checkouts = _count_checkouts(pg_store.engine)
    for i in range(20):  # one batch each
        await pg_store.stations.record_status(a_status(connector_id=i, timestamp=at(i)))
    assert checkouts[0] <= 1  # main: 20, each pre-pinged
    assert len(await fetch(pg_store.engine, status_history)) == 20


async def test_a_broken_kept_connection_costs_one_retried_attempt(
    pg_store: Store, migrated_database_url: str
) -> None:
    await pg_store.stations.record_status(a_status(connector_id=1, timestamp=at(1)))
    dsn = migrated_database_url.replace("postgresql+asyncpg://", "postgresql://")
    admin = await asyncpg.connect(dsn)
    try:  # as a server restart or failover would: every other backend of this database is gone
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await admin.close()
    await pg_store.stations.record_status(a_status(connector_id=2, timestamp=at(2)))
    rows = await fetch(pg_store.engine, status_history)
    assert sorted(r["connector_id"] for r in rows) == [1, 2]


async def test_the_connection_goes_back_to_the_pool_when_idle_and_at_close(
    migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if migrated_database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL only")
    monkeypatch.setattr(committer, "HOLD_IDLE_S", 0.05)
    store = await open_store(migrated_database_url)
    pool = store.engine.pool
    try:
        await store.stations.add(a_station("CS1"))
        assert pool.checkedout() == 1  # type: ignore[attr-defined]  # kept for the next batch
        for _ in range(100):
            if pool.checkedout() == 0:  # type: ignore[attr-defined]
                break
            await asyncio.sleep(0.01)
        assert pool.checkedout() == 0  # type: ignore[attr-defined]
        await store.stations.record_status(a_status(connector_id=1))
    finally:
        await store.aclose()
    assert pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_a_small_pool_is_not_held_when_no_other_connection_is_free(
    migrated_database_url: str,
) -> None:
    """Pool size 2: the handshake's station reader keeps one, so a kept committer connection
    left no other read a connection (handshakes cut by their deadline under a burst,
    tests/integration/test_accept_backpressure.py); the committer gives it back after each batch."""
    if migrated_database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL only")
    store = await open_store(migrated_database_url, pool=PoolSizing(size=2, max_overflow=0))
    pool = store.engine.pool
    try:
        assert await store.stations.get("nobody") is None  # the reader keeps its connection
        await store.stations.add(a_station("CS1"))
        assert pool.checkedout() == 1  # type: ignore[attr-defined]  # the reader's only
        await store.stations.record_status(a_status(connector_id=1))
        assert pool.checkedout() == 1  # type: ignore[attr-defined]
    finally:
        await store.aclose()
