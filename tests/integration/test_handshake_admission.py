"""Handshake admission under load (issue 11), over real sockets: a saturated csms answers new
handshakes 503 with Retry-After before touching storage, and serves them again once it is not."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from websockets.asyncio.client import connect

from csms.domain.model import RegistrationStatus
from tests.integration.harness import BOOT_16, PASSWORD, basic_auth, call, running_csms
from tests.integration.harness import settings_for as harness_settings
from tests.integration.rawws import silent_client

REQUEST = (
    b"GET /ocpp/CS1 HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    b"Sec-WebSocket-Protocol: ocpp1.6\r\n\r\n"
)


async def _until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)


async def _upgrade(
    path: bytes, connection: tuple[asyncio.StreamReader, asyncio.StreamWriter]
) -> bytes:
    """Send the handshake request for ``path`` on an open connection; the response head."""
    reader, writer = connection
    writer.write(REQUEST.replace(b"/ocpp/CS1", path))
    return await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)


async def test_too_many_handshakes_in_progress_get_503_with_retry_after(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = harness_settings(
        tmp_path,
        max_handshakes=1,
        max_pending_handshakes=100,
        max_loop_lag=0,
        shed_retry_after=3,
        duplicate_probe_timeout=3.0,
    )
    async with running_csms(settings) as server:
        for station in ("CS1", "CS2"):
            await server.add_station(station)
        port = server.csms.ocpp_port
        listener = server.csms.listener
        assert listener is not None and listener._acceptor is not None
        limits = listener._acceptor.limits
        # Silent sockets cost no CPU and take no slot: the limit counts requests being served.
        # Three of them send their request once the slot is taken: accepted before the process
        # was saturated, they are answered 503.
        silent = [await asyncio.open_connection("127.0.0.1", port) for _ in range(3)]
        await _until(lambda: limits.in_handshake == 3)
        # CS1's session never answers pings, so a second CS1 handshake is served for the
        # 3 s of the duplicate probe: the one slot is taken.
        auth = basic_auth("CS1", PASSWORD)["Authorization"]
        dead = await silent_client("127.0.0.1", port, "/ocpp/CS1", subprotocol="ocpp1.6",
                                   authorization=auth)  # fmt: skip
        assert dead[2].startswith(b"HTTP/1.1 101")
        probing = asyncio.create_task(
            silent_client("127.0.0.1", port, "/ocpp/CS1", subprotocol="ocpp1.6", authorization=auth)
        )
        waiting: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        try:
            await _until(lambda: limits.working >= 1)
            heads = [await _upgrade(b"/ocpp/CS2", connection) for connection in silent]
            assert all(head.startswith(b"HTTP/1.1 503 ") for head in heads)
            retry_after = [
                int(line.split(b":")[1]) for head in heads for line in head.split(b"\r\n")
                if line.startswith(b"Retry-After:")
            ]  # fmt: skip
            assert len(retry_after) == 3 and all(3 <= r <= 6 for r in retry_after)
            # Logged at a bounded rate: one line per interval, not one per refusal.
            lines = [r for r in caplog.records if "answered 503" in r.getMessage()]
            assert len(lines) == 1
            assert "1 handshakes in progress (CSMS_MAX_HANDSHAKES 1)" in lines[0].getMessage()
            # Saturated: a new connection is not accepted, it waits in the listen backlog.
            before = limits.load().open
            waiting = await asyncio.open_connection("127.0.0.1", port)
            cs2 = basic_auth("CS2", PASSWORD)["Authorization"].encode()
            waiting[1].write(
                REQUEST.replace(b"/ocpp/CS1", b"/ocpp/CS2")[:-2]
                + b"Authorization: "
                + cs2
                + b"\r\n\r\n"
            )
            await asyncio.sleep(0.3)
            load = listener.load()
            assert load is not None and load.open == before  # not accepted
            assert load.accepting_paused is not None and "CSMS_MAX_HANDSHAKES 1" in (
                load.accepting_paused
            )
            paused = [r for r in caplog.records if "paused accepting" in r.getMessage()]
            assert len(paused) == 1
            # The health report and /metrics show the pause.
            async with server.api() as api:
                health = (await api.get("/healthz")).json()
                metrics = (await api.get("/metrics")).text
            assert "CSMS_MAX_HANDSHAKES 1" in health["connections"]["accepting_paused"]
            assert "\ncsms_handshakes_accept_paused 1.0\n" in metrics
            assert "\ncsms_handshake_shed_total 3.0\n" in metrics
            # The probe ends (the dead session is replaced): the slot is free again, and the
            # connection that waited is accepted and served, not refused.
            _, replacing, head = await asyncio.wait_for(probing, 10)
            replacing.transport.abort()
            assert head.startswith(b"HTTP/1.1 101")
            head = await asyncio.wait_for(waiting[0].readuntil(b"\r\n\r\n"), 10)
            assert head.startswith(b"HTTP/1.1 101")
            load = listener.load()
            assert load is not None and load.accepting_paused is None
        finally:
            if not probing.done():
                probing.cancel()
            elif not probing.cancelled() and probing.exception() is None:
                probing.result()[1].transport.abort()
            for _, writer in silent:
                writer.transport.abort()
            if waiting is not None:
                waiting[1].transport.abort()
            dead[1].transport.abort()


async def test_a_lagging_event_loop_sheds_new_handshakes(tmp_path: Path) -> None:
    settings = harness_settings(tmp_path, max_handshakes=0, max_loop_lag=0.2)
    async with running_csms(settings) as server:
        await server.add_station("CS1")
        port = server.csms.ocpp_port
        listener = server.csms.listener
        assert listener is not None and listener._acceptor is not None
        limits = listener._acceptor.limits
        loop = asyncio.get_running_loop()
        # Accepted while the loop keeps up; its request comes once the loop stays behind.
        accepted = socket.create_connection(("127.0.0.1", port))
        late = socket.create_connection(("127.0.0.1", port))
        try:
            await _until(lambda: limits.in_handshake == 2)
            accepted.close()  # only one is needed: the other shows how many are accepted
            await _until(lambda: limits.in_handshake == 1)
            # The loop stays behind: blocked 0.4 s in each of three iterations, so each of its
            # 100 ms lag ticks runs late.
            for _ in range(2):
                time.sleep(0.4)  # noqa: ASYNC251 - the blocked event loop the test is about
                await asyncio.sleep(0)
            # Connects while the loop lags: accept() waits, it stays in the listen backlog.
            waiting = socket.create_connection(("127.0.0.1", port))
            try:
                waiting.setblocking(False)
                cs1 = basic_auth("CS1", PASSWORD)["Authorization"].encode()
                await loop.sock_sendall(
                    waiting, REQUEST[:-2] + b"Authorization: " + cs1 + b"\r\n\r\n"
                )
                time.sleep(0.4)  # noqa: ASYNC251
                await asyncio.sleep(0)
                late.setblocking(False)
                await loop.sock_sendall(late, REQUEST)
                head = await asyncio.wait_for(loop.sock_recv(late, 4096), 5)
                assert head.startswith(b"HTTP/1.1 503 ")
                assert b"\r\nRetry-After: " in head
                assert limits.load().open == 1  # the waiting one was not accepted
                # Caught up (two ticks on time): accepted and served, not refused.
                head = await asyncio.wait_for(loop.sock_recv(waiting, 4096), 5)
                assert head.startswith(b"HTTP/1.1 101 ")
            finally:
                waiting.close()
        finally:
            late.close()
        async with connect(
            server.ocpp_url + "CS1",
            subprotocols=["ocpp1.6"],  # type: ignore[list-item]
            additional_headers=basic_auth("CS1", PASSWORD),
        ) as ws:
            assert (await call(ws, "1", "BootNotification", BOOT_16))[2]["status"] == "Accepted"


async def test_a_station_accepted_before_its_first_boot_is_told_so(tmp_path: Path) -> None:
    """The first BootNotification answers from the status read at the handshake (reconnect cost),
    unless the operator acted on the station since: accepted while connected and not yet booted,
    it is sent TriggerMessage, and its boot must then be Accepted, not the handshake's Pending."""
    async with running_csms(harness_settings(tmp_path)) as server:
        await server.add_station("PEND", status=RegistrationStatus.PENDING)
        async with server.connect("PEND") as ws:
            async with server.api() as api:
                accept = await api.patch(
                    "/api/v1/stations/PEND", json={"registration_status": "Accepted"}
                )
                assert accept.status_code == 200, accept.text
            trigger = orjson.loads(await ws.recv())
            assert trigger[2:] == ["TriggerMessage", {"requestedMessage": "BootNotification"}]
            await ws.send(orjson.dumps([3, trigger[1], {"status": "Accepted"}]).decode())
            boot = await call(ws, "1", "BootNotification", BOOT_16)
            assert boot[2]["status"] == "Accepted"
