"""The `ocpp` package's own ChargePoint (1.6, 2.0.1, 2.1) against a real csms over loopback.

An independent client: if csms and our simulator shared a misunderstanding of the spec, these tests
would still catch it. Each station boots, heartbeats and sends StatusNotifications; then the generic
call API sends it a CALL and returns the station's reply.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from ocpp.routing import on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v16.enums import Action as Action16
from ocpp.v21 import ChargePoint as ChargePoint21
from ocpp.v21 import call as call21
from ocpp.v21 import call_result as result21
from ocpp.v21.enums import Action as Action21
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201
from ocpp.v201.enums import Action as Action201
from websockets.asyncio.client import ClientConnection

from tests.integration.harness import RunningCsms


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class Station16(ChargePoint16):  # type: ignore[misc]
    """A 1.6 station that answers GetConfiguration."""

    @on(Action16.get_configuration)  # type: ignore[untyped-decorator]
    async def on_get_configuration(self, **kwargs: Any) -> Any:
        return result16.GetConfiguration(
            configuration_key=[{"key": "HeartbeatInterval", "readonly": False, "value": "300"}]
        )


class Station201(ChargePoint201):  # type: ignore[misc]
    """A 2.0.1 station that answers Reset."""

    @on(Action201.reset)  # type: ignore[untyped-decorator]
    async def on_reset(self, **kwargs: Any) -> Any:
        return result201.Reset(status="Accepted")


class Station21(ChargePoint21):  # type: ignore[misc]
    """A 2.1 station that answers Reset."""

    @on(Action21.reset)  # type: ignore[untyped-decorator]
    async def on_reset(self, **kwargs: Any) -> Any:
        return result21.Reset(status="Accepted")


@asynccontextmanager
async def started(cp: Any) -> AsyncIterator[Any]:
    task = asyncio.create_task(cp.start())
    try:
        yield cp
    finally:
        task.cancel()


async def _station_in_api(server: RunningCsms, station_id: str) -> dict[str, Any]:
    async with server.api() as api:
        response = await api.get(f"/api/v1/stations/{station_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


async def test_ocpp16_chargepoint_boots_heartbeats_and_reports_status(server: RunningCsms) -> None:
    await server.add_station("CP16")
    async with server.connect("CP16", subprotocols=["ocpp1.6"]) as ws:
        assert ws.subprotocol == "ocpp1.6"
        async with started(Station16("CP16", ws)) as cp:
            boot = await cp.call(
                call16.BootNotification(
                    charge_point_model="Model-X",
                    charge_point_vendor="Vendor-Y",
                    firmware_version="1.2.3",
                )
            )
            assert boot.status == "Accepted"
            assert boot.interval == 300
            heartbeat = await cp.call(call16.Heartbeat())
            assert heartbeat.current_time.endswith("Z")
            await cp.call(
                call16.StatusNotification(
                    connector_id=1, error_code="NoError", status="Available", timestamp=_now()
                )
            )
            await cp.call(
                call16.StatusNotification(connector_id=2, error_code="NoError", status="Faulted")
            )
            station = await _station_in_api(server, "CP16")
            assert station["online"] is True
            assert station["ocpp_version"] == "1.6"
            assert station["vendor_name"] == "Vendor-Y"
            assert station["firmware_version"] == "1.2.3"
            states = {(c["evse_id"], c["status"]) for c in station["connectors"]}
            assert states == {(1, "Available"), (2, "Faulted")}

            async with server.api() as api:
                response = await api.post(
                    "/api/v1/stations/CP16/call/GetConfiguration",
                    json={"key": ["HeartbeatInterval"]},
                )
            assert response.status_code == 200, response.text
            assert response.json()["configurationKey"][0]["key"] == "HeartbeatInterval"


@pytest.mark.parametrize(
    ("subprotocol", "station_class", "calls"),
    [("ocpp2.0.1", Station201, call201), ("ocpp2.1", Station21, call21)],
)
async def test_ocpp2x_chargepoint_boots_heartbeats_and_reports_status(
    server: RunningCsms, subprotocol: str, station_class: type, calls: Any
) -> None:
    station_id = "CP" + subprotocol.removeprefix("ocpp").replace(".", "")
    await server.add_station(station_id)
    async with server.connect(station_id, subprotocols=[subprotocol]) as ws:
        assert ws.subprotocol == subprotocol
        async with started(station_class(station_id, ws)) as cp:
            boot = await cp.call(
                calls.BootNotification(
                    charging_station={"model": "Model-Z", "vendor_name": "Vendor-Q"},
                    reason="PowerUp",
                )
            )
            assert boot.status == "Accepted"
            await cp.call(calls.Heartbeat())
            await cp.call(
                calls.StatusNotification(
                    timestamp=_now(), connector_status="Occupied", evse_id=1, connector_id=1
                )
            )
            station = await _station_in_api(server, station_id)
            assert station["ocpp_version"] == subprotocol.removeprefix("ocpp")
            assert station["model"] == "Model-Z"
            connectors = [
                (c["evse_id"], c["connector_id"], c["status"]) for c in station["connectors"]
            ]
            assert connectors == [(1, 1, "Occupied")]
            async with server.api() as api:
                response = await api.post(
                    f"/api/v1/stations/{station_id}/call/Reset", json={"type": "Immediate"}
                )
            assert response.status_code == 200, response.text
            assert response.json() == {"status": "Accepted"}


async def test_generic_call_errors(server: RunningCsms) -> None:
    """404 unknown, 409 not connected, 422 invalid payload, 502 CALLERROR, 504 timeout."""
    await server.add_station("CPX")
    async with server.api() as api:
        assert (await api.post("/api/v1/stations/NOPE/call/Reset", json={})).status_code == 404
        assert (
            await api.post("/api/v1/stations/CPX/call/Reset", json={"type": "Hard"})
        ).status_code == 409
    async with server.connect("CPX", subprotocols=["ocpp1.6"]) as ws:
        # A raw station: boots, then answers the first CALL with CALLERROR and ignores the second.
        from tests.integration.harness import BOOT_16, call

        assert (await call(ws, "b1", "BootNotification", BOOT_16))[2]["status"] == "Accepted"

        async def station() -> None:
            frame = await _recv_call(ws)
            await ws.send(f'[4,"{frame[1]}","NotSupported","no resets here",{{}}]')
            await _recv_call(ws)  # never answered

        task = asyncio.create_task(station())
        async with server.api() as api:
            invalid = await api.post("/api/v1/stations/CPX/call/Reset", json={"type": "Warm"})
            assert invalid.status_code == 422, invalid.text
            failed = await api.post("/api/v1/stations/CPX/call/Reset", json={"type": "Hard"})
            assert failed.status_code == 502, failed.text
            assert failed.json()["error_code"] == "NotSupported"
            timeout = await api.post(
                "/api/v1/stations/CPX/call/Reset", json={"type": "Soft"}, params={"timeout": 1}
            )
            assert timeout.status_code == 504, timeout.text
        task.cancel()


async def _recv_call(ws: ClientConnection) -> list[Any]:
    import orjson

    frame: list[Any] = orjson.loads(await ws.recv())
    assert frame[0] == 2
    return frame
