"""Handshake admission under load (issue 11), over real sockets: a saturated csms answers new
handshakes 503 with Retry-After before touching storage, and serves them again once it is not."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from csms.domain.model import RegistrationStatus
from tests.integration.harness import BOOT_16, PASSWORD, basic_auth, call, running_csms
from tests.integration.harness import settings_for as harness_settings
from tests.integration.rawws import silent_client

REQUEST = (
    b"GET /ocpp/CS1 HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    b"Sec-WebSocket-Protocol: ocpp1.6\r\n\r\n"
)


async def test_too_many_handshakes_in_progress_get_503_with_retry_after(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = harness_settings(
        tmp_path,
        max_handshakes=1,
        max_loop_lag=0,
        shed_retry_after=3,
        duplicate_probe_timeout=3.0,
    )
    async with running_csms(settings) as server:
        for station in ("CS1", "CS2"):
            await server.add_station(station)
        port = server.csms.ocpp_port
        auth = basic_auth("CS1", PASSWORD)["Authorization"]
        # Silent sockets cost no CPU and take no slot: the limit counts requests being served.
        silent = [await asyncio.open_connection("127.0.0.1", port) for _ in range(3)]
        # CS1's session never answers pings, so a second CS1 handshake is served for the
        # 3 s of the duplicate probe: the one slot is taken.
        dead = await silent_client("127.0.0.1", port, "/ocpp/CS1", subprotocol="ocpp1.6",
                                   authorization=auth)  # fmt: skip
        assert dead[2].startswith(b"HTTP/1.1 101")
        probing = asyncio.create_task(
            silent_client("127.0.0.1", port, "/ocpp/CS1", subprotocol="ocpp1.6", authorization=auth)
        )
        try:
            listener = server.csms.listener
            assert listener is not None and listener.load() is not None
            deadline = time.monotonic() + 5
            while listener._acceptor is None or listener._acceptor.limits.working < 1:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.01)
            refused = []
            for _ in range(3):
                with pytest.raises(InvalidStatus) as caught:
                    async with server.connect("CS2"):
                        pass
                refused.append(caught.value.response)
            assert {r.status_code for r in refused} == {503}
            assert all(3 <= int(r.headers["Retry-After"]) <= 6 for r in refused)
            assert all(b"busy" in r.body for r in refused)
            # Logged at a bounded rate: one line per interval, not one per refusal.
            lines = [r for r in caplog.records if "answered 503" in r.getMessage()]
            assert len(lines) == 1
            assert "1 handshakes in progress (CSMS_MAX_HANDSHAKES 1)" in lines[0].getMessage()
            # The probe ends (the dead session is replaced): the slot is free again.
            _, replacing, head = await asyncio.wait_for(probing, 10)
            replacing.transport.abort()
            assert head.startswith(b"HTTP/1.1 101")
            async with server.connect("CS2") as ws:
                assert (await call(ws, "1", "BootNotification", BOOT_16))[2]["status"] == "Accepted"
        finally:
            if not probing.done():
                probing.cancel()
            elif not probing.cancelled() and probing.exception() is None:
                probing.result()[1].transport.abort()
            for _, writer in silent:
                writer.transport.abort()
            dead[1].transport.abort()


async def test_a_lagging_event_loop_sheds_new_handshakes(tmp_path: Path) -> None:
    settings = harness_settings(tmp_path, max_handshakes=0, max_loop_lag=0.2)
    async with running_csms(settings) as server:
        await server.add_station("CS1")
        port = server.csms.ocpp_port
        loop = asyncio.get_running_loop()
        # The loop stays behind: blocked 0.4 s in each of three iterations, so each of its 100 ms
        # lag ticks runs late. The station connects before the last block (the kernel completes
        # the TCP handshake) and is accepted after it.
        for _ in range(2):
            time.sleep(0.4)  # noqa: ASYNC251 - the blocked event loop the test is about
            await asyncio.sleep(0)
        sock = socket.create_connection(("127.0.0.1", port))
        try:
            time.sleep(0.4)  # noqa: ASYNC251
            await asyncio.sleep(0)
            sock.setblocking(False)
            await loop.sock_sendall(sock, REQUEST)
            head = await asyncio.wait_for(loop.sock_recv(sock, 4096), 5)
        finally:
            sock.close()
        assert head.startswith(b"HTTP/1.1 503 ")
        assert b"\r\nRetry-After: " in head
        # Caught up (two ticks on time): served again.
        await asyncio.sleep(0.3)
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
