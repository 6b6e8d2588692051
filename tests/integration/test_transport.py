"""Transport-level behaviour: TLS (security profile 2), handshake timeout, permessage-deflate."""

from __future__ import annotations

import asyncio
import ssl
import warnings
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from tests.integration.harness import (
    BOOT_16,
    PASSWORD,
    basic_auth,
    call,
    running_csms,
    settings_for,
)
from tests.integration.tls import make_server_certificate


async def test_security_profile_2_tls(tmp_path: Path) -> None:
    """A00.FR.3xx: TLS ≥ 1.2 with Basic auth; older TLS is refused; plain ws gets no session."""
    ca, cert, key = make_server_certificate(tmp_path)
    settings = settings_for(tmp_path, security_profile=2, tls_cert=str(cert), tls_key=str(key))
    async with running_csms(settings) as server:
        await server.add_station("TLS1")
        url = f"wss://127.0.0.1:{server.csms.ocpp_port}/ocpp/TLS1"
        context = ssl.create_default_context(cafile=str(ca))
        async with connect(
            url,
            ssl=context,
            subprotocols=["ocpp1.6"],  # type: ignore[list-item]
            additional_headers=basic_auth("TLS1", PASSWORD),
        ) as ws:
            assert (await call(ws, "1", "BootNotification", BOOT_16))[2]["status"] == "Accepted"

        with warnings.catch_warnings():  # TLS 1.1 is deprecated: that is the point of the test
            warnings.simplefilter("ignore", DeprecationWarning)
            old = ssl.create_default_context(cafile=str(ca))
            old.minimum_version = ssl.TLSVersion.TLSv1_1
            old.maximum_version = ssl.TLSVersion.TLSv1_1
            old.set_ciphers("DEFAULT:@SECLEVEL=0")
        with pytest.raises((ssl.SSLError, OSError)):
            async with connect(url, ssl=old, subprotocols=["ocpp1.6"]):  # type: ignore[list-item]
                pass

        with pytest.raises(Exception):  # noqa: B017 - any failure: no plain-text session
            async with connect(
                f"ws://127.0.0.1:{server.csms.ocpp_port}/ocpp/TLS1",
                subprotocols=["ocpp1.6"],  # type: ignore[list-item]
                additional_headers=basic_auth("TLS1", PASSWORD),
                open_timeout=3,
            ):
                pass


async def test_slow_handshake_is_closed(tmp_path: Path) -> None:
    """ocpp-rules.md §6 test 44: a partial HTTP upgrade is closed after the open timeout."""
    async with running_csms(settings_for(tmp_path, open_timeout=0.5)) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.csms.ocpp_port)
        writer.write(b"GET /ocpp/SLOW HTTP/1.1\r\nHost: x\r\n")  # never finished
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), timeout=5)
        assert reader.at_eof()
        assert b"101" not in data
        writer.close()


async def test_permessage_deflate_is_negotiated_when_offered(tmp_path: Path) -> None:
    """2.0.1 Part 4 §3.3: the CSMS supports RFC 7692 compression; csms asks for no context takeover."""
    async with running_csms(settings_for(tmp_path)) as server:
        await server.add_station("ZIP")
        async with server.connect("ZIP", subprotocols=["ocpp2.0.1"], compression="deflate") as ws:
            extensions = ws.protocol.extensions
            assert [type(e).__name__ for e in extensions] == ["PerMessageDeflate"]
            reply = await call(ws, "1", "Heartbeat", {})
            assert reply[2] == "SecurityError"
        async with server.connect("ZIP", subprotocols=["ocpp1.6"], compression=None) as ws:
            assert ws.protocol.extensions == []
            assert (await call(ws, "1", "BootNotification", BOOT_16))[0] == 3
