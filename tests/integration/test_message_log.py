"""The OCPP message log over real sockets, with the `ocpp` package's ChargePoints (1.6 and 2.0.1),
on SQLite and PostgreSQL: each exchange appears as one item with its request and response frames
(direction, type, payload), action, latency and outcome; a CALL left unanswered appears when the
connection ends; a rotated password never reaches the log; the queue-full path drops and counts
without slowing a station."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

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
from sqlalchemy import select

from csms.domain.messagelog import LoggedExchange
from tests.integration.charging import store_of
from tests.integration.harness import BOOT_16, RunningCsms, call, running_csms, settings_for
from tests.integration.test_ocpp_package_clients import started


class Station16(ChargePoint16):  # type: ignore[misc]
    """Accepts ChangeConfiguration and remembers the values it was sent."""

    values: list[str]

    @on(Action16.change_configuration)  # type: ignore[untyped-decorator]
    async def on_change_configuration(self, key: str, value: str, **_: Any) -> Any:
        self.values.append(value)
        return result16.ChangeConfiguration(status="Accepted")


class Station201(ChargePoint201):  # type: ignore[misc]
    """Accepts SetVariables and remembers the values it was sent."""

    values: list[str]

    @on(Action201.set_variables)  # type: ignore[untyped-decorator]
    async def on_set_variables(self, set_variable_data: list[dict[str, Any]], **_: Any) -> Any:
        self.values += [d["attribute_value"] for d in set_variable_data]
        return result201.SetVariables(
            set_variable_result=[
                {
                    "attribute_status": "Accepted",
                    "component": d["component"],
                    "variable": d["variable"],
                }
                for d in set_variable_data
            ]
        )


@pytest.fixture
async def server(database_url: str, tmp_path: Path) -> AsyncIterator[RunningCsms]:
    settings = settings_for(tmp_path)
    settings = dataclasses.replace(
        settings, database=dataclasses.replace(settings.database, url=database_url)
    )
    async with running_csms(settings) as running:
        yield running


async def _messages(server: RunningCsms, path: str, want: int, **params: Any) -> dict[str, Any]:
    """GET ``path`` until it lists at least ``want`` entries (the log is written in batches)."""
    async with server.api() as api:
        for _ in range(200):
            response = await api.get(path, params=params)
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            if len(body["items"]) >= want:
                return body
            await asyncio.sleep(0.02)
    raise AssertionError(f"{path} {params}: fewer than {want} entries: {body}")


async def _all_payloads(server: RunningCsms) -> list[str]:
    from csms.storage.tables_messagelog import ocpp_messages

    async with store_of(server).engine.connect() as conn:
        rows = (
            await conn.execute(select(ocpp_messages.c.frame, ocpp_messages.c.response_frame))
        ).all()
    return [frame for row in rows for frame in row if frame is not None]


async def test_16_frames_are_logged_with_action_direction_and_latency(
    server: RunningCsms,
) -> None:
    await server.add_station("CP16")
    async with server.connect("CP16", subprotocols=["ocpp1.6"]) as ws:
        cp = Station16("CP16", ws)
        cp.values = []
        async with started(cp):
            boot = await cp.call(call16.BootNotification("Model-X", "Vendor-Y"))
            assert boot.status == "Accepted"
            await cp.call(call16.Heartbeat())
            async with server.api() as api:
                response = await api.post(
                    "/api/v1/stations/CP16/call/ChangeConfiguration",
                    json={"key": "HeartbeatInterval", "value": "120"},
                )
                assert response.status_code == 200, response.text

    body = await _messages(server, "/api/v1/stations/CP16/messages", 3)
    entries = body["items"]
    assert len(entries) == 3  # one item per exchange: BootNotification, Heartbeat, the command
    assert [e["id"] for e in entries] == sorted((e["id"] for e in entries), reverse=True)
    by_action = {e["action"]: e for e in entries}
    boot = by_action["BootNotification"]
    assert (boot["direction"], boot["message_type"], boot["outcome"]) == ("in", "CALL", "result")
    boot_call, boot_result = boot["request"], boot["response"]
    assert (boot_call["direction"], boot_call["message_type"]) == ("in", "CALL")
    assert boot_call["payload"] == {"chargePointModel": "Model-X", "chargePointVendor": "Vendor-Y"}
    assert boot_call["size"] > 0 and boot_call["at"] == boot["at"]
    assert (boot_result["direction"], boot_result["message_type"]) == ("out", "CALLRESULT")
    assert boot["latency_ms"] >= 0 and boot["error_code"] is None
    assert boot_result["payload"]["status"] == "Accepted"
    assert boot_result["size"] > 0 and boot_result["at"] >= boot_call["at"]
    command = by_action["ChangeConfiguration"]
    assert (command["direction"], command["outcome"]) == ("out", "result")
    assert command["request"]["direction"] == "out"
    assert command["request"]["payload"] == {"key": "HeartbeatInterval", "value": "120"}
    answer = command["response"]
    assert (answer["direction"], answer["message_type"]) == ("in", "CALLRESULT")
    assert command["latency_ms"] >= 0 and answer["payload"] == {"status": "Accepted"}

    # Filters and the cursor.
    only = await _messages(
        server, "/api/v1/messages", 1, station="CP16", action="Heartbeat", direction="in"
    )
    assert [(e["action"], e["direction"]) for e in only["items"]] == [("Heartbeat", "in")]
    started_by_csms = await _messages(server, "/api/v1/messages", 1, direction="out")
    assert [e["action"] for e in started_by_csms["items"]] == ["ChangeConfiguration"]
    first = await _messages(server, "/api/v1/stations/CP16/messages", 1, limit=1)
    assert first["next_cursor"] is not None and first["total"] is None
    second = await _messages(
        server, "/api/v1/stations/CP16/messages", 1, limit=1, cursor=first["next_cursor"]
    )
    assert second["items"][0]["id"] < first["items"][0]["id"]
    async with server.api() as api:
        bad = await api.get("/api/v1/messages", params={"cursor": "nope"})
        assert bad.status_code == 422
        huge = base64.urlsafe_b64encode(f"m:{2**70}".encode()).decode()
        assert (await api.get("/api/v1/messages", params={"cursor": huge})).status_code == 422
        naive = await api.get("/api/v1/messages", params={"since": "2026-01-01T00:00:00"})
        assert naive.status_code == 422
        unknown = await api.get("/api/v1/stations/NOPE/messages")
        assert unknown.status_code == 404
        assert (await api.get("/api/v1/messages", params={"until": "2000-01-01T00:00:00Z"})).json()[
            "items"
        ] == []


async def test_16_rotated_authorization_key_never_reaches_the_log(server: RunningCsms) -> None:
    await server.add_station("CP16")
    async with server.connect("CP16", subprotocols=["ocpp1.6"]) as ws:
        cp = Station16("CP16", ws)
        cp.values = []
        async with started(cp):
            await cp.call(call16.BootNotification("Model-X", "Vendor-Y"))
            async with server.api() as api:
                response = await api.post("/api/v1/stations/CP16/authorization-key")
                assert response.status_code == 200, response.text
    [password] = cp.values
    body = await _messages(
        server, "/api/v1/stations/CP16/messages", 1, action="ChangeConfiguration", direction="out"
    )
    [change] = body["items"]
    assert change["request"]["payload"] == {"key": "AuthorizationKey", "value": "********"}
    assert change["response"]["payload"] == {"status": "Accepted"}
    await _messages(server, "/api/v1/stations/CP16/messages", 2)
    assert not [p for p in await _all_payloads(server) if password in p]


async def test_201_basic_auth_password_in_set_variables_never_reaches_the_log(
    server: RunningCsms,
) -> None:
    await server.add_station("CP201")
    async with server.connect("CP201", subprotocols=["ocpp2.0.1"]) as ws:
        cp = Station201("CP201", ws)
        cp.values = []
        async with started(cp):
            boot = await cp.call(
                call201.BootNotification(
                    charging_station={"model": "M", "vendor_name": "V"}, reason="PowerUp"
                )
            )
            assert boot.status == "Accepted"
            async with server.api() as api:
                response = await api.post("/api/v1/stations/CP201/authorization-key")
                assert response.status_code == 200, response.text
    [password] = cp.values
    body = await _messages(server, "/api/v1/messages", 1, station="CP201", action="SetVariables")
    [exchange] = body["items"]
    sent = exchange["request"]
    assert sent["direction"] == "out"
    [entry] = sent["payload"]["setVariableData"]
    assert entry["variable"]["name"] == "BasicAuthPassword"
    assert entry["attributeValue"] == "********"
    answer = exchange["response"]
    assert answer["direction"] == "in" and answer["message_type"] == "CALLRESULT"
    assert exchange["latency_ms"] >= 0 and exchange["outcome"] == "result"
    assert not [p for p in await _all_payloads(server) if password in p]


async def test_errors_filter_finds_callerrors(server: RunningCsms) -> None:
    await server.add_station("RAW")
    async with server.connect("RAW", subprotocols=["ocpp1.6"]) as ws:
        assert (await call(ws, "b1", "BootNotification", BOOT_16))[2]["status"] == "Accepted"
        reply = await call(ws, "x1", "NoSuchAction", {})
        assert reply[0] == 4
    body = await _messages(server, "/api/v1/messages", 1, station="RAW", errors="true")
    [error] = body["items"]
    assert (error["action"], error["outcome"]) == ("NoSuchAction", "error")
    assert error["request"]["direction"] == "in"
    assert error["response"]["message_type"] == "CALLERROR"
    assert error["response"]["direction"] == "out"
    assert error["error_code"] == "NotImplemented"
    assert error["response"]["payload"]["errorCode"] == "NotImplemented"


async def test_a_call_left_unanswered_is_logged_when_the_connection_ends(
    server: RunningCsms,
) -> None:
    await server.add_station("RAW")
    async with server.connect("RAW", subprotocols=["ocpp1.6"]) as ws:
        assert (await call(ws, "b1", "BootNotification", BOOT_16))[2]["status"] == "Accepted"
        async with server.api() as api:
            command = asyncio.create_task(
                api.post("/api/v1/stations/RAW/call/ClearCache", json={}, params={"timeout": 5})
            )
            sent = await asyncio.wait_for(ws.recv(), 5)  # never answered
            assert '"ClearCache"' in str(sent)
            await ws.close()
            await command
    body = await _messages(server, "/api/v1/messages", 1, station="RAW", errors="true")
    [unanswered] = body["items"]
    assert (unanswered["action"], unanswered["outcome"]) == ("ClearCache", "unanswered")
    assert unanswered["direction"] == "out" and unanswered["response"] is None
    assert unanswered["latency_ms"] is None


async def test_full_queue_drops_and_counts_without_blocking_the_station(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(tmp_path, message_log_queue=3)
    async with running_csms(settings) as server:
        await server.add_station("CP16")
        release = asyncio.Event()
        writes: list[Sequence[LoggedExchange]] = []

        async def stuck(exchanges: Sequence[LoggedExchange]) -> None:
            writes.append(exchanges)
            await release.wait()

        monkeypatch.setattr(store_of(server).message_log, "append", stuck)
        recorder = server.csms.message_log
        assert recorder is not None
        try:
            async with server.connect("CP16", subprotocols=["ocpp1.6"]) as ws:
                boot = await call(ws, "b1", "BootNotification", BOOT_16)
                assert boot[2]["status"] == "Accepted"
                for n in range(20):  # each answered at once although the log's writer is stuck
                    reply = await asyncio.wait_for(call(ws, f"h{n}", "Heartbeat", {}), 2)
                    assert reply[0] == 3
                assert writes, "the writer took a first batch and is stuck writing it"
                # 42 frames: the writer holds its first batch (rows of two frames, or one for a
                # CALL written unanswered, and CALLs still waiting for their answer), 3 wait in
                # the queue, the rest are dropped and counted.
                assert recorder.queued == 3
                taken = sum(2 if e.response_type else 1 for rows in writes for e in rows)
                assert recorder.dropped == 42 - (taken + recorder.waiting) - 3
            async with server.api() as api:
                metrics = (await api.get("/metrics")).text
            assert f"csms_message_log_dropped_total {float(recorder.dropped)}" in metrics
        finally:
            release.set()
