"""The generic call (``POST /stations/{id}/call/{action}``) stores what the typed intents store.

Real sockets, the ``ocpp`` package's 1.6 and 2.0.1 ChargePoints, SQLite and PostgreSQL: a
ReserveNow, SetChargingProfile, ChangeConfiguration or SetVariables sent generically shows in
``/reservations``, ``/stations/{id}/charging-profiles`` and ``/stations/{id}/configuration`` as it
does when sent through the intents; a Rejected answer is kept as rejected; a payload the schema
refuses (or the secret guard) stores nothing.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from ocpp.routing import on
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v16.enums import Action as Action16
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201
from ocpp.v201.enums import Action as Action201

from tests.integration.harness import RunningCsms, running_csms, settings_for
from tests.integration.test_typed_commands import Station16, Station201

PROBLEM = "urn:csms:problem:"


class Answering16(Station16):
    """Answers ReserveNow and ChangeConfiguration with ``self.answer``; takes profiles."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.answer = "Accepted"
        self.reserved: list[int] = []

    @on(Action16.reserve_now)  # type: ignore[untyped-decorator]
    async def on_reserve_now(self, reservation_id: int, **_: Any) -> Any:
        self.reserved.append(reservation_id)
        return result16.ReserveNow(status=self.answer)

    @on(Action16.change_configuration)  # type: ignore[untyped-decorator]
    async def on_change_configuration(self, key: str, value: str, **_: Any) -> Any:
        if self.answer == "Accepted":
            self.config[key] = value
        return result16.ChangeConfiguration(status=self.answer)

    @on(Action16.set_charging_profile)  # type: ignore[untyped-decorator]
    async def on_set_charging_profile(self, **_: Any) -> Any:
        return result16.SetChargingProfile(status=self.answer)


