"""A 1.6 charging session survives `csms serve` being killed (SIGKILL) mid-transaction, and a
database that cannot write.

ocpp-rules.md §6 F 61: kill the CSMS between the start and the stop of a transaction, and once
between its commit and the answer reaching the station; after a restart and the station's retries
the transaction is complete, not duplicated, and its totals are right. Here the station's retries
carry new message ids and the same content, as a 1.6 station's do after a reconnect (§3.7.1).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from websockets.asyncio.client import ClientConnection, connect

from csms.storage import open_store
from csms.storage.tables import meter_values
from csms.storage.tables_charging import transactions_v16
from tests.integration.harness import (
    BOOT_16,
    call,
    csms_serve,
    free_port,
    running_csms,
    settings_for,
)

START = {
    "connectorId": 1,
    "idTag": "TAG-1",
    "meterStart": 1000,
    "timestamp": "2026-01-01T10:00:00Z",
}
STOP = {
    "transactionId": 0,  # filled in
    "idTag": "TAG-1",
    "meterStop": 5000,
    "timestamp": "2026-01-01T11:00:00Z",
    "reason": "EVDisconnected",
}
SAMPLE = {"timestamp": "2026-01-01T10:30:00Z", "sampledValue": [{"value": "3000"}]}


async def _kill(proc: asyncio.subprocess.Process) -> None:
    proc.send_signal(signal.SIGKILL)  # no shutdown, no flush: a crash
    await asyncio.wait_for(proc.wait(), timeout=10)


async def _station(port: int) -> ClientConnection:
    ws = await connect(f"ws://127.0.0.1:{port}/ocpp/CRASH", subprotocols=["ocpp1.6"])  # type: ignore[list-item]
    assert (await call(ws, "boot", "BootNotification", BOOT_16))[2]["status"] == "Accepted"
    return ws


async def _call(ws: ClientConnection, mid: str, action: str, payload: dict[str, Any]) -> Any:
    reply = await call(ws, mid, action, payload)
    assert reply[:2] == [3, mid], reply
    return reply[2]


async def test_a_transaction_survives_sigkill_between_start_and_stop(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'csms.db'}"
    port, log = free_port(), tmp_path / "csms.log"

    async with csms_serve(url, port, log) as first:
        ws = await _station(port)
        started = await _call(ws, "s1", "StartTransaction", START)
        tx = started["transactionId"]
        await _kill(first)  # acknowledged: the start must be there after the crash
    with contextlib.suppress(Exception):
        await ws.close()

    async with csms_serve(url, port, log) as second:
        ws = await _station(port)
        # The station did not get (or lost) the answer: it sends the same start again.
        assert (await _call(ws, "s2", "StartTransaction", START))["transactionId"] == tx
        await _call(
            ws, "m1", "MeterValues", {"connectorId": 1, "transactionId": tx, "meterValue": [SAMPLE]}
        )
        assert await _call(ws, "t1", "StopTransaction", {**STOP, "transactionId": tx}) == {
            "idTagInfo": {"status": "Invalid"}
        }
        await _kill(second)  # right after the stop was committed and answered
    with contextlib.suppress(Exception):
        await ws.close()

    async with csms_serve(url, port, log):
        ws = await _station(port)
        # Both retried after the reconnect, as a station whose answers were lost would.
        await _call(
            ws, "m2", "MeterValues", {"connectorId": 1, "transactionId": tx, "meterValue": [SAMPLE]}
        )
        await _call(ws, "t2", "StopTransaction", {**STOP, "transactionId": tx})
        await ws.close()

    store = await open_store(url)
    try:
        async with store.engine.connect() as conn:
            rows = (await conn.execute(sa.select(transactions_v16))).mappings().all()
            samples = (
                (
                    await conn.execute(
                        sa.select(meter_values).where(meter_values.c.station_id == "CRASH")
                    )
                )
                .mappings()
                .all()
            )
    finally:
        await store.aclose()
    assert len(rows) == 1
    [row] = rows
    assert (row["id"], row["meter_start"], row["meter_stop"], row["energy_wh"]) == (
        tx,
        1000,
        5000,
        4000,
    )
    assert row["ended_at"] is not None and row["closed_by"] == "station"
    assert [s["raw_value"] for s in samples] == ["3000"]
    assert row["stopped_reason"] == "EVDisconnected"


async def test_a_transaction_message_the_database_cannot_store_is_refused_then_stored_once(
    tmp_path: Path,
) -> None:
    """§6 F 62: storage down → CALLERROR InternalError (the station retries, nothing acknowledged
    is missing); after recovery the retry is stored exactly once. The database is "down" for real:
    another process holds SQLite's write lock beyond the busy timeout."""
    async with running_csms(settings_for(tmp_path, security_profile=0)) as server:
        await server.add_station("LOCKED")
        async with server.connect("LOCKED") as ws:
            assert (await call(ws, "b", "BootNotification", BOOT_16))[2]["status"] == "Accepted"
            blocker = sqlite3.connect(tmp_path / "csms.db", isolation_level=None)
            try:
                blocker.execute("BEGIN IMMEDIATE")  # the write lock, held
                refused = await call(ws, "s1", "StartTransaction", START)
            finally:
                blocker.execute("ROLLBACK")
                blocker.close()
            assert refused[:3] == [4, "s1", "InternalError"]
            first = await _call(ws, "s2", "StartTransaction", START)
            again = await _call(ws, "s3", "StartTransaction", START)
            assert again["transactionId"] == first["transactionId"]
        assert server.csms.store is not None
        async with server.csms.store.engine.connect() as conn:
            count = await conn.scalar(sa.select(sa.func.count()).select_from(transactions_v16))
        assert count == 1
