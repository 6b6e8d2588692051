"""OCPP 1.5 over JSON (issue 12): the "ocpp1.5" subprotocol on the WebSocket gateway.

The ``ocpp`` package has no 1.5, so csms's simulator is the 1.5J station (its link maps its 1.6
logic to 1.5 and checks every payload against the 1.5 schemas); raw frames check the answers to
bad input. What the station does must be visible through the API as for a 1.6J station.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import ClientConnection

from csms.rpc.versions import OcppVersion
from csms.simulator import Scenario, SimStation, StationAgent, Timing, run_scenario
from csms.storage import tables
from csms.storage.tables_charging import transactions_v16
from tests.integration.charging import csms_on
from tests.integration.harness import RunningCsms, call, running_csms, settings_for
from tests.integration.simulator.helpers import (
    allow_tags,
    make_agent,
    read_and_change_configuration,
    rows,
    running,
    until,
    wait_for_rows,
)

T = "2024-05-01T12:00:00Z"
PROBLEM = "urn:csms:problem:"


def json15_agent(url: str, identity: str, **options: Any) -> StationAgent:
    """A simulated station that speaks OCPP 1.5 over JSON."""
    agent = make_agent(url, identity, OcppVersion.V16, **options)
    agent.station = SimStation(dataclasses.replace(agent.station.spec, json15=True))
    return agent


@pytest.fixture
async def server(database_url: str, tmp_path: Path) -> AsyncIterator[RunningCsms]:
    async with csms_on(database_url, tmp_path) as running_server:
        await allow_tags(running_server)
        yield running_server


async def test_15j_station_through_the_api_like_a_16j_one(server: RunningCsms) -> None:
    """Boot, authorize, a transaction with meter values, status; then the typed commands."""
    sid = "J15-CP"
    await server.add_station(sid)
    agent = json15_agent(server.ocpp_url, sid)
    async with running(agent), server.api() as api:
        assert agent.link is not None and agent.link.ws.subprotocol == "ocpp1.5"
        station = (await api.get(f"/api/v1/stations/{sid}")).json()
        assert (station["ocpp_version"], station["transport"], station["online"]) == (
            "1.5",
            "json",
            True,
        )
        assert (station["vendor_name"], station["registration_status"]) == ("csms-sim", "Accepted")
        await asyncio.wait_for(
            run_scenario(agent, Scenario.CHARGE, Timing(charge=0.35, idle=0.1), repeat=False), 5
        )
        await asyncio.wait_for(agent.drained(), 5)
        listed = (await api.get("/api/v1/transactions", params={"station_id": sid})).json()
        (tx,) = listed["items"]
        assert tx["id_token"] == agent.options.id_tags[0]
        assert tx["id_token_status"] == "Accepted"  # Authorize and StartTransaction answered
        assert not tx["open"] and tx["stopped_reason"] == "Local"
        meter = (await api.get(f"/api/v1/transactions/{tx['id']}/meter-values")).json()
        assert meter["items"], meter
        statuses = [r.status for r in await rows(server, tables.status_history, sid)]
        assert "Charging" in statuses and "Available" in statuses  # 1.5 Occupied → Charging
        assert not agent.stats.errors, agent.stats.errors

        base = f"/api/v1/stations/{sid}/commands"
        start = await api.post(f"{base}/start", json={"id_token": "SIM-CARD-1", "evse_id": 2})
        assert start.status_code == 200 and start.json()["status"] == "Accepted", start.text
        opened = await wait_for_rows(
            server, transactions_v16, sid, lambda r: any(t.ended_at is None for t in r)
        )
        running_tx = next(t for t in opened if t.ended_at is None)
        stop = await api.post(f"{base}/stop", json={"transaction_id": str(running_tx.id)})
        assert stop.json()["status"] == "Accepted", stop.text
        await wait_for_rows(server, transactions_v16, sid, lambda r: all(t.ended_at for t in r))
        await read_and_change_configuration(api, base)
        unlock = await api.post(f"{base}/unlock", json={"evse_id": 1})
        assert unlock.json()["status"] == "Unlocked", unlock.text  # 1.5 Accepted, mapped
        # 1.6-only commands and options: a clear 422, nothing sent.
        trigger = await api.post(f"{base}/trigger", json={"requested": "Heartbeat"})
        profile = await api.post(
            f"{base}/start",
            json={
                "id_token": "SIM-CARD-1",
                "evse_id": 1,
                "charging_profile": {
                    "chargingProfileId": 1,
                    "stackLevel": 0,
                    "chargingProfilePurpose": "TxProfile",
                    "chargingProfileKind": "Relative",
                    "chargingSchedule": {
                        "chargingRateUnit": "A",
                        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16}],
                    },
                },
            },
        )
        for refused in (trigger, profile):
            assert refused.status_code == 422, refused.text
            assert refused.json()["type"] == PROBLEM + "not-supported-by-version"
            assert "not supported by OCPP 1.5" in refused.json()["detail"]
        reset = await api.post(f"{base}/reset", json={"type": "hard"})
        assert reset.json()["status"] == "Accepted", reset.text
        await until(lambda: agent.stats.connects >= 2)  # rebooted and back, still 1.5J
        await until(agent.accepted.is_set)
        assert agent.link is not None and agent.link.ws.subprotocol == "ocpp1.5"


async def frame(ws: ClientConnection) -> Any:
    return orjson.loads(await ws.recv())


async def test_bad_15j_input_gets_the_right_callerror(tmp_path: Path) -> None:
    async with running_csms(settings_for(tmp_path)) as server:
        await server.add_station("J15-RAW")
        async with server.connect("J15-RAW", subprotocols=["ocpp1.5", "ocpp1.6"]) as ws:
            assert ws.subprotocol == "ocpp1.5"  # the station's first choice
            boot = await call(
                ws, "1", "BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"}
            )
            assert boot[0] == 3 and boot[2]["status"] == "Accepted"
            assert "heartbeatInterval" in boot[2] and "interval" not in boot[2]
            bad = {
                "2": ("Authorize", {"idTag": 7}, "TypeConstraintViolation"),
                "3": (
                    "MeterValues",
                    {"connectorId": 1, "meterValue": [{"timestamp": T, "sampledValue": []}]},
                    "FormationViolation",
                ),
                "4": (
                    "StatusNotification",
                    {"connectorId": 1, "status": "Charging", "errorCode": "NoError"},
                    "PropertyConstraintViolation",
                ),
                "5": ("StartTransaction", {"connectorId": 1}, "OccurenceConstraintViolation"),
                "6": ("SecurityEventNotification", {"type": "x", "timestamp": T}, "NotImplemented"),
                "7": ("Reset", {"type": "Hard"}, "NotSupported"),
            }
            for message_id, (action, payload, code) in bad.items():
                reply = await call(ws, message_id, action, payload)
                assert reply[:3] == [4, message_id, code], (action, reply)
            ok = await call(
                ws,
                "8",
                "MeterValues",
                {"connectorId": 1, "values": [{"timestamp": T, "value": [{"value": "12"}]}]},
            )
            assert ok == [3, "8", {}]

            # CSMS → station: 1.5 on the wire, the 1.5 answer mapped back; an invalid answer 502.
            async with server.api() as api:
                unlock = asyncio.create_task(
                    api.post("/api/v1/stations/J15-RAW/commands/unlock", json={"evse_id": 1})
                )
                request = await frame(ws)
                assert request[2:] == ["UnlockConnector", {"connectorId": 1}]
                await ws.send(orjson.dumps([3, request[1], {"status": "Accepted"}]).decode())
                assert (await unlock).json()["status"] == "Unlocked"
                local = asyncio.create_task(
                    api.post(
                        "/api/v1/stations/J15-RAW/call/SendLocalList",
                        json={"listVersion": 3, "updateType": "Full"},
                    )
                )
                request = await frame(ws)
                assert request[2:] == ["SendLocalList", {"listVersion": 3, "updateType": "Full"}]
                await ws.send(orjson.dumps([3, request[1], {"status": "Unlocked"}]).decode())
                answered = await local
                assert answered.status_code == 502, answered.text


async def test_ocpp15_json_can_be_turned_off(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, ocpp15_json=False)
    async with running_csms(settings) as server:
        await server.add_station("J15-OFF")
        async with server.connect("J15-OFF", subprotocols=["ocpp1.5", "ocpp1.6"]) as ws:
            assert ws.subprotocol == "ocpp1.6"
        async with server.connect("J15-OFF", subprotocols=["ocpp1.5"]) as ws:
            assert ws.subprotocol is None
            await ws.wait_closed()
            assert ws.close_code == 1002
