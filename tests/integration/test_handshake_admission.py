"""Handshake admission under load (issue 11), over real sockets: a saturated csms answers new
handshakes 503 with Retry-After before touching storage, and serves them again once it is not."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.integration.harness import BOOT_16, PASSWORD, basic_auth, call, running_csms
from tests.integration.harness import settings_for as harness_settings

REQUEST = (
    b"GET /ocpp/CS1 HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    b"Sec-WebSocket-Protocol: ocpp1.6\r\n\r\n"
)


async def test_too_many_handshakes_in_progress_get_503_with_retry_after(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = harness_settings(tmp_path, max_handshakes=2, max_loop_lag=0, shed_retry_after=3)
    async with running_csms(settings) as server:
        await server.add_station("CS1")
        port = server.csms.ocpp_port
        # Two clients that connect and say nothing hold the two handshake slots.
        silent = [await asyncio.open_connection("127.0.0.1", port) for _ in range(2)]
        try:
            refused = []
            for _ in range(3):
                with pytest.raises(InvalidStatus) as caught:
                    async with server.connect("CS1"):
                        pass
                refused.append(caught.value.response)
            assert {r.status_code for r in refused} == {503}
            assert all(3 <= int(r.headers["Retry-After"]) <= 6 for r in refused)
            assert all(b"busy" in r.body for r in refused)
            # Logged at a bounded rate: one line per interval, not one per refusal.
            lines = [r for r in caplog.records if "answered 503" in r.getMessage()]
            assert len(lines) == 1
            assert "2 handshakes in progress (CSMS_MAX_HANDSHAKES 2)" in lines[0].getMessage()
        finally:
            for _, writer in silent:
                writer.transport.abort()
        deadline = time.monotonic() + 5
        while True:  # the slots free as the server sees the aborts
            try:
                async with server.connect("CS1") as ws:
                    boot = await call(ws, "1", "BootNotification", BOOT_16)
                    assert boot[2]["status"] == "Accepted"
                break
            except InvalidStatus:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.05)


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
