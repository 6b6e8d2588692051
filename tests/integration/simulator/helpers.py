"""Run simulated stations against a real csms on loopback, and read what csms stored."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import sqlalchemy as sa

from csms.container import utc_now
from csms.rpc.versions import OcppVersion
from csms.simulator import AgentOptions, SimStation, StationAgent, StationSpec
from csms.storage import tables
from tests.integration.harness import PASSWORD, RunningCsms

VERSIONS = [OcppVersion.V16, OcppVersion.V201, OcppVersion.V21]
FAST_BACKOFF = (0.05, 0.05, 3)
# The RFID tags the simulated drivers tap in these tests (registered by allow_tags).
SIM_TAGS = (*(f"SIM-CARD-{n}" for n in range(1, 9)), "CARD-1", "CARD-2")


async def allow_tags(server: RunningCsms, *tags: str) -> None:
    """Make ``tags`` known to csms where it keeps an id-token store (unknown tags are Invalid).

    A csms without Authorize accepts any tag (the station treats NotSupported as a local accept),
    so there is nothing to register.
    """
    tokens = getattr(server.csms.store, "tokens", None)
    if tokens is None:
        return
    id_token = importlib.import_module("csms.domain.tokens").IdToken
    for tag in tags or SIM_TAGS:
        if await tokens.get(tag) is None:
            await tokens.put(id_token(tag), utc_now())


def make_agent(
    url: str,
    identity: str,
    version: OcppVersion,
    *,
    password: bytes | None = PASSWORD,
    **options: Any,
) -> StationAgent:
    """An agent with sub-second intervals, so a scenario takes a fraction of a second."""
    spec = StationSpec(
        identity,
        version,
        evses=2,
        heartbeat_interval=0.5,
        meter_interval=0.1,
        backoff=FAST_BACKOFF,
    )
    defaults: dict[str, Any] = {
        "password": None if password is None else password.decode(),
        "call_timeout": 3.0,
        "fixed_heartbeat": True,
        "step_delay": 0.05,
        "charge_time": 0.3,
        "id_tags": SIM_TAGS[:2],
        "seed": 7,
    }
    defaults.update(options)
    return StationAgent(SimStation(spec), AgentOptions(url=url, **defaults))


@asynccontextmanager
async def running(agent: StationAgent) -> AsyncIterator[StationAgent]:
    """Run the agent's connection loop while the block runs."""
    task = asyncio.create_task(agent.run())
    try:
        async with asyncio.timeout(10):
            await agent.accepted.wait()
        yield agent
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def rows(server: RunningCsms, table: sa.Table, station_id: str) -> list[Any]:
    """Every row of ``table`` for the station, in insertion order."""
    store = server.csms.store
    assert store is not None
    async with store.engine.connect() as conn:
        result = await conn.execute(
            sa.select(table)
            .where((table.c.station_id if "station_id" in table.c else table.c.id) == station_id)
            .order_by(*(table.c.id,) if "id" in table.c else table.primary_key.columns)
        )
        return list(result)


async def wait_for_rows(
    server: RunningCsms, table: sa.Table, station_id: str, predicate: Any, timeout: float = 5.0
) -> list[Any]:
    """Poll until ``predicate(rows)`` holds (writes are committed by the group committer)."""
    async with asyncio.timeout(timeout):
        while True:
            found = await rows(server, table, station_id)
            if predicate(found):
                return found
            await asyncio.sleep(0.05)


async def until(predicate: Any, timeout: float = 5.0) -> None:
    """Poll ``predicate()`` until it is true."""
    async with asyncio.timeout(timeout):
        while True:
            if predicate():
                return
            await asyncio.sleep(0.02)


__all__ = [
    "SIM_TAGS",
    "VERSIONS",
    "allow_tags",
    "make_agent",
    "rows",
    "running",
    "tables",
    "until",
    "wait_for_rows",
]


async def read_and_change_configuration(api: httpx.AsyncClient, commands: str) -> None:
    """get-configuration of HeartbeatInterval and set-configuration of MeterValueSampleInterval
    to 5 through the typed commands under ``commands`` (``.../stations/{id}/commands``), both
    answered by the simulated station's 1.6 logic whatever its transport."""
    keys = await api.post(f"{commands}/get-configuration", json={"keys": ["HeartbeatInterval"]})
    assert keys.status_code == 200, keys.text
    assert [k["key"] for k in keys.json()["keys"]] == ["HeartbeatInterval"]
    change = await api.post(
        f"{commands}/set-configuration", json={"key": "MeterValueSampleInterval", "value": "5"}
    )
    assert change.status_code == 200 and change.json()["status"] == "Accepted", change.text
