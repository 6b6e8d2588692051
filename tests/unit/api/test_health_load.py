"""/healthz and /readyz report the station endpoint's load; /readyz is 503 when saturated."""

from __future__ import annotations

import httpx

import csms
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
        "connections": {"open": 3, "in_handshake": 1, "max": 3},
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
        "connections": {"open": 3, "in_handshake": 0, "max": 3},
    }


async def test_readyz_without_a_station_endpoint_is_ready(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert (response.status_code, response.json()) == (200, {"status": "ready"})
