"""``last_seen_at`` reflects any frame from the station, not only Heartbeat (issue 7 finding 10),
on SQLite and PostgreSQL; times are coalesced in memory and flushed by the group committer."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from csms.container import Csms
from csms.server.connection import SEEN_RESOLUTION
from csms.storage import Store
from tests.integration.harness import BOOT_16, RunningCsms, call, settings_for


class _Clock:
    """csms's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


async def _seen_at(store: Store, station_id: str, expected: datetime) -> datetime | None:
    """``last_seen_at`` once it reaches ``expected`` (flushed about once a second), or as it is."""
    seen = None
    for _ in range(60):
        station = await store.stations.get(station_id)
        assert station is not None
        seen = station.last_seen_at
        if seen is not None and seen >= expected:
            break
        await asyncio.sleep(0.05)
    return seen


async def test_last_seen_moves_on_any_frame(database_url: str, tmp_path: Path) -> None:
    clock = _Clock()
    settings = settings_for(tmp_path)
    settings = dataclasses.replace(
        settings, database=dataclasses.replace(settings.database, url=database_url)
    )
    csms = Csms(settings, clock=clock)
    await csms.start()
    try:
        server = RunningCsms(csms)
        store = csms.store
        assert store is not None
        await server.add_station("CS-SEEN")
        async with server.connect("CS-SEEN") as ws:
            boot = await call(ws, "1", "BootNotification", BOOT_16)
            assert boot[2]["status"] == "Accepted"
            steps: list[tuple[str, dict[str, object]]] = [
                (
                    "StatusNotification",
                    {"connectorId": 1, "errorCode": "NoError", "status": "Available"},
                ),
                (
                    "MeterValues",
                    {
                        "connectorId": 1,
                        "meterValue": [
                            {"timestamp": "2026-06-01T12:00:00Z", "sampledValue": [{"value": "5"}]}
                        ],
                    },
                ),
            ]
            for n, (action, payload) in enumerate(steps, start=2):
                await asyncio.sleep(SEEN_RESOLUTION)  # a station is noted as seen once a second
                clock.now += timedelta(minutes=5)
                reply = await call(ws, str(n), action, payload)
                assert reply[0] == 3, reply
                assert await _seen_at(store, "CS-SEEN", clock.now) == clock.now, action
            # A CALLRESULT counts too: csms asks, the station answers.
            await asyncio.sleep(SEEN_RESOLUTION)
            clock.now += timedelta(minutes=5)
            asked = asyncio.create_task(csms.registry.call("CS-SEEN", "ClearCache", {}))
            request = orjson.loads(await ws.recv())
            await ws.send(orjson.dumps([3, request[1], {"status": "Accepted"}]).decode())
            assert await asked == {"status": "Accepted"}
            assert await _seen_at(store, "CS-SEEN", clock.now) == clock.now
    finally:
        await csms.close()
