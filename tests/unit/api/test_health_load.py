"""/healthz and /readyz report the station endpoint's load; /readyz is 503 when saturated."""

from __future__ import annotations

import asyncio

import httpx

import csms
from csms.api.routes.health import DatabaseProbe
from csms.domain.errors import StorageError
from csms.domain.load import ConnectionLoad
from tests.unit.api.conftest import AppFactory, ClientFactory


async def test_healthz_shows_connections_and_saturation(
    make_app: AppFactory, make_client: ClientFactory
) -> None:
    load = ConnectionLoad(open=3, in_handshake=1, max=3, saturated=True)
    client = make_client(make_app(station_load=lambda: load))
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "version": csms.__version__,
        "connections": {"open": 3, "in_handshake": 1, "max": 3, "reading": 0},
        "saturated": True,
    }


async def test_readyz_is_503_with_retry_after_when_saturated(
    make_app: AppFactory, make_client: ClientFactory
) -> None:
    loads = [
        ConnectionLoad(open=1, in_handshake=0, max=3, saturated=False),
        ConnectionLoad(open=3, in_handshake=0, max=3, saturated=True),
    ]
    client = make_client(make_app(station_load=lambda: loads[0]))
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    loads.pop(0)
    saturated = await client.get("/readyz")
    assert saturated.status_code == 503
    assert saturated.headers["retry-after"] == "10"
    assert saturated.json() == {
        "status": "saturated",
        "connections": {"open": 3, "in_handshake": 0, "max": 3, "reading": 0},
    }


async def test_readyz_without_a_station_endpoint_is_ready(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert (response.status_code, response.json()) == (200, {"status": "ready"})


class _Ping:
    def __init__(self) -> None:
        self.calls = 0
        self.fail = False
        self.hang = False

    async def __call__(self) -> None:
        self.calls += 1
        if self.hang:
            await asyncio.sleep(10)
        if self.fail:
            raise StorageError("could not read from the database")


async def test_readyz_checks_the_database_and_caches_the_answer(
    make_app: AppFactory, make_client: ClientFactory
) -> None:
    ping, now = _Ping(), [0.0]
    probe = DatabaseProbe(ping, timeout=0.05, cache=1.0, clock=lambda: now[0])
    client = make_client(make_app(database=probe))
    ready = await client.get("/readyz")
    assert (ready.status_code, ready.json()) == (200, {"status": "ready", "database": "ok"})
    ping.fail = True
    for _ in range(5):  # within the cache: no new SELECT 1
        assert (await client.get("/readyz")).status_code == 200
    assert ping.calls == 1
    now[0] = 1.5
    down = await client.get("/readyz")
    assert down.status_code == 503 and down.headers["retry-after"] == "10"
    assert down.json() == {"status": "database-unavailable", "database": "unavailable"}
    assert ping.calls == 2
    assert (await client.get("/healthz")).status_code == 200  # liveness only
    ping.fail, ping.hang, now[0] = False, True, 3.0
    assert (await client.get("/readyz")).status_code == 503  # timed out


async def test_concurrent_probes_share_one_check() -> None:
    ping = _Ping()
    probe = DatabaseProbe(ping, timeout=1.0, cache=1.0)
    assert await asyncio.gather(*(probe.ok() for _ in range(10))) == [True] * 10
    assert ping.calls == 1
