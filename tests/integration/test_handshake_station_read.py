"""The handshake's station read (issue 11 item 5) never admits on stale data: a station that has
connected once (its row read through the direct read path of storage/station_reads.py)
is refused at its next handshake once the operator API changed its password, and its next
BootNotification is answered Rejected once the API rejected it; decommissioned: 404. SQLite and
PostgreSQL; across two cluster nodes in tests/integration/test_cluster.py."""

from __future__ import annotations

from pathlib import Path

from websockets.exceptions import InvalidStatus

from tests.integration.charging import csms_on
from tests.integration.harness import BOOT_16, PASSWORD, RunningCsms, call

NEW = b"a-brand-new-password-0123456789"


async def _status_at_connect(server: RunningCsms, password: bytes) -> int:
    """101 when the handshake is admitted, else the refusal's HTTP status."""
    try:
        async with server.connect("CP-R", password=password):
            return 101
    except InvalidStatus as refused:
        return refused.response.status_code


async def test_api_changes_count_at_the_next_handshake(database_url: str, tmp_path: Path) -> None:
    async with csms_on(database_url, tmp_path) as server:
        await server.add_station("CP-R")
        async with server.connect("CP-R", subprotocols=["ocpp1.6"]) as ws:
            assert (await call(ws, "b1", "BootNotification", BOOT_16))[2]["status"] == "Accepted"
        async with server.api() as api:
            changed = await api.patch("/api/v1/stations/CP-R", json={"password": NEW.decode()})
            assert changed.status_code == 200, changed.text
            assert await _status_at_connect(server, PASSWORD) == 401
            assert await _status_at_connect(server, NEW) == 101

            rejected = await api.patch(
                "/api/v1/stations/CP-R", json={"registration_status": "Rejected"}
            )
            assert rejected.status_code == 200, rejected.text
            async with server.connect("CP-R", password=NEW, subprotocols=["ocpp1.6"]) as ws:
                reply = await call(ws, "b2", "BootNotification", BOOT_16)
                assert reply[2]["status"] == "Rejected"

            assert (await api.delete("/api/v1/stations/CP-R")).status_code == 204
            assert await _status_at_connect(server, NEW) == 404
