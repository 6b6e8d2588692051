"""``GET /stations/{id}/connections``: a station's connects and disconnects with the reason a
connection ended (the dashboard's station page shows it), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import httpx

from csms.domain.connections import close_reason
from tests.integration.harness import BOOT_16, call, running_csms, settings_for

STATION = "CS-HISTORY"


async def _history(client: httpx.AsyncClient, count: int, **params: Any) -> dict[str, Any]:
    """The history once it holds ``count`` entries (the committer writes within a moment)."""
    page: dict[str, Any] = {}
    for _ in range(100):
        answer = await client.get(f"/api/v1/stations/{STATION}/connections", params=params)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        if len(page["items"]) >= count:
            break
        await asyncio.sleep(0.05)
    return page


async def test_connects_and_disconnects_are_listed_with_the_reason(
    database_url: str, tmp_path: Path
) -> None:
    settings = settings_for(tmp_path)
    settings = dataclasses.replace(
        settings, database=dataclasses.replace(settings.database, url=database_url)
    )
    async with running_csms(settings) as server, server.api() as client:
        await server.add_station(STATION)
        async with server.connect(STATION) as ws:
            assert (await call(ws, "1", "BootNotification", BOOT_16))[2]["status"] == "Accepted"
            await ws.close(code=1000, reason="maintenance")
        async with server.connect(STATION) as ws:
            await call(ws, "2", "Heartbeat", {})

        page = await _history(client, 4)
        events = [(i["event"], i["ocpp_version"], i["reason"]) for i in page["items"]]
        assert events == [
            ("disconnected", "1.6", "1000 normal closure"),  # the client's close frame
            ("connected", "1.6", None),
            ("disconnected", "1.6", "1000 normal closure: maintenance"),
            ("connected", "1.6", None),
        ]
        assert page["next_cursor"] is None

        first = (await _history(client, 1, limit=3))["next_cursor"]
        older = await _history(client, 1, limit=3, cursor=first)
        assert [i["reason"] for i in older["items"]] == [None]  # the first connect
        missing = await client.get("/api/v1/stations/NOPE/connections")
        assert missing.status_code == 404
        bad = await client.get(f"/api/v1/stations/{STATION}/connections?cursor=xyz")
        assert bad.status_code == 422


def test_close_reason_in_words() -> None:
    assert close_reason(1006, "") == "1006 connection lost (no close frame)"
    assert close_reason(None, None) == "connection lost (no close frame)"
    assert close_reason(4000, "custom") == "4000 closed: custom"
    assert len(close_reason(1000, "x" * 500)) == 160
