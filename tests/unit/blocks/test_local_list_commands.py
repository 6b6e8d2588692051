"""Local list commands against a scripted station and a real (SQLite) store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from csms.blocks.localauthlist import LocalListCommands
from csms.domain.errors import CallTimeout, InvalidPayload
from csms.domain.localauth import (
    AuthorizationStatus,
    LocalListEntry,
    LocalListSyncState,
    UpdateStatus,
    UpdateType,
)
from csms.rpc import OcppVersion
from csms.storage import SqliteSynchronous, Store, open_store
from tests.unit.blocks.scripted_gateway import ScriptedGateway
from tests.unit.storage.builders import a_station

Payload = dict[str, Any]
SYNC = LocalListSyncState


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'csms.db'}"
    store = await open_store(url, sqlite_synchronous=SqliteSynchronous.NORMAL)
    try:
        await store.stations.add(a_station("CS1"))
        yield store
    finally:
        await store.aclose()


class Station16:
    """A 1.6 station with SendLocalListMaxLength 2 that keeps its list like the spec says."""

    def __init__(self, max_length: str | None = "2") -> None:
        self.max_length = max_length
        self.version = 0
        self.tags: dict[str, Payload] = {}
        self.status = "Accepted"  # what it answers SendLocalList with

    def __call__(self, action: str, payload: Payload) -> Payload:
        if action == "GetConfiguration":
            if self.max_length is None:
                return {"unknownKey": payload["key"]}
            key = {"key": "SendLocalListMaxLength", "readonly": True, "value": self.max_length}
            return {"configurationKey": [key]}
        if action == "GetLocalListVersion":
            return {"listVersion": self.version}
        assert action == "SendLocalList"
        if self.status != "Accepted":
            return {"status": self.status}
        if payload["updateType"] == "Full":
            self.tags = {}
        for item in payload.get("localAuthorizationList", []):
            if "idTagInfo" in item:
                self.tags[item["idTag"]] = item["idTagInfo"]
            else:
                self.tags.pop(item["idTag"], None)
        self.version = payload["listVersion"]
        return {"status": "Accepted"}


def tags(*names: str) -> list[LocalListEntry]:
    return [LocalListEntry(name) for name in names]


async def test_a_full_list_is_split_to_the_station_limit(store: Store) -> None:
    station = Station16()
    gateway = ScriptedGateway(OcppVersion.V16, station)
    commands = LocalListCommands(gateway, store.local_lists)
    result = await commands.send_local_list("CS1", tags("E", "D", "C", "B", "A"))
    assert result.accepted
    assert gateway.actions() == ["GetConfiguration"] + ["SendLocalList"] * 3
    sent = [payload for action, payload in gateway.calls if action == "SendLocalList"]
    assert [
        (p["listVersion"], p["updateType"], len(p["localAuthorizationList"])) for p in sent
    ] == [
        (1, "Full", 2),
        (2, "Differential", 2),
        (3, "Differential", 1),
    ]
    assert sorted(station.tags) == ["A", "B", "C", "D", "E"]
    assert (result.version, result.sync.state, result.sync.station_version) == (3, SYNC.IN_SYNC, 3)
    assert result.sync.max_items == 2
    assert [m.version for m in result.messages] == [1, 2, 3]
    assert [m.version for m in await store.local_lists.updates("CS1")] == [3, 2, 1]

    # The limit is cached; a Differential update builds on our stored list.
    gateway.calls.clear()
    changes = [LocalListEntry("A", None), LocalListEntry("F", AuthorizationStatus.BLOCKED)]
    second = await commands.send_local_list("CS1", changes, UpdateType.DIFFERENTIAL)
    assert gateway.actions() == ["SendLocalList"]
    assert second.version == 4
    assert sorted(station.tags) == ["B", "C", "D", "E", "F"]
    assert [e.id_token for e in await store.local_lists.entries("CS1")] == ["B", "C", "D", "E", "F"]
    assert (await commands.get_local_list_version("CS1")).sync.state is SYNC.IN_SYNC


async def test_a_refused_differential_falls_back_to_the_full_list(store: Store) -> None:
    station = Station16(max_length="10")
    gateway = ScriptedGateway(OcppVersion.V16, station)
    commands = LocalListCommands(gateway, store.local_lists)
    await commands.send_local_list("CS1", tags("A", "B"))
    station.status = "VersionMismatch"
    original = station.__call__

    def refuse_differential(action: str, payload: Payload) -> Payload:
        if action == "SendLocalList" and payload["updateType"] == "Full":
            station.status = "Accepted"
        return original(action, payload)

    gateway.answer = refuse_differential
    result = await commands.send_local_list("CS1", tags("C"), UpdateType.DIFFERENTIAL)
    assert [(m.update_type, m.status) for m in result.messages] == [
        (UpdateType.DIFFERENTIAL, UpdateStatus.VERSION_MISMATCH),
        (UpdateType.FULL, UpdateStatus.ACCEPTED),
    ]
    assert sorted(station.tags) == ["A", "B", "C"]
    assert result.accepted
    assert (result.version, result.sync.station_version) == (3, 3)

    without = await commands.send_local_list("CS1", tags("D"), UpdateType.DIFFERENTIAL)
    assert without.accepted  # the station accepts again (status was reset by the Full)
    station.status = "Failed"
    failed = await commands.send_local_list(
        "CS1", tags("E"), UpdateType.DIFFERENTIAL, fallback_to_full=False
    )
    assert failed.status is UpdateStatus.FAILED
    assert len(failed.messages) == 1
    assert failed.sync.state is SYNC.FAILED


async def test_not_supported_and_a_version_of_minus_one(store: Store) -> None:
    station = Station16()
    station.status = "NotSupported"
    gateway = ScriptedGateway(OcppVersion.V16, station)
    commands = LocalListCommands(gateway, store.local_lists)
    result = await commands.send_local_list("CS1", tags("A"))
    assert result.sync.state is SYNC.NOT_SUPPORTED
    station.version = -1
    assert (await commands.get_local_list_version("CS1")).sync.state is SYNC.NOT_SUPPORTED


async def test_the_station_version_decides_the_sync_state(store: Store) -> None:
    station = Station16()
    gateway = ScriptedGateway(OcppVersion.V16, station)
    commands = LocalListCommands(gateway, store.local_lists)
    assert (await commands.sync_state("CS1")).version == 0
    station.version = 0
    assert (await commands.get_local_list_version("CS1")).sync.state is SYNC.IN_SYNC
    await commands.send_local_list("CS1", tags("A"))
    station.version = 17  # someone else changed the station's list
    result = await commands.get_local_list_version("CS1")
    assert (result.version, result.sync.state, result.sync.station_version) == (
        17,
        SYNC.PENDING,
        17,
    )
    again = await commands.send_local_list("CS1", tags("A"))
    assert again.version == 18  # above the station's version, so it is never refused as old


async def test_no_answer_is_recorded_and_raised(store: Store) -> None:
    def silent(action: str, payload: Payload) -> Payload:
        if action == "SendLocalList":
            raise CallTimeout("no reply")
        return Station16()(action, payload)

    commands = LocalListCommands(ScriptedGateway(OcppVersion.V16, silent), store.local_lists)
    with pytest.raises(CallTimeout):
        await commands.send_local_list("CS1", tags("A"))
    [update] = await store.local_lists.updates("CS1")
    assert update.status is None
    assert update.error == "CallTimeout: no reply"
    assert (await commands.sync_state("CS1")).state is SYNC.FAILED


async def test_invalid_lists_are_refused_before_anything_is_sent(store: Store) -> None:
    gateway = ScriptedGateway(OcppVersion.V16, Station16())
    commands = LocalListCommands(gateway, store.local_lists)
    with pytest.raises(InvalidPayload, match="unique"):
        await commands.send_local_list("CS1", tags("A", "A"))
    with pytest.raises(InvalidPayload, match="remove"):
        await commands.send_local_list("CS1", [LocalListEntry("A", None)])
    with pytest.raises(InvalidPayload):
        await commands.send_local_list("CS1", tags("X" * 21))
    assert gateway.calls == []
    assert await store.local_lists.sync_state("CS1") is None


async def test_an_unreported_limit_falls_back_and_is_asked_again(store: Store) -> None:
    gateway = ScriptedGateway(OcppVersion.V16, Station16(max_length=None))
    commands = LocalListCommands(gateway, store.local_lists, fallback_max_items=3)
    result = await commands.send_local_list("CS1", tags(*"ABCDEFG"))
    assert [m.entries for m in result.messages] == [3, 3, 1]
    await commands.send_local_list("CS1", tags("A"))
    assert gateway.actions().count("GetConfiguration") == 2


@pytest.mark.parametrize("version", [OcppVersion.V201, OcppVersion.V21])
async def test_2x_reads_items_and_bytes_per_message(store: Store, version: OcppVersion) -> None:
    def station(action: str, payload: Payload) -> Payload:
        if action == "GetVariables":
            return {
                "getVariableResult": [
                    {
                        "attributeStatus": "Accepted",
                        "component": d["component"],
                        "variable": d["variable"],
                        "attributeValue": "100"
                        if d["variable"]["name"] == "ItemsPerMessage"
                        else "400",
                    }
                    for d in payload["getVariableData"]
                ]
            }
        if action == "GetLocalListVersion":
            return {"versionNumber": 3}
        return {"status": "Accepted"}

    gateway = ScriptedGateway(version, station)
    commands = LocalListCommands(gateway, store.local_lists)
    result = await commands.send_local_list("CS1", tags(*(f"TOKEN-{i:04d}" for i in range(20))))
    sent = [payload for action, payload in gateway.calls if action == "SendLocalList"]
    assert len(sent) > 1  # 400 bytes hold only a few entries
    assert sum(len(p["localAuthorizationList"]) for p in sent) == 20
    assert all(len(orjson.dumps([2, "x" * 36, "SendLocalList", p])) <= 400 for p in sent)
    assert [p["versionNumber"] for p in sent] == list(range(1, len(sent) + 1))
    assert (result.sync.max_items, result.sync.max_bytes) == (100, 400)
    version_result = await commands.get_local_list_version("CS1")
    assert (version_result.version, version_result.sync.state) == (3, SYNC.PENDING)


async def test_concurrent_updates_of_one_station_do_not_interleave(store: Store) -> None:
    station = Station16()
    gateway = ScriptedGateway(OcppVersion.V16, station)
    commands = LocalListCommands(gateway, store.local_lists)
    first, second = await asyncio.gather(
        commands.send_local_list("CS1", tags("A", "B", "C")),
        commands.send_local_list("CS1", tags("D", "E", "F")),
    )
    sent = [(p["listVersion"], p["updateType"]) for a, p in gateway.calls if a == "SendLocalList"]
    assert sent == [(1, "Full"), (2, "Differential"), (3, "Full"), (4, "Differential")]
    assert (first.version, second.version) == (2, 4)
    assert sorted(station.tags) == ["D", "E", "F"]
