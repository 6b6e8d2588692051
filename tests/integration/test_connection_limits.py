"""Connection exhaustion (issue 7 finding 3), over real sockets: the cap on station connections with
the API still reachable, the per-address handshake limit, the handshake deadline from TCP accept
(slowloris, TLS included), accept errors (EMFILE) logged once per interval, saturation in
/healthz and /readyz."""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import signal
import socket
import ssl
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.integration.harness import (
    BOOT_16,
    call,
    free_port,
    running_csms,
    settings_for,
)
from tests.integration.tls import make_server_certificate

HEAD = (
    b"GET /ocpp/SLOW HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    b"Sec-WebSocket-Protocol: ocpp1.6\r\n"
)


# ---------------------------------------------------------------- a csms serve process


def _nofile(limit: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

    return apply


@contextlib.asynccontextmanager
async def serve_process(
    tmp_path: Path, *, nofile: int, api: bool, args: tuple[str, ...] = (), **env: str
) -> AsyncIterator[tuple[int, int | None, Path]]:
    """`csms serve` (profile 0, unknown stations accepted) under an open-files limit of ``nofile``;
    yields its OCPP port, API port and log file."""
    port, api_port = free_port(), free_port() if api else None
    log = tmp_path / "csms.log"
    argv = [
        "serve", "--host", "127.0.0.1", "--port", str(port),
        "--database-url", f"sqlite+aiosqlite:///{tmp_path / 'csms.db'}",
        "--data-dir", str(tmp_path / "data"),
        "--security-profile", "0", "--unknown-stations", "accept", *args,
    ]  # fmt: skip
    argv += ["--api-port", str(api_port)] if api_port else ["--no-api"]
    with log.open("ab") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "csms", *argv,
            stdout=out, stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, **env}, preexec_fn=_nofile(nofile),
        )  # fmt: skip
    try:
        for _ in range(300):
            assert proc.returncode is None, log.read_text()
            if "listening on http" in log.read_text() or (
                not api and "OCPP endpoint listening" in log.read_text()
            ):
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError(f"csms serve did not start: {log.read_text()}")
        yield port, api_port, log
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), timeout=30)
        except TimeoutError:
            proc.kill()
            await proc.wait()


async def flood(port: int, count: int) -> list[asyncio.StreamWriter]:
    """Open ``count`` TCP connections that never send a byte (unfinished handshakes)."""
    writers = []
    for _ in range(count):
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writers.append(writer)
    return writers


def close_all(writers: list[asyncio.StreamWriter]) -> None:
    for writer in writers:
        writer.transport.abort()


async def boot(port: int, station: str) -> str:
    async with connect(
        f"ws://127.0.0.1:{port}/ocpp/{station}",
        subprotocols=["ocpp1.6"],  # type: ignore[list-item]
        open_timeout=5,
    ) as ws:
        return str((await call(ws, "1", "BootNotification", BOOT_16))[2]["status"])


async def until(check: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


# ---------------------------------------------------------------- the cap


async def test_cap_refuses_beyond_max_and_the_api_stays_reachable(tmp_path: Path) -> None:
    """Under an open-files limit of 300 the default cap is 150 (a reserve of 150 descriptors for
    the API, the database and files). 400 unfinished handshakes: 150 are held, the rest closed at
    accept; the API answers and shows the saturation; a station gets in once a slot frees."""
    started = time.monotonic()
    async with serve_process(
        tmp_path,
        nofile=300,
        api=True,
        CSMS_MAX_HANDSHAKES_PER_ADDRESS="1000",
        CSMS_OPEN_TIMEOUT="60",
    ) as (port, api_port, log):
        writers = await flood(port, 400)
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api_port}", timeout=5) as api:
                health: dict[str, object] = {}

                async def saturated() -> bool:
                    health.update((await api.get("/healthz")).json())
                    return health.get("saturated") is True

                for _ in range(100):
                    if await saturated():
                        break
                    await asyncio.sleep(0.05)
                assert health["connections"] == {
                    "open": 150,
                    "in_handshake": 150,
                    "max": 150,
                    "reading": 0,
                }
                ready = await api.get("/readyz")
                assert ready.status_code == 503
                assert ready.headers["retry-after"]
                with pytest.raises(Exception):  # noqa: B017 - closed at accept: any failure
                    await boot(port, "LATE")

                close_all(writers[:10])
                for _ in range(100):
                    if not await saturated():
                        break
                    await asyncio.sleep(0.05)
                assert await boot(port, "LATE") == "Accepted"
                assert (await api.get("/readyz")).status_code == 200
        finally:
            close_all(writers)
    text = log.read_text()
    assert "station connections: at most 150 (open-files limit 300)" in text
    intervals = 1 + int((time.monotonic() - started) // 10)  # one line per 10 s at most
    assert 1 <= text.count("closed at accept: station connections at their maximum") <= intervals


# ---------------------------------------------------------------- per address


async def _silent(
    port: int, local: str = "127.0.0.1"
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port, local_addr=(local, 0))


async def _closed_within(reader: asyncio.StreamReader, seconds: float) -> bool:
    try:
        return await asyncio.wait_for(reader.read(1), seconds) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


async def test_handshakes_in_progress_are_limited_per_address(tmp_path: Path) -> None:
    """(Loopback is exempt by default, for a proxy on the same host; not in this test.)"""
    settings = settings_for(tmp_path, max_handshakes_per_address=2, handshake_limit_exempt="")
    async with running_csms(settings) as server:
        port = server.csms.ocpp_port
        await server.add_station("NEAR")
        await server.add_station("FAR")
        silent = [await _silent(port), await _silent(port)]
        third = await _silent(port)
        try:
            assert await _closed_within(third[0], 2.0)  # closed at accept, nothing read
            async with server.connect("FAR", local_addr=("127.0.0.2", 0)) as ws:  # another address
                assert (await call(ws, "1", "BootNotification", BOOT_16))[2]["status"] == "Accepted"
            silent[0][1].transport.abort()
            await asyncio.sleep(0.1)
            async with server.connect("NEAR") as ws:  # a slot from 127.0.0.1 is free again
                boot = await call(ws, "1", "BootNotification", BOOT_16)
                assert boot[2]["status"] == "Accepted"
                # A finished handshake no longer counts: another fits beside the session.
                async with server.connect("FAR"):
                    pass
        finally:
            close_all([writer for _, writer in (*silent, third)])


# ---------------------------------------------------------------- deadline


async def test_slowloris_is_closed_by_the_handshake_deadline(tmp_path: Path) -> None:
    """A client that sends nothing, and one that trickles its headers, are both closed once
    CSMS_OPEN_TIMEOUT has passed since accept, however active the trickle."""
    async with running_csms(settings_for(tmp_path, open_timeout=1.0)) as server:
        port = server.csms.ocpp_port
        started = time.monotonic()
        silent, quiet = await _silent(port)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)

        async def trickle() -> None:
            for byte in HEAD:
                writer.write(bytes([byte]))
                await asyncio.sleep(0.02)

        task = asyncio.create_task(trickle())
        try:
            assert await _closed_within(silent, 3.0)
            assert await _closed_within(reader, 3.0)
            assert time.monotonic() - started < 2.0
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await task
            close_all([quiet, writer])


