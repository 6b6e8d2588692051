"""OCPP-J rules a CSMS must honour, checked on the wire against a real csms (ocpp-rules.md §6 A–E)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from csms.domain.model import RegistrationStatus
from csms.storage import tables
from tests.integration.harness import (
    BOOT_2X,
    BOOT_16,
    PASSWORD,
    RunningCsms,
    basic_auth,
    call,
    running_csms,
    settings_for,
)
from tests.integration.rawws import silent_client
from tests.integration.simulator.helpers import rows

V16, V201, V21 = ["ocpp1.6"], ["ocpp2.0.1"], ["ocpp2.1"]


async def booted(server: RunningCsms, station_id: str, subprotocols: list[str]) -> Any:
    ws = await connect(
        server.ocpp_url + station_id,
        subprotocols=subprotocols,  # type: ignore[arg-type]
        additional_headers=basic_auth(station_id, PASSWORD),
    )
    boot = BOOT_16 if subprotocols == V16 else BOOT_2X
    reply = await call(ws, "boot", "BootNotification", boot)
    assert reply[2]["status"] == "Accepted"
    return ws


async def raw(ws: ClientConnection, text: str) -> Any:
    await ws.send(text)
    return orjson.loads(await ws.recv())


# --------------------------------------------------------------------------- A: handshake


async def test_unknown_station_gets_404_and_nothing_is_stored(server: RunningCsms) -> None:
    """OCPP-J 1.6 §3.2; 2.0.1 Part 4 §3.2: unknown identity → HTTP 404, no upgrade."""
    with pytest.raises(InvalidStatus) as caught:
        async with server.connect("NOPE"):
            pass
    assert caught.value.response.status_code == 404
    assert server.csms.store is not None
    assert await server.csms.store.stations.get("NOPE") is None


async def test_no_acceptable_subprotocol_gets_no_session(server: RunningCsms) -> None:
    """1.6 §3.2; TC_088_CSMS: handshake without Sec-WebSocket-Protocol, then closed at once."""
    await server.add_station("CS1")
    for offered in (["ocpp0.1"], None):
        async with connect(
            server.ocpp_url + "CS1",
            subprotocols=offered,  # type: ignore[arg-type]
            additional_headers=basic_auth("CS1", PASSWORD),
        ) as ws:
            assert ws.subprotocol is None
            with pytest.raises(ConnectionClosed):
                await call(ws, "1", "Heartbeat", {})
            assert ws.close_code == 1002


@pytest.mark.parametrize(
    ("offered", "chosen"),
    [
        (["ocpp0.1", "ocpp1.6"], "ocpp1.6"),
        (["ocpp2.1", "ocpp2.0.1", "ocpp1.6"], "ocpp2.1"),
        (["ocpp2.0.1", "ocpp1.6"], "ocpp2.0.1"),
    ],
)
async def test_subprotocol_negotiation(
    server: RunningCsms, offered: list[str], chosen: str
) -> None:
    """2.1 Part 4 §3.1.2: the first offered version csms speaks; error spelling follows it."""
    await server.add_station("NEG")
    async with server.connect("NEG", subprotocols=offered) as ws:
        assert ws.subprotocol == chosen
        reply = await raw(ws, "hello")
        expected = "FormationViolation" if chosen == "ocpp1.6" else "RpcFrameworkError"
        assert reply[:3] == [4, "-1", expected]


async def test_identity_is_percent_decoded_once(server: RunningCsms) -> None:
    """1.6 §3.1.1: RDAM%20123 is station "RDAM 123"; any path prefix works."""
    await server.add_station("RDAM 123")
    async with connect(
        f"ws://127.0.0.1:{server.csms.ocpp_port}/some/prefix/RDAM%20123",
        subprotocols=V16,  # type: ignore[arg-type]
        additional_headers=basic_auth("RDAM 123", PASSWORD),
    ) as ws:
        reply = await call(ws, "1", "BootNotification", BOOT_16)
        assert reply[2]["status"] == "Accepted"


@pytest.mark.parametrize(
    "headers",
    [
        {},  # no Authorization header
        basic_auth("OTHER", PASSWORD),  # username ≠ identity (TC_A_02_CSMS)
        basic_auth("AUTH", b"wrong-password-but-long"),  # TC_A_03_CSMS
        {"Authorization": "Bearer abc"},
        {"Authorization": "Basic !!!notbase64"},
    ],
)
async def test_bad_credentials_get_401(server: RunningCsms, headers: dict[str, str]) -> None:
    """A00.FR.202–204: Basic auth is checked before the upgrade; failures get 401."""
    await server.add_station("AUTH")
    with pytest.raises(InvalidStatus) as caught:
        async with connect(
            server.ocpp_url + "AUTH",
            subprotocols=V16,  # type: ignore[arg-type]
            additional_headers=headers,
        ):
            pass
    assert caught.value.response.status_code == 401
    assert caught.value.response.headers["WWW-Authenticate"].startswith("Basic")


@pytest.mark.parametrize(
    "password",
    [
        b"pass:with:colons:16+",  # 2.x passwords may contain ':'
        bytes(range(240, 256)) + b":\x00\x01\xff",  # a binary 1.6 AuthorizationKey
    ],
)
async def test_colon_and_binary_passwords(server: RunningCsms, password: bytes) -> None:
    """ocpp-rules.md §2.2: the password is everything after "identity:", as bytes."""
    await server.add_station("BIN", password=password)
    async with server.connect("BIN", password=password) as ws:
        assert (await call(ws, "1", "BootNotification", BOOT_16))[2]["status"] == "Accepted"


async def test_hex_authorization_key_matches_binary_form(server: RunningCsms) -> None:
    """1.6 security whitepaper A00.FR.205: a key configured as hex may arrive as its bytes."""
    key = bytes(range(1, 21))
    await server.add_station("HEX", password=key.hex().encode())
    async with server.connect("HEX", password=key) as ws:
        assert (await call(ws, "1", "BootNotification", BOOT_16))[2]["status"] == "Accepted"


async def test_failed_logins_are_throttled_per_address(tmp_path: Path) -> None:
    """CWE-307: too many failures from one address → 429; the real station elsewhere still gets in."""
    settings = settings_for(tmp_path, auth_failures_per_address=3, auth_failures_per_identity=3)
    async with running_csms(settings) as server:
        await server.add_station("VICTIM")
        codes = []
        for _ in range(5):
            try:
                async with server.connect("VICTIM", password=b"guess-guess-guess-1"):
                    pass
            except InvalidStatus as exc:
                codes.append(exc.response.status_code)
        assert codes == [401, 401, 401, 429, 429]
        async with connect(
            server.ocpp_url + "VICTIM",
            subprotocols=V16,  # type: ignore[arg-type]
            additional_headers=basic_auth("VICTIM", PASSWORD),
            local_addr=("127.0.0.2", 0),
        ) as ws:
            assert (await call(ws, "1", "BootNotification", BOOT_16))[2]["status"] == "Accepted"


async def test_second_connection_refused_while_first_answers(server: RunningCsms) -> None:
    """ocpp-rules.md §6 test 15: never two live sessions; a live one keeps its place."""
    await server.add_station("DUP")
    first = await booted(server, "DUP", V16)
    try:
        with pytest.raises(InvalidStatus) as caught:
            async with server.connect("DUP"):
                pass
        assert caught.value.response.status_code == 409
        assert (await call(first, "2", "Heartbeat", {}))[0] == 3
    finally:
        await first.close()


async def test_second_connection_replaces_a_dead_one(tmp_path: Path) -> None:
    """A session that no longer answers pings is replaced by the newcomer; commands go to it."""
    async with running_csms(settings_for(tmp_path, duplicate_probe_timeout=0.5)) as server:
        await server.add_station("HALF")
        port = server.csms.ocpp_port
        auth = basic_auth("HALF", PASSWORD)["Authorization"]
        _, writer, head = await silent_client(
            "127.0.0.1", port, "/ocpp/HALF", subprotocol="ocpp1.6", authorization=auth
        )
        assert head.startswith(b"HTTP/1.1 101")
        await asyncio.sleep(0.1)
        old = server.csms.registry.get("HALF")
        async with server.connect("HALF") as ws:
            assert (await call(ws, "1", "BootNotification", BOOT_16))[2]["status"] == "Accepted"
            assert server.csms.registry.get("HALF") is not old
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def test_dead_peer_is_detected_and_marked_offline(tmp_path: Path) -> None:
    """1.6 errata 3.9: server pings; a peer that stops answering is closed and marked offline."""
    settings = settings_for(tmp_path, ping_interval=0.3, ping_timeout=0.3, close_timeout=1.0)
    async with running_csms(settings) as server:
        await server.add_station("DEAD")
        auth = basic_auth("DEAD", PASSWORD)["Authorization"]
        _, writer, head = await silent_client(
            "127.0.0.1",
            server.csms.ocpp_port,
            "/ocpp/DEAD",
            subprotocol="ocpp1.6",
            authorization=auth,
        )
        assert head.startswith(b"HTTP/1.1 101")
        await asyncio.sleep(0.1)
        assert server.csms.registry.is_connected("DEAD")
        loop = asyncio.get_running_loop()
        start = loop.time()
        while server.csms.registry.is_connected("DEAD") and loop.time() - start < 15:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        # ping interval + ping timeout + close timeout (the dead peer never returns a close frame)
        assert loop.time() - start < 0.3 + 0.3 + 1 + 1
        assert not server.csms.registry.is_connected("DEAD")
        assert server.csms.store is not None
        station = await server.csms.store.stations.get("DEAD")
        assert station is not None and station.online is False
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def test_server_pings_come_from_one_shared_timer(tmp_path: Path) -> None:
    """Idle cost (issue 11): every session is pinged at the interval and a live peer that answers
    stays connected, with no keepalive task per connection (one shared timer pings them all)."""
    settings = settings_for(tmp_path, ping_interval=0.2, ping_timeout=0.2, close_timeout=1.0)
    async with running_csms(settings) as server:
        for station in ("PING1", "PING2"):
            await server.add_station(station)
        one = await booted(server, "PING1", V16)
        two = await booted(server, "PING2", V201)
        listener = server.csms.listener
        assert listener is not None and listener.keepalive is not None
        sessions = [server.csms.registry.get(s) for s in ("PING1", "PING2")]
        assert all(s is not None and s.ws.keepalive_task is None for s in sessions)
        sent = listener.keepalive.pings_sent
        await asyncio.sleep(0.2 * 4 + 0.1)  # four intervals, every pong well within its timeout
        assert listener.keepalive.pings_sent - sent >= 6  # ~4 per session
        assert listener.keepalive.timeouts == 0
        for s in sessions:
            assert s is not None and s.ws.latency > 0  # our pings were answered
        assert all(server.csms.registry.is_connected(s) for s in ("PING1", "PING2"))
        assert one.close_code is None and two.close_code is None
        await one.close()
        await two.close()
        await asyncio.sleep(0.1)
        assert len(listener.keepalive) == 0  # ended sessions leave the wheel


async def test_oversized_frame_closes_with_1009(tmp_path: Path) -> None:
    """ocpp-rules.md §6 test 32: a frame over the limit closes the connection (1009)."""
    async with running_csms(settings_for(tmp_path, max_message_size=65536)) as server:
        await server.add_station("BIG")
        ws = await booted(server, "BIG", V16)
        big = {"vendorId": "x", "data": "y" * 70_000}
        await ws.send(orjson.dumps([2, "2", "DataTransfer", big]).decode())
        with pytest.raises(ConnectionClosed):
            await ws.recv()
        assert ws.close_code == 1009
        # The station is fine to come back, and other stations were not disturbed.
        again = await booted(server, "BIG", V16)
        await again.close()


# --------------------------------------------------------------------------- B: frames


@pytest.mark.parametrize(
    ("subprotocols", "frame", "expected"),
    [
        (V201, "hello", [4, "-1", "RpcFrameworkError"]),
        (V16, "hello", [4, "-1", "FormationViolation"]),
        (V201, '{"a": 1}', [4, "-1", "RpcFrameworkError"]),
        (V201, "[]", [4, "-1", "RpcFrameworkError"]),
        (V201, '["2", "x", "Heartbeat", {}]', [4, "x", "RpcFrameworkError"]),
        (V201, '[2, 17, "Heartbeat", {}]', [4, "-1", "RpcFrameworkError"]),
        (V201, '[2, "' + "a" * 37 + '", "Heartbeat", {}]', [4, "-1", "RpcFrameworkError"]),
        (V201, '[2, "x", "Heartbeat"]', [4, "x", "RpcFrameworkError"]),
        (V201, '[7, "x", "Heartbeat", {}]', [4, "x", "MessageTypeNotSupported"]),
        (V201, '[2, "x", "FooBar", {}]', [4, "x", "NotImplemented"]),
        (V201, '[2, "x", "HeartbeatRequest", {}]', [4, "x", "NotImplemented"]),
        (V16, '[2, "x", "bootnotification", {}]', [4, "x", "NotImplemented"]),
        (V16, '[2, "x", "RemoteStartTransaction", {"idTag": "a"}]', [4, "x", "NotSupported"]),
        (V201, '[2, "x", "RequestStartTransaction", {}]', [4, "x", "NotSupported"]),
        (V16, '[2, "x", "Heartbeat", []]', [4, "x", "FormationViolation"]),
    ],
)
async def test_malformed_frames_get_spec_errors(
    server: RunningCsms, subprotocols: list[str], frame: str, expected: list[Any]
) -> None:
    """2.0.1 Part 4 §4.2.3, §4.4; 1.6 §4.2.3: bad frames get a CALLERROR; the connection stays open."""
    await server.add_station("BAD")
    ws = await booted(server, "BAD", subprotocols)
    try:
        reply = await raw(ws, frame)
        assert reply[:3] == expected
        assert len(reply) == 5 and isinstance(reply[3], str) and reply[4] == {}
        assert (await call(ws, "after", "Heartbeat", {}))[:2] == [3, "after"]
    finally:
        await ws.close()


@pytest.mark.parametrize(
    ("subprotocols", "payload", "code"),
    [
        (V16, {"connectorId": 1, "status": "Available"}, "OccurenceConstraintViolation"),
        (
            V16,
            {"connectorId": "1", "errorCode": "NoError", "status": "Available"},
            "TypeConstraintViolation",
        ),
        (
            V16,
            {"connectorId": 1, "errorCode": "NoError", "status": "Sleeping"},
            "PropertyConstraintViolation",
        ),
        (
            V16,
            {"connectorId": 1, "errorCode": "NoError", "status": "Available", "x": 1},
            "FormationViolation",
        ),
        (
            V201,
            {"evseId": 1, "connectorId": 1, "connectorStatus": "Available"},
            "OccurrenceConstraintViolation",
        ),
        (
            V201,
            {
                "timestamp": "2026-01-01T00:00:00Z",
                "evseId": "1",
                "connectorId": 1,
                "connectorStatus": "Available",
            },
            "TypeConstraintViolation",
        ),
        (
            V201,
            {
                "timestamp": "yesterday",
                "evseId": 1,
                "connectorId": 1,
                "connectorStatus": "Available",
            },
            "PropertyConstraintViolation",
        ),
        (
            V201,
            {
                "timestamp": "2026-01-01T00:00:00Z",
                "evseId": 1,
                "connectorId": 1,
                "connectorStatus": "Available",
                "x": 1,
            },
            "FormatViolation",
        ),
    ],
)
async def test_schema_violations_per_version(
    server: RunningCsms, subprotocols: list[str], payload: dict[str, Any], code: str
) -> None:
    """ocpp-rules.md §6 tests 27 and 29: each violation class, spelled for the version."""
    await server.add_station("SCH")
    ws = await booted(server, "SCH", subprotocols)
    try:
        reply = await call(ws, "s1", "StatusNotification", payload)
        assert reply[:3] == [4, "s1", code]
    finally:
        await ws.close()


async def test_custom_data_is_accepted(server: RunningCsms) -> None:
    """2.0.1 Part 4 §9 / TC_P_03_CSMS: unknown customData with a vendorId is accepted."""
    await server.add_station("CUST")
    ws = await booted(server, "CUST", V201)
    try:
        reply = await call(ws, "h", "Heartbeat", {"customData": {"vendorId": "acme", "x": [1]}})
        assert reply[0] == 3
    finally:
        await ws.close()


async def test_lenient_station_violations_are_logged_not_fatal(server: RunningCsms) -> None:
    """A per-station lenient mode for non-compliant chargers: violations counted, CALL handled."""
    await server.add_station("LAX", lenient=True)
    ws = await booted(server, "LAX", V16)
    try:
        payload = {"connectorId": 1, "errorCode": "NoError", "status": "Available", "extra": 1}
        assert (await call(ws, "s", "StatusNotification", payload))[0] == 3
        conn = server.csms.registry.get("LAX")
        assert conn is not None and conn.ctx.schema_violations == 1
    finally:
        await ws.close()


async def test_lenient_station_unreadable_meter_timestamps_are_stored_not_refused(
    server: RunningCsms,
) -> None:
    """A lenient station's meter value with an unreadable timestamp is stored at the time it was
    received: an InternalError would make it retry the transaction message forever (§3)."""
    bad = "yesterday at noon"
    sample16 = {"timestamp": bad, "sampledValue": [{"value": "1500"}]}
    await server.add_station("LAX16", lenient=True)
    ws = await booted(server, "LAX16", V16)
    try:
        payload = {"connectorId": 1, "meterValue": [sample16]}
        before = datetime.now(UTC)
        assert await call(ws, "m", "MeterValues", payload) == [3, "m", {}]
    finally:
        await ws.close()
    [stored] = await rows(server, tables.meter_values, "LAX16")
    assert (stored.value, stored.raw_value) == (1500.0, "1500")
    assert (
        before - timedelta(seconds=1) <= stored.timestamp.replace(tzinfo=UTC) <= datetime.now(UTC)
    )
    sample2 = {"timestamp": bad, "sampledValue": [{"value": 1500}]}
    await server.add_station("LAX2", lenient=True)
    ws = await booted(server, "LAX2", V201)
    try:
        event = {
            "eventType": "Started",
            "timestamp": bad,
            "triggerReason": "CablePluggedIn",
            "seqNo": 0,
            "transactionInfo": {"transactionId": "TX-LAX"},
            "meterValue": [sample2],
        }
        assert await call(ws, "t", "TransactionEvent", event) == [3, "t", {}]
    finally:
        await ws.close()
    assert len(await rows(server, tables.meter_values, "LAX2")) == 1


async def test_security_events_of_unknown_type_and_past_timestamps_are_confirmed_and_kept(
    server: RunningCsms,
) -> None:
    """§6 F 65 (A04.FR.02/03): queued offline, a type csms does not know, a past timestamp."""
    await server.add_station("SEC")
    ws = await booted(server, "SEC", V16)
    try:
        for n, kind in enumerate(("VendorSpecificTamperHint", "ResetOrReboot")):
            event = {"type": kind, "timestamp": f"2019-05-01T00:00:0{n}Z"}
            assert await call(ws, f"e{n}", "SecurityEventNotification", event) == [3, f"e{n}", {}]
    finally:
        await ws.close()
    assert server.csms.store is not None
    stored = await server.csms.store.security.events(station_id="SEC")
    assert sorted(e.type for e in stored) == ["ResetOrReboot", "VendorSpecificTamperHint"]
    assert {e.timestamp.year for e in stored} == {2019}
    assert [e.critical for e in stored if e.type == "VendorSpecificTamperHint"] == [False]


async def test_send_is_processed_without_reply(server: RunningCsms) -> None:
    """2.1 Part 4 §4.2.4: SEND is never answered; in 2.0.1 type 6 is an unknown type."""
    await server.add_station("SND")
    ws = await booted(server, "SND", V21)
    try:
        stream = {
            "id": 1,
            "pending": 0,
            "basetime": "2026-01-01T00:00:00Z",
            "data": [{"t": 0, "v": "1"}],
        }
        await ws.send(orjson.dumps([6, "s1", "NotifyPeriodicEventStream", stream]).decode())
        await ws.send(orjson.dumps([6, "s2", "Heartbeat", {}]).decode())  # not a SEND message
        reply = await call(ws, "h1", "Heartbeat", {})
        assert reply[:2] == [3, "h1"]
    finally:
        await ws.close()
    ws = await booted(server, "SND", V201)
    try:
        reply = await raw(ws, '[6, "s2", "Heartbeat", {}]')
        assert reply[:3] == [4, "s2", "MessageTypeNotSupported"]
    finally:
        await ws.close()


# --------------------------------------------------------------------------- C: ids and concurrency


async def test_crossing_calls_do_not_deadlock(server: RunningCsms) -> None:
    """1.6 §4.1.1 NOTE: while our CALL is outstanding the station's CALLs are answered."""
    await server.add_station("CROSS")
    ws = await booted(server, "CROSS", V16)
    try:
        async with server.api() as api:
            request = asyncio.create_task(
                api.post("/api/v1/stations/CROSS/call/ClearCache", json={})
            )
            ours = orjson.loads(await ws.recv())
            assert ours[:3] == [2, ours[1], "ClearCache"]
            reply = await call(ws, "h", "Heartbeat", {})
            assert reply[:2] == [3, "h"]
            await ws.send(orjson.dumps([3, ours[1], {"status": "Accepted"}]).decode())
            response = await request
        assert response.status_code == 200
        assert response.json() == {"status": "Accepted"}
    finally:
        await ws.close()


