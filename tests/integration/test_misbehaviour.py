"""A station that keeps breaking the protocol costs a few log lines and is closed with 1008.

Issue 7 finding 5: one misbehaving station wrote ~1 MB/s of warnings. Over real sockets, a station
sends 1,000 bad frames (schema-invalid CALLs and malformed frames, alternating so the "10 bad
frames in a row" rule never fires) as fast as it can; a well-behaved station beside it must not
notice anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sqlite3
from pathlib import Path

import orjson
import pytest
from websockets.exceptions import ConnectionClosed

from tests.integration.harness import BOOT_16, call, running_csms, settings_for

# StatusNotification with a property the 1.6 schema does not allow: a FormationViolation-class
# CALLERROR (issue 7 finding 10: logged at INFO with code and path, rate-limited).
_INVALID = {"connectorId": 1, "errorCode": "NoError", "status": "Available", "extra": 1}


def _frames(n: int) -> list[str]:
    out = []
    for i in range(n):
        if i % 2:
            out.append("this is not JSON")
        else:
            out.append(orjson.dumps([2, f"m{i}", "StatusNotification", _INVALID]).decode())
    return out


async def test_a_station_breaking_the_protocol_is_closed_and_logs_stay_small(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with running_csms(settings_for(tmp_path)) as server:
        await server.add_station("BAD")
        await server.add_station("GOOD")
        async with server.connect("GOOD") as good, server.connect("BAD") as bad:
            assert (await call(good, "b", "BootNotification", BOOT_16))[2]["status"] == "Accepted"
            assert (await call(bad, "b", "BootNotification", BOOT_16))[2]["status"] == "Accepted"

            async def drain() -> int:  # read the CALLERRORs, so the close frame gets through
                received = 0
                with contextlib.suppress(ConnectionClosed):
                    async for _ in bad:
                        received += 1
                return received

            reader = asyncio.create_task(drain())
            with contextlib.suppress(ConnectionClosed):
                for frame in _frames(1000):
                    await bad.send(frame)
            async with asyncio.timeout(10):
                await bad.wait_closed()
                assert await reader < 1000
            assert bad.close_code == 1008
            assert bad.close_reason == "too many protocol violations"
            # The good station is unaffected, before and after.
            for i in range(3):
                reply = await call(good, f"h{i}", "Heartbeat", {})
                assert reply[0] == 3
            assert server.csms.registry.get("GOOD") is not None
            assert server.csms.registry.get("BAD") is None

    lines = [r for r in caplog.records if r.name.startswith("csms") and "[BAD]" in r.getMessage()]
    text = "\n".join(r.getMessage() for r in lines)
    # O(1) lines: at most the burst (5) per kind, a summary per kind, the close, the counters,
    # connected/disconnected; not one per frame.
    assert len(lines) <= 20, text
    assert "repeated" in text and "times" in text, text
    assert "50 protocol violations in 60 s; closing the connection (1008)" in text
    counted = re.search(r"session counters: (\d+) protocol violations", text)
    assert counted is not None and 50 <= int(counted[1]) < 100, text  # frames already in flight


async def test_violations_below_the_budget_keep_the_connection(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The budget counts within a window: a few mistakes never disconnect a station.

    Finding 10: each schema-invalid CALL is logged at INFO with its action, code and JSON path.
    """
    caplog.set_level(logging.INFO)
    async with running_csms(settings_for(tmp_path, max_protocol_violations=5)) as server:
        await server.add_station("SOME")
        async with server.connect("SOME") as ws:
            assert (await call(ws, "b", "BootNotification", BOOT_16))[2]["status"] == "Accepted"
            for i in range(4):
                reply = await call(ws, f"s{i}", "StatusNotification", _INVALID)
                assert reply[0] == 4
            assert (await call(ws, "h", "Heartbeat", {}))[0] == 3
            conn = server.csms.registry.get("SOME")
            assert conn is not None and conn.ctx.protocol_violations == 4
            async with server.api() as api:  # the counters an operator reads
                detail = (await api.get("/api/v1/stations/SOME")).json()
            assert detail["session"] == {
                "protocol_violations": 4,
                "schema_violations": 0,
                "suppressed_log_lines": 0,
            }
            refused = [r for r in caplog.records if "StatusNotification refused" in r.message]
            assert len(refused) == 4
            assert all(r.levelno == logging.INFO for r in refused)
            assert "[SOME] StatusNotification refused: FormationViolation at $.extra" in (
                refused[0].message
            )
            await call(ws, "s5", "StatusNotification", _INVALID)  # the 5th: closed
            async with asyncio.timeout(5):
                await ws.wait_closed()
            assert ws.close_code == 1008


async def test_calls_before_boot_and_unknown_actions_count(tmp_path: Path) -> None:
    """SecurityError (CALL before an Accepted boot) and NotImplemented refusals are violations."""
    async with running_csms(settings_for(tmp_path, max_protocol_violations=4)) as server:
        await server.add_station("EARLY")
        async with server.connect("EARLY") as ws:
            assert (await call(ws, "1", "Heartbeat", {}))[2] == "SecurityError"
            assert (await call(ws, "2", "Heartbeat", {}))[2] == "SecurityError"
            assert (await call(ws, "3", "NoSuchAction", {}))[2] == "NotImplemented"
            await call(ws, "4", "NoSuchAction", {})
            async with asyncio.timeout(5):
                await ws.wait_closed()
            assert ws.close_code == 1008


async def test_a_storage_outage_logs_one_traceback_per_error_class(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Finding 5: a database outage with many stations logged a full traceback per refused CALL.

    Another process holds SQLite's write lock beyond the busy timeout (the database is "down" for
    real); ten stations' StartTransactions are all refused with InternalError, and the log holds
    one traceback for the error class, the other refusals as one-liners naming class and count.
    """
    caplog.set_level(logging.INFO)
    start = {"connectorId": 1, "meterStart": 0, "timestamp": "2026-01-01T10:00:00Z"}
    async with running_csms(settings_for(tmp_path, security_profile=0)) as server:
        ids = [f"DOWN{i}" for i in range(10)]
        for station_id in ids:
            await server.add_station(station_id)
        async with contextlib.AsyncExitStack() as stack:
            sockets = [await stack.enter_async_context(server.connect(s)) for s in ids]
            for ws in sockets:
                assert (await call(ws, "b", "BootNotification", BOOT_16))[2]["status"] == "Accepted"
            blocker = sqlite3.connect(tmp_path / "csms.db", isolation_level=None)
            try:
                blocker.execute("BEGIN IMMEDIATE")  # the write lock, held
                replies = await asyncio.gather(
                    *(
                        call(ws, "s", "StartTransaction", {**start, "idTag": f"T{i}"})
                        for i, ws in enumerate(sockets)
                    )
                )
            finally:
                blocker.execute("ROLLBACK")
                blocker.close()
            assert all(reply[:3] == [4, "s", "InternalError"] for reply in replies)

    refused = [r for r in caplog.records if "could not persist StartTransaction" in r.message]
    assert len(refused) == 10
    assert sum(r.exc_info is not None for r in refused) == 1
    one_liners = [r.message for r in refused if r.exc_info is None]
    assert all("StorageError <- OperationalError" in m for m in one_liners), one_liners
    assert "seen 9 times" in one_liners[-1]
    # The committer's own lines are limited per kind, not one per batch or write.
    assert len([r for r in caplog.records if r.name == "csms.storage.committer"]) <= 5
