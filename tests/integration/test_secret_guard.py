"""The generic call route cannot set a station's password (issue 7 finding 6).

`POST /api/v1/stations/{id}/call/ChangeConfiguration {"key": "AuthorizationKey"}` used to reach the
station: an Accepted answer would leave csms and the station with different passwords. Every
CSMS-initiated CALL now passes the same guard as the typed commands; only the key rotation
(`POST /api/v1/stations/{id}/authorization-key`) may send a new password. Each test checks over a
real socket that the refused CALL never reached the station: the first frame the station receives
is the allowed CALL sent afterwards.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import ClientConnection

from tests.integration.harness import BOOT_2X, BOOT_16, RunningCsms, call


async def _refused(server: RunningCsms, station_id: str, action: str, payload: Any) -> None:
    async with server.api() as api:
        response = await api.post(f"/api/v1/stations/{station_id}/call/{action}", json=payload)
    assert response.status_code == 409, response.text
    problem = response.json()
    assert problem["type"].endswith("command-not-allowed")
    assert "/api/v1/stations/{id}/authorization-key" in problem["detail"]


async def _first_frame_is(
    server: RunningCsms, ws: ClientConnection, station_id: str, action: str, payload: Any
) -> None:
    """Send an allowed CALL through the API; it must be the first frame the station sees."""
    async with server.api() as api:
        request = asyncio.create_task(
            api.post(f"/api/v1/stations/{station_id}/call/{action}", json=payload)
        )
        frame = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
        assert frame[0] == 2 and frame[2] == action and frame[3] == payload
        answer: dict[str, Any] = (
            {"status": "Accepted"}
            if action == "ChangeConfiguration"
            else {
                "setVariableResult": [
                    {
                        "attributeStatus": "Accepted",
                        "component": payload["setVariableData"][0]["component"],
                        "variable": payload["setVariableData"][0]["variable"],
                    }
                ]
            }
        )
        await ws.send(orjson.dumps([3, frame[1], answer]).decode())
        assert (await request).status_code == 200


@pytest.mark.parametrize("key", ["AuthorizationKey", "authorizationkey", "AUTHORIZATIONKEY"])
async def test_generic_change_configuration_of_the_authorization_key_is_refused(
    server: RunningCsms, key: str
) -> None:
    """1.6 keys are CiString50Type (§6.9): any spelling of the key is the same key."""
    await server.add_station("SEC16")
    async with server.connect("SEC16") as ws:
        assert (await call(ws, "b", "BootNotification", BOOT_16))[2]["status"] == "Accepted"
        await _refused(
            server, "SEC16", "ChangeConfiguration", {"key": key, "value": "0123456789abcdef01"}
        )
        await _first_frame_is(
            server, ws, "SEC16", "ChangeConfiguration", {"key": "HeartbeatInterval", "value": "60"}
        )


_ALLOWED_2X = {
    "component": {"name": "OCPPCommCtrlr"},
    "variable": {"name": "HeartbeatInterval"},
    "attributeValue": "60",
}


@pytest.mark.parametrize(
    "component",
    [
        {"name": "SecurityCtrlr"},
        {"name": "securityctrlr", "instance": "x"},
        {"name": "SecurityCtrlr", "evse": {"id": 1}},
        {"name": "NetworkConfiguration", "instance": "1"},
    ],
)
@pytest.mark.parametrize("variable", ["BasicAuthPassword", "basicauthpassword"])
async def test_generic_set_variables_of_basic_auth_password_is_refused(
    server: RunningCsms, component: dict[str, Any], variable: str
) -> None:
    """2.x: any setVariableData entry naming BasicAuthPassword, whatever the component."""
    await server.add_station("SEC201")
    async with server.connect("SEC201", subprotocols=["ocpp2.0.1"]) as ws:
        assert (await call(ws, "b", "BootNotification", BOOT_2X))[2]["status"] == "Accepted"
        secret = {
            "component": component,
            "variable": {"name": variable},
            "attributeValue": "0123456789abcdef0123",
        }
        await _refused(server, "SEC201", "SetVariables", {"setVariableData": [_ALLOWED_2X, secret]})
        await _first_frame_is(
            server, ws, "SEC201", "SetVariables", {"setVariableData": [_ALLOWED_2X]}
        )


async def test_set_network_profile_with_a_basic_auth_password_is_refused(
    server: RunningCsms,
) -> None:
    """2.1 NetworkConnectionProfile carries basicAuthPassword: csms could not keep it in step."""
    await server.add_station("SEC21")
    async with server.connect("SEC21", subprotocols=["ocpp2.1"]) as ws:
        assert (await call(ws, "b", "BootNotification", BOOT_2X))[2]["status"] == "Accepted"
        profile = {
            "configurationSlot": 1,
            "connectionData": {
                "ocppInterface": "Wired0",
                "ocppTransport": "JSON",
                "messageTimeout": 30,
                "ocppCsmsUrl": "wss://csms.example/ocpp",
                "securityProfile": 1,
                "basicAuthPassword": "0123456789abcdef0123",
            },
        }
        await _refused(server, "SEC21", "SetNetworkProfile", profile)
        await _first_frame_is(
            server, ws, "SEC21", "SetVariables", {"setVariableData": [_ALLOWED_2X]}
        )