async def test_commands_are_serialised_per_station(server: RunningCsms) -> None:
    """2.0.1 Part 4 §4.1.1: three commands at once → one CALL on the wire at a time."""
    await server.add_station("SER")
    ws = await booted(server, "SER", V16)
    try:
        async with server.api() as api:
            requests = [
                asyncio.create_task(api.post("/api/v1/stations/SER/call/ClearCache", json={}))
                for _ in range(3)
            ]
            for _ in range(3):
                frame = orjson.loads(await ws.recv())
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(ws.recv(), 0.3)
                await ws.send(orjson.dumps([3, frame[1], {"status": "Accepted"}]).decode())
            responses = await asyncio.gather(*requests)
        assert [r.status_code for r in responses] == [200, 200, 200]
    finally:
        await ws.close()


async def test_late_reply_is_dropped(tmp_path: Path) -> None:
    """ocpp-rules.md §6 test 31: a reply after the timeout is never matched to a later CALL."""
    async with running_csms(settings_for(tmp_path, call_timeout=0.5)) as server:
        await server.add_station("LATE")
        ws = await booted(server, "LATE", V16)
        async with server.api() as api:
            first = await asyncio.gather(
                api.post("/api/v1/stations/LATE/call/ClearCache", json={}), ws.recv()
            )
            assert first[0].status_code == 504
            stale_id = orjson.loads(first[1])[1]
            second = asyncio.create_task(api.post("/api/v1/stations/LATE/call/ClearCache", json={}))
            fresh = orjson.loads(await ws.recv())
            await ws.send(orjson.dumps([3, stale_id, {"status": "Rejected"}]).decode())
            await ws.send(orjson.dumps([3, fresh[1], {"status": "Accepted"}]).decode())
            assert (await second).json() == {"status": "Accepted"}
        await ws.close()


