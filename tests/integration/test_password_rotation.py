"""A01 password rotation answered RebootRequired, over real sockets, on SQLite and PostgreSQL.

The station takes the new password when it reboots and uses the old one until then: csms accepts
both, and the station's first connection with the new one makes it the only one (the old one is
then refused with 401).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from csms.domain.credentials import verify_password
from tests.integration.charging import csms_on, store_of
from tests.integration.conformance.octt import STATION, SUBPROTOCOL, connected
from tests.integration.harness import PASSWORD, RunningCsms, basic_auth


@pytest.fixture
async def server(database_url: str, tmp_path: Path) -> AsyncIterator[RunningCsms]:
    async with csms_on(database_url, tmp_path) as running:
        await running.add_station(STATION)
        yield running


async def _refused(server: RunningCsms, password: bytes) -> int:
    """The HTTP status of a handshake with ``password``."""
    with pytest.raises(InvalidStatus) as caught:
        async with connect(
            server.ocpp_url + STATION,
            subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
            additional_headers=basic_auth(STATION, password),
        ):
            pass
    return caught.value.response.status_code


async def test_rotation_answered_reboot_required_switches_at_the_first_new_password_connection(
    server: RunningCsms,
) -> None:
    async with connected(server) as station, server.api() as api:
        await station.booted()
        request = asyncio.ensure_future(api.post(f"/api/v1/stations/{STATION}/authorization-key"))
        message_id, payload = await station.expect("SetVariables")
        [entry] = payload["setVariableData"]
        result = {
            "attributeStatus": "RebootRequired",
            "component": entry["component"],
            "variable": entry["variable"],
        }
        await station.reply(message_id, {"setVariableResult": [result]})
        response = await request
        assert response.status_code == 200
        assert response.json() == {"status": "RebootRequired", "rotated": False}
    new_password = entry["attributeValue"].encode()
    stored = await store_of(server).stations.get(STATION)
    assert stored is not None and stored.password_hash and stored.pending_password_hash
    assert verify_password(PASSWORD, stored.password_hash)
    assert verify_password(new_password, stored.pending_password_hash)

    # Not rebooted yet: the station still connects with the old password, and both stay valid.
    async with connected(server) as station:
        assert (await station.booted())["status"] == "Accepted"
    # Rebooted: it connects with the new one, which from now on is the only one.
    async with connected(server, password=new_password) as station:
        assert (await station.boot("RemoteReset"))["status"] == "Accepted"
    assert await _refused(server, PASSWORD) == 401
    stored = await store_of(server).stations.get(STATION)
    assert stored is not None and stored.pending_password_hash is None
    assert stored.password_hash is not None and verify_password(new_password, stored.password_hash)
    async with connected(server, password=new_password) as station:
        assert (await station.boot())["status"] == "Accepted"
