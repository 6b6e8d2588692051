"""Typed, version-neutral commands and tracked state through the API, on SQLite and PostgreSQL.

The `ocpp` package's 1.6 and 2.0.1 ChargePoints (and csms's simulator) connect over loopback to a
real csms; the operator names an intent once and each station receives it spelled for its version.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from ocpp.routing import on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v16.enums import Action as Action16
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201
from ocpp.v201.enums import Action as Action201

from csms.api.intents.catalog import INTENTS
from csms.rpc.versions import OcppVersion
from tests.integration.harness import RunningCsms, running_csms, settings_for
from tests.integration.simulator.helpers import allow_tags, make_agent, running

PROBLEM = "urn:csms:problem:"


class Station16(ChargePoint16):  # type: ignore[misc]
    """Records what csms sent; answers Reset, ReserveNow, ChangeConfiguration, GetConfiguration."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.resets: list[str] = []
        self.cleared = 0
        self.config = {"HeartbeatInterval": "300", "MeterValueSampleInterval": "60"}

    @on(Action16.reset)  # type: ignore[untyped-decorator]
    async def on_reset(self, type: str, **_: Any) -> Any:
        self.resets.append(type)
        return result16.Reset(status="Accepted")

    @on(Action16.clear_cache)  # type: ignore[untyped-decorator]
    async def on_clear_cache(self, **_: Any) -> Any:
        self.cleared += 1
        return result16.ClearCache(status="Accepted")

    @on(Action16.reserve_now)  # type: ignore[untyped-decorator]
    async def on_reserve_now(self, **_: Any) -> Any:
        return result16.ReserveNow(status="Accepted")

    @on(Action16.cancel_reservation)  # type: ignore[untyped-decorator]
    async def on_cancel_reservation(self, **_: Any) -> Any:
        return result16.CancelReservation(status="Accepted")

    @on(Action16.change_configuration)  # type: ignore[untyped-decorator]
    async def on_change_configuration(self, key: str, value: str, **_: Any) -> Any:
        self.config[key] = value
        return result16.ChangeConfiguration(status="Accepted")

    @on(Action16.get_configuration)  # type: ignore[untyped-decorator]
    async def on_get_configuration(self, key: list[str] | None = None, **_: Any) -> Any:
        return result16.GetConfiguration(
            configuration_key=[
                {"key": k, "readonly": False, "value": v}
                for k, v in self.config.items()
                if not key or k in key
            ]
        )


