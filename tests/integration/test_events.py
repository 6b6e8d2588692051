"""Events over real sockets, on SQLite and PostgreSQL: a 2.0.1 station (the `ocpp` package's
ChargePoint) charges; an SSE client (httpx streaming) receives connected, boot, status and the
transaction's started/updated/ended in order; a client reconnecting with Last-Event-ID resumes
without loss or duplicates; a webhook receiver on loopback gets them signed (HMAC verified), its
delivery log shows them; a receiver answering 500 gets retries and its subscription is disabled
after the limit, with the reason visible."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from ocpp.v201 import ChargePoint, call

from csms.config import EventsSettings
from csms.domain.webhooks import verify
from tests.integration.events import SseReader, webhook_receiver
from tests.integration.harness import RunningCsms, running_csms, settings_for

STATION = "EV-1"
T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
BOOT = {"charging_station": {"model": "M", "vendor_name": "V"}, "reason": "PowerUp"}
EVENTS = EventsSettings(
    keepalive=0.5,
    meter_interval=0,
    webhook_backoff=0.05,
    webhook_max_backoff=0.2,
    webhook_max_attempts=3,
    webhook_disable_after=3,
    max_streams=3,
)


@asynccontextmanager
async def _csms(database_url: str, tmp_path: Path, **events: Any) -> AsyncIterator[RunningCsms]:
    settings = settings_for(tmp_path)
    settings = dataclasses.replace(
        settings,
        database=dataclasses.replace(settings.database, url=database_url),
        events=dataclasses.replace(EVENTS, **events),
    )
    async with running_csms(settings) as running:
        yield running


@asynccontextmanager
async def _sse(
    client: httpx.AsyncClient, params: Any = None, last_event_id: str | None = None
) -> AsyncIterator[SseReader]:
    headers = {"Last-Event-ID": last_event_id} if last_event_id is not None else {}
    async with client.stream("GET", "/api/v1/events", params=params, headers=headers) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield SseReader(response)


def _at(seconds: int) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def _event(seq: int, event_type: str, trigger: str, wh: float, **kw: Any) -> call.TransactionEvent:
    sample = {
        "value": wh,
        "measurand": "Energy.Active.Import.Register",
        "unit_of_measure": {"unit": "Wh"},
    }
    return call.TransactionEvent(
        event_type=event_type,
        timestamp=_at(seq * 60),
        trigger_reason=trigger,
        seq_no=seq,
        transaction_info={"transaction_id": "TX-1", **kw.pop("info", {})},
        evse={"id": 1, "connector_id": 1},
        meter_value=[{"timestamp": _at(seq * 60), "sampled_value": [sample]}],
        **kw,
    )


async def _settled_log(api: httpx.AsyncClient, hook_id: int, count: int) -> list[dict[str, Any]]:
    """The delivery log once it has ``count`` rows, none pending (the receiver sees a request
    before csms has stored the attempt)."""
    deadline = time.monotonic() + 10
    while True:
        items: list[dict[str, Any]] = (
            await api.get(f"/api/v1/webhooks/{hook_id}/deliveries")
        ).json()["items"]
        if len(items) == count and all(d["state"] != "pending" for d in items):
            return items
        assert time.monotonic() < deadline, items
        await asyncio.sleep(0.02)


@asynccontextmanager
async def _station(server: RunningCsms) -> AsyncIterator[ChargePoint]:
    async with server.connect(STATION, subprotocols=["ocpp2.0.1"]) as ws:
        cp = ChargePoint(STATION, ws)
        task = asyncio.create_task(cp.start())
        try:
            yield cp
        finally:
            task.cancel()


async def _boot_and_plug(cp: ChargePoint) -> None:
    assert (await cp.call(call.BootNotification(**BOOT))).status == "Accepted"
    await cp.call(
        call.StatusNotification(
            timestamp=_at(0), connector_status="Occupied", evse_id=1, connector_id=1
        )
    )


async def _charge(cp: ChargePoint) -> None:
    await cp.call(_event(0, "Started", "CablePluggedIn", 1000.0))
    await cp.call(_event(1, "Updated", "MeterValuePeriodic", 1600.0))
    await cp.call(
        _event(2, "Ended", "EVDeparted", 2500.0, info={"stopped_reason": "EVDisconnected"})
    )


async def test_sse_and_signed_webhooks_follow_a_2_0_1_charge(
    database_url: str, tmp_path: Path
) -> None:
    async with (
        webhook_receiver() as receiver,
        _csms(database_url, tmp_path) as server,
        server.api() as api,
    ):
        await server.add_station(STATION)
        created = await api.post(
            "/api/v1/webhooks",
            json={"url": receiver.url, "event_types": ["station.", "transaction."],
                  "station_ids": [STATION]},
        )  # fmt: skip
        assert created.status_code == 201, created.text
        hook = created.json()
        secret = hook["secret"]
        assert secret.startswith("whsec_")
        listed = await api.get(f"/api/v1/webhooks/{hook['id']}")
        assert "secret" not in listed.json()  # shown once

        filters = {"station": STATION, "type": ["station.", "transaction."]}
        async with _sse(api, filters) as whole, _sse(api, filters) as first:
            async with _station(server) as cp:
                await _boot_and_plug(cp)
                head = await first.take(3)
                assert [m.event for m in head] == [
                    "station.connected", "station.boot", "station.status",
                ]  # fmt: skip
                resume_from = head[-1].id
                assert resume_from is not None
                await _charge(cp)
                everything = await whole.take(6)
            # After the stream it left, the first client reconnects with Last-Event-ID.
            async with _sse(api, filters, last_event_id=resume_from) as resumed:
                rest = await resumed.take(4)

        assert [m.event for m in everything] == [
            "station.connected", "station.boot", "station.status",
            "transaction.started", "transaction.updated", "transaction.ended",
        ]  # fmt: skip
        ids = [int(m.id or 0) for m in everything]
        assert ids == sorted(ids) and len(set(ids)) == 6
        for message in everything:
            assert message.data["id"] == int(message.id or 0)
            assert message.data["type"] == message.event
            assert message.data["station_id"] == STATION
        assert everything[1].data["data"]["vendor_name"] == "V"
        assert everything[2].data["data"]["status"] == "Occupied"
        ended = everything[5].data["data"]
        assert (ended["transaction_id"], ended["energy_wh"]) == ("TX-1", 2500.0)
        assert ended["stopped_reason"] == "EVDisconnected"
        # Resumed: exactly what was missed, once each, then live events (the disconnect).
        assert [m.id for m in rest[:3]] == [m.id for m in everything[3:]]
        assert rest[3].event == "station.disconnected"

        # The webhook got the same events, signed.
        got = await receiver.wait_for(7)
        await asyncio.sleep(0.1)
        assert len(receiver.received) == 7  # station.registration came before the hook
        bodies = []
        for request in got:
            assert verify(secret, request.headers["csms-signature"], request.body, int(time.time()))
            assert not verify("whsec_wrong", request.headers["csms-signature"], request.body,
                              int(time.time()))  # fmt: skip
            body = orjson.loads(request.body)
            assert request.headers["csms-event-id"] == str(body["id"])
            assert request.headers["csms-event-type"] == body["type"]
            bodies.append(body)
        assert sorted(b["type"] for b in bodies) == sorted(
            m.event or "" for m in [*everything, rest[3]]
        )
        log = await _settled_log(api, hook["id"], 7)
        assert {(d["state"], d["status_code"], d["attempts"]) for d in log} == {
            ("delivered", 200, 1)
        }
        assert all(d["latency_ms"] is not None and d["error"] is None for d in log)


async def test_a_failing_receiver_gets_retries_then_the_subscription_is_disabled(
    database_url: str, tmp_path: Path
) -> None:
    async with (
        webhook_receiver(500) as receiver,
        _csms(database_url, tmp_path) as server,
        server.api() as api,
    ):
        created = await api.post("/api/v1/webhooks", json={"url": receiver.url})
        hook_id = created.json()["id"]
        await server.add_station("EV-FAIL")  # station.registration
        got = await receiver.wait_for(3)
        for _ in range(200):
            hook = (await api.get(f"/api/v1/webhooks/{hook_id}")).json()
            if not hook["enabled"]:
                break
            await asyncio.sleep(0.02)
        assert hook["enabled"] is False
        assert hook["disabled_reason"] == "3 failed delivery attempts in a row; last: HTTP 500"
        # Three attempts of the same event, spaced by the (jittered) backoff.
        assert {r.headers["csms-event-id"] for r in got} == {got[0].headers["csms-event-id"]}
        assert got[1].at - got[0].at >= 0.02 and got[2].at - got[1].at >= 0.04
        [delivery] = await _settled_log(api, hook_id, 1)
        assert (delivery["state"], delivery["attempts"], delivery["status_code"]) == (
            "failed",
            3,
            500,
        )
        assert delivery["error"] == "HTTP 500"
        # Disabled: later events are not sent.
        await server.add_station("EV-FAIL-2")
        await asyncio.sleep(0.3)
        assert len(receiver.received) == 3
        # Re-enabled by an operator: the failures are reset and new events go out again.
        receiver.status[0] = 204
        patched = await api.patch(f"/api/v1/webhooks/{hook_id}", json={"enabled": True})
        assert patched.json()["enabled"] is True and patched.json()["disabled_reason"] is None
        await server.add_station("EV-FAIL-3")
        await receiver.wait_for(4)


async def test_command_results_are_streamed_without_payloads(tmp_path: Path) -> None:
    async with (
        _csms(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}", tmp_path) as server,
        server.api() as api,
    ):
        await server.add_station(STATION)
        async with _sse(api, {"type": "command."}) as stream, _station(server) as cp:
            await _boot_and_plug(cp)
            answer = await api.post(
                f"/api/v1/stations/{STATION}/call/SetVariables",
                json={"payload": {"setVariableData": [{
                    "attributeValue": "very-secret-value",
                    "component": {"name": "SecurityCtrlr"},
                    "variable": {"name": "BasicAuthPassword"},
                }]}},
            )  # fmt: skip
            message = await stream.next()
        assert answer.status_code >= 400  # refused by the secret guard, before the wire
        data = message.data["data"]
        assert message.event == "command.result"
        assert (data["action"], data["outcome"]) == ("SetVariables", "error")
        assert "very-secret-value" not in orjson.dumps(message.data).decode()


async def test_stream_limits_and_validation(tmp_path: Path) -> None:
    async with (
        _csms(f"sqlite+aiosqlite:///{tmp_path / 'l.db'}", tmp_path, max_streams=1) as server,
        server.api() as api,
    ):
        bad = await api.get("/api/v1/events", params={"type": "nonsense."})
        assert bad.status_code == 422 and "matches no event type" in bad.json()["detail"]
        bad = await api.get("/api/v1/events", headers={"Last-Event-ID": "abc"})
        assert bad.status_code == 422
        async with _sse(api) as stream:
            refused = await api.get("/api/v1/events")
            assert refused.status_code == 503
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.json()["type"] == "urn:csms:problem:too-many-streams"
            with pytest.raises(TimeoutError):
                await stream.next(timeout=1.2)
            assert stream.comments >= 2  # the opening comment, then keepalives
        # The slot is free again once the client left.
        for _ in range(100):
            if server.csms.events.subscriber_count == 1:  # the webhook intake only
                break
            await asyncio.sleep(0.02)
        async with _sse(api):
            pass
        async with server.api(authenticated=False) as anonymous:
            assert (await anonymous.get("/api/v1/events")).status_code == 401


async def test_webhook_api_validation_and_pagination(tmp_path: Path) -> None:
    async with (
        _csms(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}", tmp_path, max_webhooks=3) as server,
        server.api() as api,
    ):
        refused = await api.post("/api/v1/webhooks", json={"url": "http://hooks.example.com/x"})
        assert refused.status_code == 422 and "https is required" in refused.json()["detail"]
        refused = await api.post(
            "/api/v1/webhooks", json={"url": "https://h.example.com/", "event_types": ["x."]}
        )
        assert refused.status_code == 422
        ids = []
        for n in range(3):
            made = await api.post("/api/v1/webhooks", json={"url": f"https://h{n}.example.com/"})
            assert made.status_code == 201
            ids.append(made.json()["id"])
        full = await api.post("/api/v1/webhooks", json={"url": "https://h9.example.com/"})
        assert full.status_code == 409
        page = (await api.get("/api/v1/webhooks", params={"limit": 2})).json()
        assert [h["id"] for h in page["items"]] == ids[:2] and page["total"] == 3
        rest = (await api.get("/api/v1/webhooks", params={"cursor": page["next_cursor"]})).json()
        assert [h["id"] for h in rest["items"]] == ids[2:] and rest["next_cursor"] is None
        assert (await api.get("/api/v1/webhooks", params={"cursor": "!!"})).status_code == 422
        assert (await api.delete(f"/api/v1/webhooks/{ids[0]}")).status_code == 204
        assert (await api.get(f"/api/v1/webhooks/{ids[0]}")).status_code == 404
        assert (await api.delete(f"/api/v1/webhooks/{ids[0]}")).status_code == 404
        openapi = (await api.get("/openapi.json")).json()
        for path in ("/api/v1/webhooks", "/api/v1/webhooks/{subscription_id}"):
            for operation in openapi["paths"][path].values():
                assert operation["x-required-role"] == "admin"


async def test_accepted_deliveries_survive_a_restart(database_url: str, tmp_path: Path) -> None:
    async with webhook_receiver(503) as receiver:
        async with _csms(database_url, tmp_path, webhook_max_attempts=50,
                         webhook_disable_after=50) as server:  # fmt: skip
            async with server.api() as api:
                created = await api.post("/api/v1/webhooks", json={"url": receiver.url})
                assert created.status_code == 201
            await server.add_station("EV-RESTART")
            first = await receiver.wait_for(1)
            event_id = first[0].headers["csms-event-id"]
        # Down while the delivery is pending in the outbox; the next run sends it.
        receiver.status[0] = 200
        async with _csms(database_url, tmp_path) as server:
            deadline = time.monotonic() + 10
            while (
                receiver.received[-1].headers["csms-event-id"] != event_id
                or len(receiver.received) < 2
            ):
                assert time.monotonic() < deadline, "the pending delivery was not resent"
                await asyncio.sleep(0.02)
            async with server.api() as api:
                [hook] = (await api.get("/api/v1/webhooks")).json()["items"]
                [delivery] = await _settled_log(api, hook["id"], 1)
        assert delivery["state"] == "delivered" and delivery["status_code"] == 200
        assert delivery["event_id"] == int(event_id)


async def test_a_1_6_charge_is_streamed_once_per_fact(database_url: str, tmp_path: Path) -> None:
    from ocpp.v16 import ChargePoint as ChargePoint16
    from ocpp.v16 import call as call16

    async with _csms(database_url, tmp_path) as server, server.api() as api:
        await server.add_station("EV16")
        filters = {"station": "EV16", "type": ["transaction.", "meter.", "station.boot"]}
        async with _sse(api, filters) as stream:
            async with server.connect("EV16", subprotocols=["ocpp1.6"]) as ws:
                cp = ChargePoint16("EV16", ws)
                task = asyncio.create_task(cp.start())
                try:
                    await cp.call(
                        call16.BootNotification(charge_point_vendor="V", charge_point_model="M")
                    )
                    start = await cp.call(
                        call16.StartTransaction(connector_id=1, id_tag="TAG", meter_start=1000,
                                                timestamp=_at(0))
                    )  # fmt: skip
                    meter = call16.MeterValues(
                        connector_id=1, transaction_id=start.transaction_id,
                        meter_value=[{"timestamp": _at(60), "sampled_value": [{"value": "1600"}]}],
                    )  # fmt: skip
                    await cp.call(meter)
                    await cp.call(meter)  # a retry with a new message id: stored (and told) once
                    await cp.call(
                        call16.StopTransaction(meter_stop=2500, timestamp=_at(120),
                                               transaction_id=start.transaction_id)
                    )  # fmt: skip
                    got = await stream.take(5)
                finally:
                    task.cancel()
            with pytest.raises(TimeoutError):
                await stream.next(timeout=0.3)
    assert [m.event for m in got] == [
        "station.boot", "transaction.started", "transaction.updated", "meter.values",
        "transaction.ended",
    ]  # fmt: skip
    tx = str(start.transaction_id)
    assert {m.data["data"]["transaction_id"] for m in got[1:]} == {tx}
    assert got[1].data["data"]["meter_start_wh"] == 1000
    assert got[2].data["data"]["energy_wh"] == 1600.0
    assert (got[4].data["data"]["energy_wh"], got[4].data["data"]["meter_stop_wh"]) == (1500, 2500)


async def test_a_quiet_stream_says_it_is_open_at_once(tmp_path: Path) -> None:
    """Firefox's EventSource fires "open" only on the first body bytes: with no event and a
    long keepalive, the stream must still send something at once (a comment)."""
    async with (
        _csms(f"sqlite+aiosqlite:///{tmp_path / 'q.db'}", tmp_path, keepalive=60.0) as server,
        server.api() as api,
        api.stream("GET", "/api/v1/events", params={"type": "security."}) as response,
    ):
        assert response.status_code == 200
        first = await asyncio.wait_for(anext(response.aiter_lines()), timeout=5)
        assert first.startswith(":")
