"""The handshake's station read (storage/station_reads.py): on a SQLite file and on PostgreSQL it
bypasses the async engine, yet always answers the committed row, also one another process just
wrote; when the direct connection cannot answer (busy, broken) the engine does."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import delete, event, text
from sqlalchemy.engine import make_url

from csms.config import SettingsError, load_settings
from csms.domain.model import RegistrationStatus
from csms.storage import Store, open_store
from csms.storage.repositories import SqlStationRepository
from csms.storage.station_reads import (
    FALLBACK,
    PostgresStationReader,
    SqliteStationReader,
    sqlite_file,
)
from csms.storage.tables import stations
from tests.unit.storage.builders import a_station, at


async def test_direct_read_is_the_engine_read(store: Store) -> None:
    station = a_station(
        "CS-ALL",
        registration_status=RegistrationStatus.PENDING,
        accepted=True,
        ocpp_version="ocpp2.0.1",
        password_hash="$scrypt$salt$hash",
        pending_password_hash="$scrypt$salt$new",
        lenient=True,
        online=True,
        min_security_profile=2,
        created_at=at(0),
        last_boot_at=at(1),
        decommissioned_at=None,
    )
    await store.stations.add(station)
    engine_only = SqlStationRepository(store.engine, store._committer, direct_reads=False)
    assert store.stations._direct is not None  # a SQLite file and PostgreSQL: both direct
    assert await store.stations.get("CS-ALL") == await engine_only.get("CS-ALL") == station
    assert await store.stations.get("nobody") is None


async def test_a_change_by_another_process_counts_at_the_next_read(
    store: Store, migrated_database_url: str
) -> None:
    """An API node (here: a second store on the same database) changes the password, rejects,
    decommissions, deletes: the gateway's next read sees each at once (nothing cached)."""
    assert (await store.stations.get("CS1")) is not None  # read (and connection opened) first
    other = await open_store(migrated_database_url, migrate=False)
    try:
        await other.stations.set_password_hash("CS1", "$scrypt$new$hash")
        assert (await store.stations.get("CS1")).password_hash == "$scrypt$new$hash"  # type: ignore[union-attr]
        await other.stations.set_registration("CS1", RegistrationStatus.REJECTED)
        got = await store.stations.get("CS1")
        assert got is not None and got.registration_status is RegistrationStatus.REJECTED
        await other.stations.set_decommissioned("CS1", at(5))
        got = await store.stations.get("CS1")
        assert got is not None and got.decommissioned_at == at(5)
        async with other.engine.begin() as conn:
            await conn.execute(delete(stations).where(stations.c.id == "CS1"))
        assert await store.stations.get("CS1") is None
    finally:
        await other.aclose()


async def test_falls_back_to_the_engine_when_the_reader_cannot_answer(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    reader = store.stations._direct
    assert reader is not None

    async def cannot(_sid: str) -> object:
        return FALLBACK

    monkeypatch.setattr(reader, "fetch", cannot)
    got = await store.stations.get("CS1")
    assert got is not None and got.id == "CS1"


async def test_reader_of_a_missing_file_falls_back(tmp_path: Path) -> None:
    reader = SqliteStationReader(tmp_path / "absent.db")
    assert await reader.fetch("CS1") is FALLBACK
    assert not (tmp_path / "absent.db").exists()  # read-only: never creates a database
    await reader.aclose()


async def test_postgres_reader_busy_or_broken_falls_back_then_reconnects(
    store: Store, migrated_database_url: str
) -> None:
    reader = store.stations._direct
    if not isinstance(reader, PostgresStationReader):
        pytest.skip("PostgreSQL only")
    assert (await reader.fetch("CS1")) is not None
    # One read at a time on its connection: a second one in the meantime is not queued.
    first = asyncio.ensure_future(reader.fetch("CS1"))
    await asyncio.sleep(0)  # the first query is on the wire
    assert await reader.fetch("CS1") is FALLBACK
    assert (await first) is not None
    # Its server process killed (failover, restart): the engine answers, the next read reconnects.
    pid = reader._driver.get_server_pid()
    async with store.engine.connect() as admin:
        await admin.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        for _ in range(200):  # until its server process is gone
            alive = await admin.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE pid = :p"), {"p": pid}
            )
            if alive.scalar_one() == 0:
                break
            await asyncio.sleep(0.01)
    got = await store.stations.get("CS1")
    assert got is not None and got.id == "CS1"
    assert await reader.fetch("CS1") is FALLBACK  # not retried at once (an outage: one attempt)
    reader._retry_at = 0.0
    assert (await reader.fetch("CS1")) is not None  # a new connection


async def test_postgres_reader_cancelled_mid_read_is_not_reused(store: Store) -> None:
    reader = store.stations._direct
    if not isinstance(reader, PostgresStationReader):
        pytest.skip("PostgreSQL only")
    assert (await reader.fetch("CS1")) is not None
    read = asyncio.ensure_future(reader.fetch("CS1"))
    await asyncio.sleep(0)  # the query is on the wire
    read.cancel()
    with pytest.raises(asyncio.CancelledError):
        await read
    got = await reader.fetch("CS1")
    assert got is not None and got[0] == "CS1"


@pytest.mark.parametrize(
    ("url", "direct"),
    [
        ("sqlite+aiosqlite:///./var/csms.db", True),
        ("sqlite+aiosqlite:///:memory:", False),
        ("sqlite+aiosqlite://", False),
        ("sqlite+aiosqlite:///file:mem?mode=memory&cache=shared&uri=true", False),
        ("postgresql+asyncpg://u:p@localhost/csms", False),  # not a file: its own reader
    ],
)
def test_only_a_sqlite_file_is_read_directly(url: str, direct: bool) -> None:
    assert (sqlite_file(make_url(url)) is not None) is direct


@pytest.mark.parametrize(("value", "on"), [("false", False), ("0", False), ("true", True)])
def test_the_direct_read_is_a_setting(value: str, on: bool) -> None:
    environ = {"CSMS_DATABASE_DIRECT_STATION_READS": value}
    assert load_settings(environ).database.direct_station_reads is on
    assert load_settings({}).database.direct_station_reads is True


def test_a_bad_direct_read_setting_is_refused() -> None:
    with pytest.raises(SettingsError, match="CSMS_DATABASE_DIRECT_STATION_READS"):
        load_settings({"CSMS_DATABASE_DIRECT_STATION_READS": "sometimes"})


async def test_a_station_read_takes_no_connection_of_the_engine(store: Store) -> None:
    """The point of the direct read: no pool checkout (and, on SQLite, no thread hop) per
    handshake. Fails on 3de9988, whose every read checked out a pooled connection."""
    assert (await store.stations.get("CS1")) is not None  # PostgreSQL: its connection held now
    checkouts = 0

    def counted(*_args: object) -> None:
        nonlocal checkouts
        checkouts += 1

    pool = store.engine.sync_engine.pool
    event.listen(pool, "checkout", counted)
    try:
        for _ in range(5):
            assert (await store.stations.get("CS1")) is not None
            assert await store.stations.get("nobody") is None
    finally:
        event.remove(pool, "checkout", counted)
    assert checkouts == 0
