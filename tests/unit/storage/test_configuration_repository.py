"""Stored configuration keys (1.6 GetConfiguration / ChangeConfiguration) on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from csms.domain.commands import MASKED, ConfigurationKey
from csms.domain.errors import StorageError
from csms.storage import Store
from csms.storage.tables_configuration import station_configuration

T1 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
T2 = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)


async def test_reads_and_changes_are_merged_per_key(store: Store) -> None:
    config = store.configuration
    await config.record_read(
        "CS1",
        [
            ConfigurationKey("HeartbeatInterval", "300", readonly=False),
            ConfigurationKey("NumberOfConnectors", "2", readonly=True),
        ],
        ["Unknown1"],
        T1,
    )
    await config.record_change("CS1", "HeartbeatInterval", "60", T2)
    await config.record_change("CS1", "NewKey", "x", T2)
    await config.record_read(
        "CS1",
        [ConfigurationKey("Unknown1", "now known", readonly=False)],
        ["NumberOfConnectors"],
        T2,
    )
    assert list(await config.keys("CS1")) == [
        ConfigurationKey("HeartbeatInterval", "60", readonly=False, read_at=T1, changed_at=T2),
        ConfigurationKey("NewKey", "x", readonly=False, changed_at=T2),
        ConfigurationKey("NumberOfConnectors", None, readonly=None, unknown=True, read_at=T2),
        ConfigurationKey("Unknown1", "now known", readonly=False, read_at=T2),
    ]
    assert await config.keys("CS2") == []


async def test_a_secret_never_reaches_the_database(store: Store) -> None:
    config = store.configuration
    await config.record_read(
        "CS1", [ConfigurationKey("AuthorizationKey", "0011223344556677", readonly=False)], [], T1
    )
    await config.record_change("CS1", "authorizationKey", "8899aabbccddeeff", T2)
    async with store.engine.connect() as conn:
        values = (await conn.execute(select(station_configuration.c.value))).scalars().all()
    assert values == [MASKED, MASKED]


async def test_an_unknown_station_is_a_storage_error(store: Store) -> None:
    with pytest.raises(StorageError):
        await store.configuration.record_change("NOPE", "K", "V", T1)
