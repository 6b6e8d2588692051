"""The local list repository on SQLite and PostgreSQL: target lists, sync state, history."""

from __future__ import annotations

import pytest

from csms.domain.errors import StorageError
from csms.domain.localauth import (
    AuthorizationStatus,
    LocalListEntry,
    LocalListSyncState,
    LocalListUpdate,
    UpdateStatus,
    UpdateType,
)
from csms.storage import Store
from tests.unit.storage.builders import at


async def test_a_station_never_managed_has_no_state(store: Store) -> None:
    assert await store.local_lists.sync_state("CS1") is None
    assert await store.local_lists.entries("CS1") == []
    assert await store.local_lists.updates("CS1") == []


async def test_target_list_round_trip_and_replacement(store: Store) -> None:
    lists = store.local_lists
    first = [
        LocalListEntry("B", AuthorizationStatus.BLOCKED, expiry_date=at(60), parent_id_token="G"),
        LocalListEntry("A", token_type="KeyCode"),
    ]
    await lists.set_target("CS1", first, 3, at(0))
    assert await lists.entries("CS1") == sorted(first, key=lambda e: e.id_token)
    state = await lists.sync_state("CS1")
    assert state is not None
    assert (state.state, state.version, state.station_version, state.entries) == (
        LocalListSyncState.PENDING,
        3,
        None,
        2,
    )
    await lists.set_target("CS1", [LocalListEntry("C")], 4, at(1))
    assert [e.id_token for e in await lists.entries("CS1")] == ["C"]
    with pytest.raises(ValueError, match="no removals"):
        await lists.set_target("CS1", [LocalListEntry("D", None)], 5, at(2))


async def test_updates_move_the_station_version_and_state(store: Store) -> None:
    lists = store.local_lists
    await lists.set_target("CS1", [LocalListEntry("A")], 2, at(0))
    sent = LocalListUpdate("CS1", 1, UpdateType.FULL, 1, UpdateStatus.ACCEPTED, at(1))
    await lists.record_update(sent, LocalListSyncState.PENDING)
    refused = LocalListUpdate(
        "CS1", 2, UpdateType.DIFFERENTIAL, 0, UpdateStatus.VERSION_MISMATCH, at(2)
    )
    await lists.record_update(refused, LocalListSyncState.FAILED)
    lost = LocalListUpdate("CS1", 3, UpdateType.FULL, 1, None, at(3), error="CallTimeout: late")
    await lists.record_update(lost, LocalListSyncState.FAILED)
    state = await lists.sync_state("CS1")
    assert state is not None
    assert state.station_version == 1  # only an Accepted answer moves it
    assert state.last_status is UpdateStatus.VERSION_MISMATCH  # no answer keeps the last one
    assert state.state is LocalListSyncState.FAILED
    assert await lists.updates("CS1") == [lost, refused, sent]
    assert await lists.updates("CS1", limit=1) == [lost]


async def test_station_version_and_limits_are_stored(store: Store) -> None:
    lists = store.local_lists
    await lists.set_limits("CS1", 10, 4000, at(0))  # creates the row
    await lists.record_station_version("CS1", 7, LocalListSyncState.PENDING, at(1))
    state = await lists.sync_state("CS1")
    assert state is not None
    assert (state.max_items, state.max_bytes, state.station_version, state.version) == (
        10,
        4000,
        7,
        0,
    )
    assert state.updated_at == at(1)


async def test_an_unknown_station_is_a_storage_error(store: Store) -> None:
    with pytest.raises(StorageError):
        await store.local_lists.set_target("NOPE", [LocalListEntry("A")], 1, at(0))
