"""`csms serve --workers 2` (issue 11 item 1) over a real nats-server and PostgreSQL.

The supervisor runs as a subprocess; its workers share the OCPP and API ports (SO_REUSEPORT).
Stations connecting to the one port land on both workers (presence names two nodes), a command
through the API reaches a station on either; SIGTERM to the supervisor stops everything with
status 0. Under load (24 stations running 1.6 transactions, each CALL retried with the same
content after a reconnect, as stations do), kill -9 of a worker: its stations reconnect through
the port, the supervisor starts the worker again, a command in flight on the dead worker fails as
"outcome unknown" (502), and every fact the stations had an answer for is in the database exactly
once (a ledger of answered CALLs compared with the rows).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import re
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import sqlalchemy as sa
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

import nats as nats_client
from csms.cluster.mirror import station_from_key
from csms.config import ClusterSettings
from csms.storage import open_store
from csms.storage.tables import meter_values
from csms.storage.tables_charging import transactions_v16
from tests.integration.harness import (
    API_TOKEN,
    BOOT_16,
    RunningCsms,
    call,
    free_port,
    running_csms,
    settings_for,
)
from tests.nats import NatsServer

pytestmark = pytest.mark.postgres

LEASE = 2.0
READY = re.compile(r"worker (\d+) ready: pid (\d+), node (\S+)")


@dataclasses.dataclass
class Workers:
    """A running `csms serve --workers 2` and how to reach it."""

    proc: asyncio.subprocess.Process
    log: Path
    port: int
    api_port: int

    @property
    def ocpp_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ocpp/"

    def ready_lines(self) -> list[tuple[int, int, str]]:
        """(worker, pid, node) of every "worker N ready" line so far."""
        text = self.log.read_text(errors="replace")
        return [(int(w), int(p), n) for w, p, n in READY.findall(text)]

    def pids(self) -> dict[str, int]:
        """The live workers' pids by node id (each worker's newest start)."""
        newest: dict[int, tuple[int, str]] = {}
        for worker, pid, node in self.ready_lines():
            newest[worker] = (pid, node)
        return {node: pid for pid, node in newest.values()}

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]


async def _until(check: Any, timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached in time")
        await asyncio.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (not yet reaped by its parent) is gone for our purpose
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


@contextlib.asynccontextmanager
async def serve_workers(
    nats: NatsServer, url: str, tmp_path: Path, *extra: str
) -> AsyncIterator[Workers]:
    """`csms serve --workers 2` until the block ends, then SIGTERM: everything must stop with
    status 0 and no worker left."""
    port, api_port, log = free_port(), free_port(), tmp_path / "workers.log"
    argv = [
        "serve", "--workers", "2", "--host", "127.0.0.1", "--port", str(port),
        "--api-port", str(api_port), "--database-url", url, "--cluster-url", nats.url,
        "--node-id", f"W-{tmp_path.name[-10:]}", "--security-profile", "0",
        "--unknown-stations", "accept", "--registration-rate", "0", "--data-dir",
        str(tmp_path / "data"), *extra,
    ]  # fmt: skip
    env = {
        **os.environ,
        "CSMS_API_TOKEN": API_TOKEN,
        "CSMS_CLUSTER_LEASE": str(LEASE),
        "CSMS_CLUSTER_REQUEST_MARGIN": "1",
        "CSMS_PING_INTERVAL": "5",
    }
    with log.open("ab") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "csms", *argv, stdout=out, stderr=asyncio.subprocess.STDOUT,
            env=env,
        )  # fmt: skip
    workers = Workers(proc, log, port, api_port)
    try:
        deadline = time.monotonic() + 90  # two worker starts, one after the other
        while "2 workers ready" not in log.read_text(errors="replace"):
            if proc.returncode is not None or time.monotonic() > deadline:
                raise AssertionError(f"csms serve --workers 2 did not start:\n{workers.tail()}")
            await asyncio.sleep(0.05)
        yield workers
    finally:
        pids = list(workers.pids().values())
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        status = await asyncio.wait_for(proc.wait(), timeout=40)
    assert status == 0, workers.tail()
    assert not [pid for pid in pids if _alive(pid)], "a worker outlived the supervisor"
    assert "stopping 2 workers" in workers.tail()


async def _holders(nats: NatsServer) -> dict[str, str]:
    """Station → node, as the presence bucket says."""
    client = await nats_client.connect(nats.url)
    try:
        kv = await client.jetstream().key_value("csms_stations")
        found: dict[str, str] = {}
        with contextlib.suppress(Exception):  # no keys yet
            for key in await kv.keys():
                entry = await kv.get(key)
                if entry.value:
                    found[station_from_key(key)] = orjson.loads(entry.value)["node"]
        return found
    finally:
        await client.close()


async def _station(workers: Workers, sid: str) -> ClientConnection:
    ws = await connect(workers.ocpp_url + sid, subprotocols=["ocpp1.6"])  # type: ignore[list-item]
    assert (await call(ws, "boot", "BootNotification", BOOT_16))[2]["status"] == "Accepted"
    return ws


async def _answer_next_call(ws: ClientConnection, action: str) -> None:
    frame = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
    assert frame[0] == 2 and frame[2] == action, frame
    await ws.send(orjson.dumps([3, frame[1], {"status": "Accepted"}]).decode())


async def test_stations_land_on_both_workers_and_commands_reach_them(
    nats: NatsServer, database: str, tmp_path: Path
) -> None:
    test = tmp_path.name[-8:]
    async with serve_workers(nats, database, tmp_path) as workers:
        assert len(workers.pids()) == 2
        sockets = [await _station(workers, f"L{test}-{n}") for n in range(16)]
        try:
            ids = {f"L{test}-{n}" for n in range(16)}

            async def landed() -> dict[str, str]:
                return {s: n for s, n in (await _holders(nats)).items() if s in ids}

            for _ in range(100):  # the claims are written in batches, off the stations' path
                if len(held := await landed()) == len(ids):
                    break
                await asyncio.sleep(0.1)
            assert set(held) == ids
            assert set(held.values()) == set(workers.pids()), held  # two nodes hold stations
            # One station on each worker; several API requests, which land on either worker.
            by_node = {node: sid for sid, node in held.items()}
            headers = {"Authorization": f"Bearer {API_TOKEN}"}
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{workers.api_port}", headers=headers, timeout=30
            ) as api:
                for sid in by_node.values():
                    ws = sockets[int(sid.rsplit("-", 1)[1])]
                    for _ in range(3):
                        sent = asyncio.create_task(
                            api.post(f"/api/v1/stations/{sid}/call/Reset", json={"type": "Soft"})
                        )
                        await _answer_next_call(ws, "Reset")
                        reply = await sent
                        assert reply.status_code == 200, reply.text
                        assert reply.json() == {"status": "Accepted"}
        finally:
            for ws in sockets:
                await ws.close()


# ------------------------------------------------------------------------ kill -9 under load

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def _ts(seconds: int) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


class LedgerStation:
    """A 1.6 station running transactions (Start, 3 x MeterValues, Stop, again) one CALL at a
    time. A CALL without an answer (the connection dropped, a CALLERROR) is sent again with the
    same content after a reconnect and a new BootNotification, as a station's transaction queue
    does (1.6 §4.8; §3.7.1 message ids). Each answered CALL goes into the ledger."""

    def __init__(self, workers: Workers, sid: str, index: int, ledger: list[tuple[Any, ...]]):
        self.workers, self.sid, self.index, self.ledger = workers, sid, index, ledger
        self.clock = index * 100_000  # seconds after T0: every fact of every station distinct
        self.energy = 1000
        self.tx: int | None = None
        self.step = 0  # 0 start, 1-3 meter values, 4 stop
        self.reconnects = 0
        self.next_id = 0

    def _message(self) -> tuple[str, dict[str, Any]]:
        t = _ts(self.clock)
        if self.step == 0:
            return "StartTransaction", {
                "connectorId": 1, "idTag": f"LG{self.index}", "meterStart": self.energy,
                "timestamp": t,
            }  # fmt: skip
        assert self.tx is not None
        if self.step < 4:
            sample = {"timestamp": t, "sampledValue": [{"value": str(self.energy)}]}
            return "MeterValues", {
                "connectorId": 1, "transactionId": self.tx, "meterValue": [sample],
            }  # fmt: skip
        return "StopTransaction", {
            "transactionId": self.tx, "idTag": f"LG{self.index}", "meterStop": self.energy,
            "timestamp": t, "reason": "EVDisconnected",
        }  # fmt: skip

    def _answered(self, action: str, payload: dict[str, Any], result: dict[str, Any]) -> None:
        if action == "StartTransaction":
            self.tx = int(result["transactionId"])
            self.ledger.append((self.sid, action, self.tx, payload["timestamp"]))
        elif action == "MeterValues":
            self.ledger.append((self.sid, action, self.tx, payload["meterValue"][0]["timestamp"]))
        else:
            self.ledger.append((self.sid, action, self.tx, payload["timestamp"]))
        self.step = (self.step + 1) % 5
        self.clock += 10
        self.energy += 250

    async def run(self, stop: asyncio.Event) -> None:
        message: tuple[str, dict[str, Any]] | None = None
        while True:
            try:
                ws = await connect(
                    self.workers.ocpp_url + self.sid,
                    subprotocols=["ocpp1.6"],  # type: ignore[list-item]
                    open_timeout=5,
                )
            except (OSError, InvalidHandshake, TimeoutError):
                await asyncio.sleep(0.2)
                continue
            try:
                boot = await asyncio.wait_for(call(ws, "boot", "BootNotification", BOOT_16), 10)
                assert boot[2]["status"] == "Accepted", boot
                while True:
                    if message is None:
                        if stop.is_set():
                            return
                        message = self._message()
                    self.next_id += 1
                    mid = f"m{self.next_id}"
                    reply = await asyncio.wait_for(call(ws, mid, *message), 10)
                    assert reply[1] == mid, reply
                    if reply[0] == 3:
                        self._answered(*message, reply[2])
                        message = None
                        await asyncio.sleep(0.05)
                    else:  # CALLERROR (InternalError while storage recovers): the same again
                        await asyncio.sleep(0.2)
            except (ConnectionClosed, TimeoutError, OSError):
                self.reconnects += 1
            finally:
                await ws.close()


async def _rows(url: str, prefix: str) -> tuple[list[Any], list[Any]]:
    store = await open_store(url, migrate=False)
    try:
        async with store.engine.connect() as conn:
            txs = (
                await conn.execute(
                    sa.select(transactions_v16).where(
                        transactions_v16.c.station_id.startswith(prefix)
                    )
                )
            ).mappings()
            samples = (
                await conn.execute(
                    sa.select(meter_values).where(meter_values.c.station_id.startswith(prefix))
                )
            ).mappings()
            return list(txs), list(samples)
    finally:
        await store.aclose()


@contextlib.asynccontextmanager
async def _api_node(nats: NatsServer, url: str, tmp_path: Path) -> AsyncIterator[RunningCsms]:
    """An API-only node beside the workers: its requests survive the kill of either worker."""
    settings = settings_for(tmp_path / "api")
    settings = dataclasses.replace(
        settings,
        database=dataclasses.replace(settings.database, url=url, migrate=False),
        cluster=ClusterSettings(
            url=nats.url, node_id=f"API-{tmp_path.name[-10:]}", role="api", lease=LEASE,
            request_margin=1.0,
        ),
    )  # fmt: skip
    async with running_csms(settings) as running:
        yield running


async def test_kill_9_of_a_worker_under_load_loses_nothing_acknowledged(
    nats: NatsServer, database: str, tmp_path: Path
) -> None:
    prefix = f"K{tmp_path.name[-8:]}-"
    ledger: list[tuple[Any, ...]] = []
    stop = asyncio.Event()
    async with (
        serve_workers(nats, database, tmp_path) as workers,
        _api_node(nats, database, tmp_path) as api_node,
    ):
        stations = [LedgerStation(workers, f"{prefix}{n}", n, ledger) for n in range(24)]
        running = [asyncio.create_task(s.run(stop)) for s in stations]
        # A station that never answers: the command on the wire when its worker dies.
        quiet = await _station(workers, f"{prefix}quiet")
        cluster = api_node.csms.cluster
        assert cluster is not None
        await _until(lambda: cluster.mirror.holder(f"{prefix}quiet", time.monotonic()) is not None)
        holder = cluster.mirror.holder(f"{prefix}quiet", time.monotonic())
        assert holder is not None
        victim = workers.pids()[holder.node]
        await _until(lambda: len(ledger) >= 100, what="load")  # transactions under way

        async with api_node.api() as api:
            sent = asyncio.create_task(
                api.post(
                    f"/api/v1/stations/{prefix}quiet/call/Reset?timeout=3", json={"type": "Soft"}
                )
            )
            frame = orjson.loads(await asyncio.wait_for(quiet.recv(), 10))
            assert frame[2] == "Reset"
            os.kill(victim, signal.SIGKILL)  # mid-run, with the CALL on the wire
            killed_at = len(ledger)
            reply = await sent
        assert reply.status_code == 502, reply.text
        assert reply.json()["type"] == "urn:csms:problem:call-outcome-unknown"

        # The supervisor starts the worker again; the dead worker's stations carry on.
        await _until(lambda: len(workers.ready_lines()) == 3, 60, "the restart")
        assert victim not in workers.pids().values()
        assert "exited with signal SIGKILL" in workers.tail()
        await _until(lambda: len(ledger) >= killed_at + 150, 30, "load after the kill")
        stop.set()
        await asyncio.wait_for(asyncio.gather(*running), 30)
        with contextlib.suppress(Exception):
            await quiet.close()
    assert sum(s.reconnects for s in stations) >= 1  # some stations were on the dead worker

    txs, samples = await _rows(database, prefix)
    # Transactions: one row per answered StartTransaction, none without an answer.
    started = {(sid, tx) for sid, action, tx, _ in ledger if action == "StartTransaction"}
    assert len(started) == len([e for e in ledger if e[1] == "StartTransaction"])
    assert sorted((r["station_id"], r["id"]) for r in txs) == sorted(started)
    stopped = {(sid, tx) for sid, action, tx, _ in ledger if action == "StopTransaction"}
    assert {(r["station_id"], r["id"]) for r in txs if r["ended_at"] is not None} == stopped
    # Meter values: each answered sample exactly once, and nothing else.
    answered = sorted(
        (sid, str(tx), ts) for sid, action, tx, ts in ledger if action == "MeterValues"
    )
    stored = sorted(
        (
            r["station_id"],
            r["transaction_id"],
            r["timestamp"].astimezone(UTC).isoformat().replace("+00:00", "Z"),
        )
        for r in samples
    )
    assert stored == answered


async def test_workers_that_cannot_start_end_with_one_line(
    nats: NatsServer, database: str, tmp_path: Path
) -> None:
    """The OCPP port held by another program (without SO_REUSEPORT): worker 1 cannot bind, the
    supervisor says so in one line and exits 1, and worker 2 is never started."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen(1)
        port = held.getsockname()[1]
        argv = [
            "serve", "--workers", "2", "--host", "127.0.0.1", "--port", str(port), "--no-api",
            "--database-url", database, "--cluster-url", nats.url, "--data-dir",
            str(tmp_path / "data"),
        ]  # fmt: skip
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "csms", *argv, stderr=asyncio.subprocess.PIPE
        )
        _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 1
    errors = [line for line in err.decode().splitlines() if "error" in line.lower()]
    assert errors == [
        f"csms: error: worker 1 could not start: CSMS_PORT (--port): 127.0.0.1:{port} is already "
        "in use (another csms?): stop it or choose another port"
    ], err.decode()
    assert "worker 2" not in err.decode()