async def test_the_deadline_counts_from_accept_including_tls(tmp_path: Path) -> None:
    """A TLS client that takes 1.8 s over its TLS handshake and then trickles its HTTP request is
    closed about CSMS_OPEN_TIMEOUT (2 s) after accept, not 2 s after its TLS handshake."""
    ca, cert, key = make_server_certificate(tmp_path)
    settings = settings_for(
        tmp_path, security_profile=2, tls_cert=str(cert), tls_key=str(key), open_timeout=2.0
    )
    async with running_csms(settings) as server:
        port = server.csms.ocpp_port
        context = ssl.create_default_context(cafile=str(ca))

        def slow_client() -> float:
            started = time.monotonic()
            with socket.create_connection(("127.0.0.1", port)) as raw:
                time.sleep(1.8)
                with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                    tls.settimeout(0.05)
                    for byte in HEAD:
                        try:
                            tls.sendall(bytes([byte]))
                            if tls.recv(1) == b"":
                                break
                        except TimeoutError:
                            continue
                        except (OSError, ssl.SSLError):
                            break
            return time.monotonic() - started

        elapsed = await asyncio.to_thread(slow_client)
        assert 1.9 <= elapsed < 3.0


# ---------------------------------------------------------------- accept errors


async def test_emfile_is_logged_once_per_interval_and_accepting_resumes(tmp_path: Path) -> None:
    """With a cap set above what the open-files limit allows, accept fails with EMFILE: one log
    line for the interval (not one per attempt), and accepting resumes once descriptors free up."""
    started = time.monotonic()
    async with serve_process(
        tmp_path,
        nofile=128,
        api=False,
        CSMS_MAX_CONNECTIONS="1000",
        CSMS_MAX_HANDSHAKES_PER_ADDRESS="1000",
        CSMS_OPEN_TIMEOUT="60",
    ) as (port, _, log):
        writers = await flood(port, 200)
        try:
            await until(lambda: "EMFILE" in log.read_text())
            await asyncio.sleep(1.0)  # ~10 more failed attempts, folded into the next line
        finally:
            close_all(writers)
        assert await boot(port, "AFTER") == "Accepted"
    text = log.read_text()
    assert "leaves fewer than" in text  # the start-up warning about the explicit cap
    lines = [line for line in text.splitlines() if "cannot accept connections" in line]
    assert 1 <= len(lines) <= 1 + int((time.monotonic() - started) // 10), lines
    assert "Too many open files (EMFILE)" in lines[0]


async def test_shutdown_does_not_wait_for_unfinished_handshakes(tmp_path: Path) -> None:
    async with running_csms(settings_for(tmp_path, open_timeout=30.0)) as server:
        port = server.csms.ocpp_port
        silent = [await _silent(port) for _ in range(3)]
        await asyncio.sleep(0.1)
        started = time.monotonic()
        assert server.csms.listener is not None
        await server.csms.listener.close()
        assert time.monotonic() - started < 2.0
        assert all([await _closed_within(reader, 1.0) for reader, _ in silent])
        close_all([writer for _, writer in silent])
