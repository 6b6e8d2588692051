"""A handler that sends a CALL to the very station whose CALL it handles must not deadlock.

mobilityhouse/ocpp#130: a receive loop that awaits handlers inline can never read the reply. In csms
the reader keeps reading while the station's CALLs are handled (server/connection.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest
from websockets.asyncio.client import connect

from csms.blocks.datatransfer import DataTransferRegistry
from csms.config import ServerSettings
from csms.container import build_dispatcher, build_router, utc_now
from csms.domain.commands import DataTransferResult, DataTransferStatus
from csms.domain.credentials import hash_password
from csms.domain.datatransfer import DataTransferRequest
from csms.domain.model import RegistrationStatus, Station
from csms.server.listener import StationListener
from csms.server.registry import ConnectionRegistry
from csms.storage import Store, open_store
from tests.integration.harness import BOOT_16, PASSWORD, basic_auth, call, settings_for


class AskBack:
    """A vendor's DataTransfer handler that asks the station for its configuration and returns it."""

    def __init__(self, registry: ConnectionRegistry) -> None:
        self._registry = registry

    async def handle(self, request: DataTransferRequest) -> DataTransferResult:
        reply = await self._registry.call(request.station_id, "GetConfiguration", {}, timeout=5)
        return DataTransferResult(DataTransferStatus.ACCEPTED, data=orjson.dumps(reply).decode())


@pytest.fixture
async def listener(tmp_path: Path) -> AsyncIterator[StationListener]:
    settings = settings_for(tmp_path)
    store: Store = await open_store(settings.database.url)
    await store.stations.add(
        Station(
            id="LOOP",
            registration_status=RegistrationStatus.ACCEPTED,
            password_hash=hash_password(PASSWORD),
        )
    )
    registry = ConnectionRegistry()
    vendors = DataTransferRegistry()
    vendors.register("acme", AskBack(registry))
    router = build_router(store.stations, store.transactions, settings, data_transfer=vendors)
    listener = StationListener(
        dataclasses.replace(ServerSettings(), port=0),
        stations=store.stations,
        dispatcher=build_dispatcher(router),
        registry=registry,
        clock=utc_now,
    )
    await listener.start()
    try:
        yield listener
    finally:
        await listener.close()
        await store.aclose()


async def test_handler_calling_the_same_station_does_not_deadlock(
    listener: StationListener,
) -> None:
    async with connect(
        f"ws://127.0.0.1:{listener.port}/ocpp/LOOP",
        subprotocols=["ocpp1.6"],  # type: ignore[list-item]
        additional_headers=basic_auth("LOOP", PASSWORD),
    ) as ws:
        assert (await call(ws, "b", "BootNotification", BOOT_16))[2]["status"] == "Accepted"
        await ws.send(orjson.dumps([2, "dt", "DataTransfer", {"vendorId": "acme"}]).decode())
        ours = orjson.loads(await ws.recv())
        assert ours[0] == 2 and ours[2] == "GetConfiguration"
        keys = [{"key": "HeartbeatInterval", "readonly": False, "value": "300"}]
        await ws.send(orjson.dumps([3, ours[1], {"configurationKey": keys}]).decode())
        reply = orjson.loads(await ws.recv())
        assert reply[:2] == [3, "dt"]
        assert orjson.loads(reply[2]["data"])["configurationKey"] == keys