# --------------------------------------------------------------------------- E: registration


async def test_call_before_boot_gets_security_error(server: RunningCsms) -> None:
    """1.6 errata 3.8; TC_B_30_CSMS: a CALL before BootNotification is Accepted → SecurityError."""
    await server.add_station("EARLY")
    async with server.connect("EARLY", subprotocols=V201) as ws:
        reply = await call(ws, "1", "Heartbeat", {})
        assert reply[:3] == [4, "1", "SecurityError"]


async def test_pending_station_boot_and_gate(server: RunningCsms) -> None:
    """1.6 §4.2: Pending → interval to retry; other CALLs SecurityError; no RemoteStart sent."""
    await server.add_station("PEND", status=RegistrationStatus.PENDING)
    async with server.connect("PEND", subprotocols=V16) as ws:
        boot = await call(ws, "1", "BootNotification", BOOT_16)
        assert boot[2]["status"] == "Pending" and boot[2]["interval"] == 60
        reply = await call(
            ws,
            "2",
            "StatusNotification",
            {"connectorId": 1, "errorCode": "NoError", "status": "Available"},
        )
        assert reply[:3] == [4, "2", "SecurityError"]
        async with server.api() as api:
            refused = await api.post(
                "/api/v1/stations/PEND/call/RemoteStartTransaction", json={"idTag": "T1"}
            )
            assert refused.status_code == 409
            accept = await api.patch(
                "/api/v1/stations/PEND", json={"registration_status": "Accepted"}
            )
            assert accept.status_code == 200, accept.text
        # A connected station that was accepted is told to boot again now (1.6 §4.2, §5.17).
        trigger = orjson.loads(await ws.recv())
        assert trigger[0] == 2 and trigger[2:] == [
            "TriggerMessage",
            {"requestedMessage": "BootNotification"},
        ]
        await ws.send(orjson.dumps([3, trigger[1], {"status": "Accepted"}]).decode())
        boot = await call(ws, "3", "BootNotification", BOOT_16)
        assert boot[2]["status"] == "Accepted"