class Answering201(Station201):
    """Answers ReserveNow, SetChargingProfile and SetVariables with ``self.answer``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.answer = "Accepted"

    @on(Action201.reserve_now)  # type: ignore[untyped-decorator]
    async def on_reserve_now(self, **kwargs: Any) -> Any:
        self.reservations.append(kwargs)
        return result201.ReserveNow(status=self.answer)

    @on(Action201.set_charging_profile)  # type: ignore[untyped-decorator]
    async def on_set_charging_profile(self, **_: Any) -> Any:
        return result201.SetChargingProfile(status=self.answer)

    @on(Action201.set_variables)  # type: ignore[untyped-decorator]
    async def on_set_variables(self, set_variable_data: list[dict[str, Any]], **_: Any) -> Any:
        return result201.SetVariables(
            set_variable_result=[
                {
                    "attribute_status": self.answer,
                    "component": entry["component"],
                    "variable": entry["variable"],
                }
                for entry in set_variable_data
            ]
        )


@pytest.fixture
async def server(tmp_path: Path, database_url: str) -> AsyncIterator[RunningCsms]:
    settings = settings_for(tmp_path)
    settings = dataclasses.replace(
        settings, database=dataclasses.replace(settings.database, url=database_url)
    )
    async with running_csms(settings) as running_server:
        yield running_server


@asynccontextmanager
async def station16(server: RunningCsms, sid: str) -> AsyncIterator[Answering16]:
    await server.add_station(sid)
    async with server.connect(sid, subprotocols=["ocpp1.6"]) as ws:
        cp = Answering16(sid, ws)
        task = asyncio.create_task(cp.start())
        try:
            boot = await cp.call(
                call16.BootNotification(charge_point_model="M", charge_point_vendor="V")
            )
            assert boot.status == "Accepted"
            yield cp
        finally:
            task.cancel()


@asynccontextmanager
async def station201(server: RunningCsms, sid: str) -> AsyncIterator[Answering201]:
    await server.add_station(sid)
    async with server.connect(sid, subprotocols=["ocpp2.0.1"]) as ws:
        cp = Answering201(sid, ws)
        task = asyncio.create_task(cp.start())
        try:
            boot = await cp.call(
                call201.BootNotification(
                    charging_station={"model": "M", "vendor_name": "V"}, reason="PowerUp"
                )
            )
            assert boot.status == "Accepted"
            yield cp
        finally:
            task.cancel()


def _expiry() -> str:
    return (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0).isoformat()


async def _reservations(api: httpx.AsyncClient, station: str) -> dict[int, str]:
    page = (await api.get("/api/v1/reservations", params={"station": station})).json()
    return {r["reservation_id"]: r["status"] for r in page["items"]}


async def test_generic_reserve_now_is_listed_as_reservations(server: RunningCsms) -> None:
    async with (
        station16(server, "CP16") as cp16,
        station201(server, "CP201"),
        server.api() as api,
    ):
        on16 = "/api/v1/stations/CP16/call"
        on201 = "/api/v1/stations/CP201/call"
        accepted = await api.post(
            f"{on16}/ReserveNow",
            json={
                "connectorId": 1,
                "expiryDate": _expiry(),
                "idTag": "TAG-1",
                "reservationId": 1000,
            },
        )
        accepted201 = await api.post(
            f"{on201}/ReserveNow",
            json={
                "id": 1001,
                "expiryDateTime": _expiry(),
                "idToken": {"idToken": "TAG-2", "type": "ISO14443"},
                "evseId": 1,
            },
        )
        invalid = await api.post(f"{on16}/ReserveNow", json={"connectorId": 1, "idTag": "X"})
        stolen = await api.post(
            f"{on201}/ReserveNow",
            json={
                "id": 1000,
                "expiryDateTime": _expiry(),
                "idToken": {"idToken": "TAG-3", "type": "ISO14443"},
            },
        )
        cp16.answer = "Occupied"
        occupied = await api.post(
            f"{on16}/ReserveNow",
            json={"connectorId": 2, "expiryDate": _expiry(), "idTag": "T", "reservationId": 1002},
        )
        cp16.answer = "Accepted"
        # The intent's fresh ids never collide with one an operator chose.
        intent = await api.post(
            "/api/v1/stations/CP16/commands/reserve",
            json={"evse_id": 2, "id_token": "TAG-4", "expiry_date": _expiry()},
        )
        cancelled = await api.post(f"{on16}/CancelReservation", json={"reservationId": 1000})
        cp16_state = await _reservations(api, "CP16")
        cp201_state = await _reservations(api, "CP201")
    assert accepted.status_code == 200, accepted.text
    assert accepted201.json() == {"status": "Accepted"}, accepted201.text
    assert invalid.status_code == 422  # schema: nothing stored
    assert stolen.status_code == 409, stolen.text  # another station's id: refused, not sent
    assert intent.status_code == 200, intent.text
    intent_id = intent.json()["reservation_id"]
    assert intent_id > 1001
    assert cancelled.json() == {"status": "Accepted"}
    assert occupied.json() == {"status": "Occupied"}
    assert cp16.reserved == [1000, 1002, intent_id]
    assert cp16_state == {1000: "Cancelled", 1002: "Occupied", intent_id: "Accepted"}
    assert cp201_state == {1001: "Accepted"}


def _profile(profile_id: int, stack_level: int) -> dict[str, Any]:
    """A 2.0.1 ChargingProfileType."""
    return {
        "id": profile_id,
        "stackLevel": stack_level,
        "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Absolute",
        "chargingSchedule": [
            {
                "id": 1,
                "startSchedule": datetime.now(UTC).replace(microsecond=0).isoformat(),
                "chargingRateUnit": "A",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}],
            }
        ],
    }


def _kept(entry: dict[str, Any]) -> tuple[Any, ...]:
    profile = entry["profile"]
    return (
        profile["id"],
        profile["stack_level"],
        entry["evse_id"],
        entry["status"],
        entry["installed"],
    )


async def test_generic_set_charging_profile_is_stored_like_the_intent(server: RunningCsms) -> None:
    async with (
        station201(server, "CP201") as cp201,
        station16(server, "CP16"),
        server.api() as api,
    ):
        on201 = "/api/v1/stations/CP201/call"
        typed = await api.post(
            "/api/v1/stations/CP201/commands/set-charging-profile",
            json={
                "evse_id": 1,
                "profile": {
                    "id": 7,
                    "stack_level": 1,
                    "purpose": "TxDefaultProfile",
                    "kind": "Absolute",
                    "schedule": {
                        "charging_rate_unit": "A",
                        "periods": [{"start_period": 0, "limit": 16.0}],
                    },
                },
            },
        )
        generic = await api.post(
            f"{on201}/SetChargingProfile", json={"evseId": 1, "chargingProfile": _profile(8, 2)}
        )
        cp201.answer = "Rejected"
        rejected = await api.post(
            f"{on201}/SetChargingProfile", json={"evseId": 1, "chargingProfile": _profile(9, 3)}
        )
        invalid = await api.post(
            f"{on201}/SetChargingProfile", json={"evseId": 1, "chargingProfile": {"id": 10}}
        )
        generic16 = await api.post(
            "/api/v1/stations/CP16/call/SetChargingProfile",
            json={
                "connectorId": 0,
                "csChargingProfiles": {
                    "chargingProfileId": 11,
                    "stackLevel": 0,
                    "chargingProfilePurpose": "ChargePointMaxProfile",
                    "chargingProfileKind": "Relative",
                    "chargingSchedule": {
                        "chargingRateUnit": "W",
                        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 11000.0}],
                    },
                },
            },
        )
        profiles = (await api.get("/api/v1/stations/CP201/charging-profiles")).json()
        profiles16 = (await api.get("/api/v1/stations/CP16/charging-profiles")).json()
    assert typed.json() == {"status": "Accepted"}, typed.text
    assert generic.json() == {"status": "Accepted"}, generic.text
    assert rejected.json() == {"status": "Rejected"}, rejected.text
    assert invalid.status_code == 422
    assert generic16.json() == {"status": "Accepted"}, generic16.text
    assert sorted(_kept(p) for p in profiles["desired"]) == [
        (7, 1, 1, "Accepted", True),
        (8, 2, 1, "Accepted", True),
        (9, 3, 1, "Rejected", False),
    ]
    assert sorted(p["profile"]["id"] for p in profiles["installed"]) == [7, 8]
    [station_max] = profiles16["installed"]
    assert station_max["profile"]["purpose"] == "ChargingStationMaxProfile"
    assert station_max["profile"]["schedule"]["periods"][0]["limit"] == 11000.0


async def test_generic_configuration_is_desired_and_reported_like_the_intent(
    server: RunningCsms,
) -> None:
    async with (
        station16(server, "CP16") as cp16,
        station201(server, "CP201") as cp201,
        server.api() as api,
    ):
        on16 = "/api/v1/stations/CP16/call"
        on201 = "/api/v1/stations/CP201/call"
        typed = await api.post(
            "/api/v1/stations/CP16/commands/set-configuration",
            json={"key": "HeartbeatInterval", "value": "120"},
        )
        generic = await api.post(
            f"{on16}/ChangeConfiguration", json={"key": "MeterValueSampleInterval", "value": "30"}
        )
        secret = await api.post(
            f"{on16}/ChangeConfiguration", json={"key": "AuthorizationKey", "value": "0" * 40}
        )
        invalid = await api.post(f"{on16}/ChangeConfiguration", json={"key": "ConnectionTimeOut"})
        cp16.answer = "Rejected"
        rejected = await api.post(
            f"{on16}/ChangeConfiguration", json={"key": "LightIntensity", "value": "5"}
        )
        variables = await api.post(
            f"{on201}/SetVariables",
            json={
                "setVariableData": [
                    {
                        "attributeValue": "120",
                        "component": {"name": "OCPPCommCtrlr"},
                        "variable": {"name": "HeartbeatInterval"},
                    }
                ]
            },
        )
        password = await api.post(
            f"{on201}/SetVariables",
            json={
                "setVariableData": [
                    {
                        "attributeValue": "x" * 20,
                        "component": {"name": "SecurityCtrlr"},
                        "variable": {"name": "BasicAuthPassword"},
                    }
                ]
            },
        )
        cp201.answer = "Rejected"
        refused = await api.post(
            f"{on201}/SetVariables",
            json={
                "setVariableData": [
                    {
                        "attributeValue": "60",
                        "component": {"name": "SampledDataCtrlr"},
                        "variable": {"name": "TxUpdatedInterval"},
                    }
                ]
            },
        )
        state16 = (await api.get("/api/v1/stations/CP16/configuration")).json()
        state201 = (await api.get("/api/v1/stations/CP201/configuration")).json()
    assert typed.json()["status"] == "Accepted", typed.text
    assert generic.json() == {"status": "Accepted"}, generic.text
    assert (secret.status_code, invalid.status_code) == (409, 422)
    assert rejected.json() == {"status": "Rejected"}
    assert variables.status_code == 200, variables.text
    assert password.status_code == 409, password.text
    assert refused.status_code == 200, refused.text
    keys = {k["name"]: k for k in state16["keys"]}
    assert set(keys) == {"HeartbeatInterval", "MeterValueSampleInterval", "LightIntensity"}
    for name, value in (("HeartbeatInterval", "120"), ("MeterValueSampleInterval", "30")):
        assert (keys[name]["desired"]["value"], keys[name]["desired"]["status"]) == (
            value,
            "Accepted",
        )
        assert (keys[name]["reported"]["value"], keys[name]["reported"]["source"]) == (
            value,
            "ChangeConfiguration",
        )
    light = keys["LightIntensity"]
    assert (light["desired"]["value"], light["desired"]["status"]) == ("5", "Rejected")
    assert light["reported"] is None
    named = {v["name"]: v for v in state201["variables"]}
    [heartbeat] = [v for name, v in named.items() if "HeartbeatInterval" in name]
    assert (heartbeat["desired"]["value"], heartbeat["desired"]["status"]) == ("120", "Accepted")
    assert (heartbeat["reported"]["value"], heartbeat["reported"]["source"]) == (
        "120",
        "SetVariables",
    )
    [sampled] = [v for name, v in named.items() if "TxUpdatedInterval" in name]
    assert (sampled["desired"]["value"], sampled["desired"]["status"]) == ("60", "Rejected")
    assert sampled["reported"] is None
    assert not [name for name in named if "BasicAuthPassword" in name]