class Station201(ChargePoint201):  # type: ignore[misc]
    """Records what csms sent; answers Reset, ReserveNow, SetChargingProfile, GetCompositeSchedule."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.resets: list[tuple[str, int | None]] = []
        self.cleared = 0
        self.reservations: list[dict[str, Any]] = []

    @on(Action201.reset)  # type: ignore[untyped-decorator]
    async def on_reset(self, type: str, evse_id: int | None = None, **_: Any) -> Any:
        self.resets.append((type, evse_id))
        return result201.Reset(status="Scheduled" if type == "OnIdle" else "Accepted")

    @on(Action201.clear_cache)  # type: ignore[untyped-decorator]
    async def on_clear_cache(self, **_: Any) -> Any:
        self.cleared += 1
        return result201.ClearCache(status="Accepted")

    @on(Action201.reserve_now)  # type: ignore[untyped-decorator]
    async def on_reserve_now(self, **kwargs: Any) -> Any:
        self.reservations.append(kwargs)
        return result201.ReserveNow(status="Accepted")

    @on(Action201.set_charging_profile)  # type: ignore[untyped-decorator]
    async def on_set_charging_profile(self, **_: Any) -> Any:
        return result201.SetChargingProfile(status="Accepted")

    @on(Action201.set_variables)  # type: ignore[untyped-decorator]
    async def on_set_variables(self, set_variable_data: list[dict[str, Any]], **_: Any) -> Any:
        return result201.SetVariables(
            set_variable_result=[
                {
                    "attribute_status": "Accepted",
                    "component": entry["component"],
                    "variable": entry["variable"],
                }
                for entry in set_variable_data
            ]
        )

    @on(Action201.get_composite_schedule)  # type: ignore[untyped-decorator]
    async def on_get_composite_schedule(self, evse_id: int, duration: int, **_: Any) -> Any:
        return result201.GetCompositeSchedule(
            status="Accepted",
            schedule={
                "evseId": evse_id,
                "duration": duration,
                "scheduleStart": datetime.now(UTC).isoformat(),
                "chargingRateUnit": "A",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}],
            },
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
async def station16(server: RunningCsms, sid: str) -> AsyncIterator[Station16]:
    await server.add_station(sid)
    async with server.connect(sid, subprotocols=["ocpp1.6"]) as ws:
        cp = Station16(sid, ws)
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
async def station201(server: RunningCsms, sid: str) -> AsyncIterator[Station201]:
    await server.add_station(sid)
    async with server.connect(sid, subprotocols=["ocpp2.0.1"]) as ws:
        cp = Station201(sid, ws)
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


async def poll_job(api: httpx.AsyncClient, href: str) -> dict[str, Any]:
    async with asyncio.timeout(10):
        while True:
            job: dict[str, Any] = (await api.get(href)).json()
            if job["state"] in ("done", "failed"):
                return job
            await asyncio.sleep(0.02)


async def test_one_reset_intent_is_spelled_per_version(server: RunningCsms) -> None:
    async with (
        station16(server, "CP16") as cp16,
        station201(server, "CP201") as cp201,
        server.api() as api,
    ):
        soft16 = await api.post("/api/v1/stations/CP16/commands/reset", json={"type": "soft"})
        soft201 = await api.post("/api/v1/stations/CP201/commands/reset", json={"type": "soft"})
        hard16 = await api.post("/api/v1/stations/CP16/commands/reset", json={"type": "hard"})
        hard201 = await api.post(
            "/api/v1/stations/CP201/commands/reset", json={"type": "hard", "evse_id": 1}
        )
    assert soft16.status_code == 200, soft16.text
    assert soft16.json() == {"status": "Accepted", "status_info": None}
    assert soft201.json() == {"status": "Scheduled", "status_info": None}
    assert (hard16.json()["status"], hard201.json()["status"]) == ("Accepted", "Accepted")
    assert cp16.resets == ["Soft", "Hard"]
    assert cp201.resets == [("OnIdle", None), ("Immediate", 1)]


async def test_version_cannot_do_it_is_a_422_before_anything_is_sent(server: RunningCsms) -> None:
    async with station16(server, "CP16") as cp16, server.api() as api:
        report = await api.post(
            "/api/v1/stations/CP16/commands/get-base-report",
            json={"request_id": 1, "report_base": "FullInventory"},
        )
        one_evse = await api.post(
            "/api/v1/stations/CP16/commands/reset", json={"type": "soft", "evse_id": 1}
        )
        malformed = await api.post("/api/v1/stations/CP16/commands/reset", json={"type": "x"})
        unknown = await api.post("/api/v1/stations/NOPE/commands/reset", json={})
        no_ids = await api.post(
            "/api/v1/stations/CP16/commands/clear-variable-monitoring", json={"monitor_ids": []}
        )
    for response in (report, one_evse):
        assert response.status_code == 422, response.text
        assert response.json()["type"] == PROBLEM + "not-supported-by-version"
    assert "OCPP 1.6" in report.json()["detail"]
    assert malformed.json()["type"] == PROBLEM + "validation-error"
    assert unknown.status_code == 404
    assert no_ids.status_code == 422, no_ids.text  # refused by the typed command itself
    assert cp16.resets == []


async def test_async_mode_answers_a_job_polled_to_done(server: RunningCsms) -> None:
    async with station201(server, "CP201") as cp201, server.api() as api:
        accepted = await api.post(
            "/api/v1/stations/CP201/commands/reset?mode=async", json={"type": "hard"}
        )
        assert accepted.status_code == 202, accepted.text
        job = accepted.json()
        assert job["state"] in ("queued", "running", "done")
        assert accepted.headers["location"] == job["href"] == f"/api/v1/jobs/{job['id']}"
        done = await poll_job(api, job["href"])
        listed = (await api.get("/api/v1/jobs", params={"limit": 1})).json()
    assert done["state"] == "done"
    assert done["intent"] == "reset" and done["params"] == {"type": "hard", "evse_id": None}
    [result] = done["results"]
    assert (result["station_id"], result["outcome"]) == ("CP201", "ok")
    assert result["result"]["status"] == "Accepted"
    assert cp201.resets == [("Immediate", None)]
    assert [j["id"] for j in listed["items"]] == [job["id"]] and listed["total"] == 1


async def test_fan_out_over_a_mixed_fleet_reports_each_station(server: RunningCsms) -> None:
    await server.add_station("OFFLINE-1")
    sim = make_agent(server.ocpp_url, "SIM201", OcppVersion.V201)
    await server.add_station("SIM201")
    async with AsyncExitStack() as stack:
        cp16 = await stack.enter_async_context(station16(server, "CP16"))
        cp201 = await stack.enter_async_context(station201(server, "CP201"))
        await stack.enter_async_context(running(sim))
        api = await stack.enter_async_context(server.api())
        fleet = ["CP16", "CP201", "SIM201", "OFFLINE-1"]
        answer = await api.post(
            "/api/v1/commands/clear-cache", json={"stations": fleet, "params": {}}
        )
        assert answer.status_code == 202, answer.text
        job = await poll_job(api, answer.json()["href"])
        by_filter = await api.post(
            "/api/v1/commands/reset",
            json={"filter": {"ocpp_version": "2.0.1", "online": True}, "params": {"type": "hard"}},
        )
        filtered = await poll_job(api, by_filter.json()["href"])
        too_vague = await api.post("/api/v1/commands/reset", json={"params": {"type": "soft"}})
    results = {r["station_id"]: r for r in job["results"]}
    assert list(results) == fleet
    assert job["state"] == "failed"  # one station did not answer: it was offline
    assert job["counts"]["ok"] == 3 and job["counts"]["offline"] == 1
    assert results["OFFLINE-1"]["outcome"] == "offline"
    assert results["OFFLINE-1"]["problem"]["type"] == PROBLEM + "station-not-connected"
    assert results["CP16"]["result"]["status"] == "Accepted"
    assert results["SIM201"]["outcome"] == "ok"
    assert (cp16.cleared, cp201.cleared) == (1, 1)
    assert cp201.resets == [("Immediate", None)]
    assert filtered["state"] == "done"
    assert sorted(r["station_id"] for r in filtered["results"]) == ["CP201", "SIM201"]
    assert too_vague.status_code == 422 and too_vague.json()["type"] == PROBLEM + "no-stations"


async def test_reservations_and_profiles_are_listed_as_sent_and_as_reported(
    server: RunningCsms,
) -> None:
    expiry = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    profile = {
        "id": 7,
        "stack_level": 1,
        "purpose": "TxDefaultProfile",
        "kind": "Absolute",
        "schedule": {
            "charging_rate_unit": "A",
            "periods": [{"start_period": 0, "limit": 16.0}],
            "start_schedule": datetime.now(UTC).replace(microsecond=0).isoformat(),
        },
    }
    async with (
        station201(server, "CP201") as cp201,
        station16(server, "CP16"),
        server.api() as api,
    ):
        base = "/api/v1/stations/CP201/commands"
        reserved = await api.post(
            f"{base}/reserve",
            json={"evse_id": 1, "id_token": "RFID-1", "expiry_date": expiry.isoformat()},
        )
        assert reserved.status_code == 200, reserved.text
        reservation_id = reserved.json()["reservation_id"]
        other = await api.post(
            "/api/v1/stations/CP16/commands/reserve",
            json={"evse_id": 1, "id_token": "RFID-2", "expiry_date": expiry.isoformat()},
        )
        assert other.json()["status"] == "Accepted"
        listed = (await api.get("/api/v1/stations/CP201/reservations")).json()
        everywhere = (await api.get("/api/v1/reservations", params={"limit": 1})).json()
        # The station removes the reservation itself (2.0.1 H04 ReservationStatusUpdate).
        await cp201.call(
            call201.ReservationStatusUpdate(
                reservation_id=reservation_id, reservation_update_status="Removed"
            )
        )
        after = (await api.get("/api/v1/stations/CP201/reservations")).json()
        elsewhere = await api.post(
            "/api/v1/stations/CP201/commands/cancel-reservation",
            json={"reservation_id": other.json()["reservation_id"]},
        )
        cancelled = await api.post(
            "/api/v1/stations/CP16/commands/cancel-reservation",
            json={"reservation_id": other.json()["reservation_id"]},
        )
        cp16_after = (await api.get("/api/v1/reservations", params={"station": "CP16"})).json()

        set_profile = await api.post(
            f"{base}/set-charging-profile", json={"evse_id": 1, "profile": profile}
        )
        assert set_profile.json() == {"status": "Accepted"}, set_profile.text
        composite = await api.post(
            f"{base}/get-composite-schedule", json={"evse_id": 1, "duration": 3600}
        )
        assert composite.status_code == 200, composite.text
        await cp201.call(
            call201.ReportChargingProfiles(
                request_id=5,
                charging_limit_source="CSO",
                evse_id=1,
                charging_profile=[
                    {
                        "id": 9,
                        "stackLevel": 0,
                        "chargingProfilePurpose": "TxDefaultProfile",
                        "chargingProfileKind": "Relative",
                        "chargingSchedule": [
                            {
                                "id": 1,
                                "chargingRateUnit": "W",
                                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 11000}],
                            }
                        ],
                    }
                ],
            )
        )
        profiles = (await api.get("/api/v1/stations/CP201/charging-profiles")).json()
    assert cp201.reservations[0]["id"] == reservation_id
    assert [(r["reservation_id"], r["status"]) for r in listed["items"]] == [
        (reservation_id, "Accepted")
    ]
    assert everywhere["total"] == 2 and len(everywhere["items"]) == 1
    assert everywhere["next_cursor"] is not None
    assert after["items"][0]["status"] == "Removed"
    assert elsewhere.status_code == 404  # CP16's reservation is not CP201's to cancel
    assert elsewhere.json()["type"] == PROBLEM + "unknown-reservation"
    assert cancelled.json()["status"] == "Accepted", cancelled.text
    assert [r["status"] for r in cp16_after["items"]] == ["Cancelled"]
    assert [(p["profile"]["id"], p["status"], p["installed"]) for p in profiles["desired"]] == [
        (7, "Accepted", True)
    ]
    assert [p["profile"]["id"] for p in profiles["installed"]] == [7]
    [reported] = profiles["reported"]
    assert reported["payload"]["chargingProfile"][0]["id"] == 9
    [in_force] = profiles["composite"]
    assert in_force["evse_id"] == 1 and in_force["status"] == "Accepted"
    assert in_force["schedule"]["periods"][0]["limit"] == 16.0


async def test_configuration_desired_vs_reported(server: RunningCsms) -> None:
    async with station16(server, "CP16") as cp16, server.api() as api:
        base = "/api/v1/stations/CP16/commands"
        read = await api.post(f"{base}/get-configuration", json={"keys": []})
        assert read.status_code == 200, read.text
        assert {k["key"] for k in read.json()["keys"]} == {
            "HeartbeatInterval",
            "MeterValueSampleInterval",
        }
        changed = await api.post(
            f"{base}/set-configuration", json={"key": "HeartbeatInterval", "value": "120"}
        )
        assert changed.json()["status"] == "Accepted", changed.text
        secret = await api.post(
            f"{base}/set-configuration", json={"key": "AuthorizationKey", "value": "0" * 40}
        )
        variables = await api.post(
            f"{base}/set-configuration",
            json={"variables": [{"ref": {"component": "C", "variable": "V"}, "value": "1"}]},
        )
        state = (await api.get("/api/v1/stations/CP16/configuration")).json()
    assert cp16.config["HeartbeatInterval"] == "120"
    assert secret.status_code == 409
    assert variables.json()["type"] == PROBLEM + "not-supported-by-version"
    keys = {k["name"]: k for k in state["keys"]}
    heartbeat = keys["HeartbeatInterval"]
    assert heartbeat["desired"]["value"] == "120" and heartbeat["desired"]["status"] == "Accepted"
    assert heartbeat["reported"]["value"] == "120"
    assert heartbeat["reported"]["source"] == "ChangeConfiguration"
    sampled = keys["MeterValueSampleInterval"]
    assert sampled["desired"] is None
    assert (sampled["reported"]["value"], sampled["reported"]["source"]) == (
        "60",
        "GetConfiguration",
    )


async def test_every_intent_has_its_own_request_schema(tmp_path: Path) -> None:
    async with running_csms(settings_for(tmp_path)) as sqlite_server, sqlite_server.api() as api:
        document = (await api.get("/openapi.json")).json()
    bodies = set()
    for intent in INTENTS:
        operation = document["paths"][f"/api/v1/stations/{{station_id}}/commands/{intent.name}"]
        schema = operation["post"]["requestBody"]["content"]["application/json"]["schema"]
        bodies.add(schema["$ref"])
        assert f"/api/v1/commands/{intent.name}" in document["paths"]
    assert len(bodies) == len(INTENTS)


async def test_2x_variables_desired_vs_reported(server: RunningCsms) -> None:
    async with station201(server, "CP201") as cp201, server.api() as api:
        changed = await api.post(
            "/api/v1/stations/CP201/commands/set-configuration",
            json={
                "variables": [
                    {
                        "ref": {"component": "OCPPCommCtrlr", "variable": "HeartbeatInterval"},
                        "value": "120",
                    }
                ]
            },
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["variables"][0]["status"] == "Accepted"
        keys = await api.post(
            "/api/v1/stations/CP201/commands/set-configuration",
            json={"key": "HeartbeatInterval", "value": "1"},
        )
        await cp201.call(
            call201.NotifyReport(
                request_id=1,
                generated_at=datetime.now(UTC).isoformat(),
                seq_no=0,
                report_data=[
                    {
                        "component": {"name": "SampledDataCtrlr"},
                        "variable": {"name": "TxUpdatedInterval"},
                        "variableAttribute": [{"type": "Actual", "value": "30"}],
                    }
                ],
            )
        )
        state = (await api.get("/api/v1/stations/CP201/configuration")).json()
    assert keys.json()["type"] == PROBLEM + "not-supported-by-version"
    variables = {v["name"]: v for v in state["variables"]}
    [heartbeat] = [v for name, v in variables.items() if "HeartbeatInterval" in name]
    assert heartbeat["desired"]["value"] == "120"
    assert heartbeat["desired"]["status"] == "Accepted"
    assert (heartbeat["reported"]["value"], heartbeat["reported"]["source"]) == (
        "120",
        "SetVariables",
    )
    [sampled] = [v for name, v in variables.items() if "TxUpdatedInterval" in name]
    assert sampled["desired"] is None
    assert (sampled["reported"]["value"], sampled["reported"]["source"]) == ("30", "NotifyReport")


async def test_one_start_intent_charges_simulated_16_and_201_stations(server: RunningCsms) -> None:
    await allow_tags(server, "SIM-CARD-1")
    answers = {}
    for sid, version in (("SIM16", OcppVersion.V16), ("SIM2", OcppVersion.V201)):
        await server.add_station(sid)
        async with running(make_agent(server.ocpp_url, sid, version)), server.api() as api:
            answers[sid] = await api.post(
                f"/api/v1/stations/{sid}/commands/start",
                json={"id_token": "SIM-CARD-1", "evse_id": 1, "remote_start_id": 42},
            )
    assert answers["SIM16"].json()["status"] == "Accepted", answers["SIM16"].text
    assert answers["SIM16"].json()["remote_start_id"] is None  # 1.6 has no remoteStartId
    assert answers["SIM2"].json()["status"] == "Accepted", answers["SIM2"].text
    assert answers["SIM2"].json()["remote_start_id"] == 42