async def test_reconnect_without_boot_is_served_from_storage(tmp_path: Path) -> None:
    """1.6 §5.4; 2.0.1 Part 4 §5.3: after a CSMS restart a station reconnects without booting."""
    settings = settings_for(tmp_path)
    async with running_csms(settings) as server:
        await server.add_station("BACK")
        ws = await booted(server, "BACK", V201)
        await ws.close()
    async with running_csms(settings) as server, server.connect("BACK", subprotocols=V201) as ws:
        reply = await call(ws, "1", "Heartbeat", {})
        assert reply[:2] == [3, "1"]


async def test_unknown_station_policy_pending_registers_it(tmp_path: Path) -> None:
    """Unknown stations may be registered as Pending (trust on first use of their password)."""
    async with running_csms(settings_for(tmp_path, unknown_stations="pending")) as server:
        async with server.connect("NEWBIE", subprotocols=V16) as ws:
            boot = await call(ws, "1", "BootNotification", BOOT_16)
            assert boot[2]["status"] == "Pending"
        with pytest.raises(InvalidStatus) as caught:
            async with server.connect("NEWBIE", password=b"another-password-16"):
                pass
        assert caught.value.response.status_code == 401


async def test_bad_input_never_disturbs_other_stations(server: RunningCsms) -> None:
    """A station spewing garbage is closed after too many bad frames; others carry on."""
    await server.add_station("GOOD")
    await server.add_station("EVIL")
    good = await booted(server, "GOOD", V16)
    evil = await booted(server, "EVIL", V16)
    try:
        for _ in range(10):
            await evil.send("\x00garbage")
        with pytest.raises(ConnectionClosed):
            for _ in range(20):
                await evil.recv()
        assert evil.close_code == 1002
        assert (await call(good, "ok", "Heartbeat", {}))[:2] == [3, "ok"]
    finally:
        await good.close()


def test_base64_helper_roundtrip() -> None:
    """Sanity check of the test helper itself."""
    header = basic_auth("A", b"b:c")["Authorization"]
    assert base64.b64decode(header.split()[1]) == b"A:b:c"
