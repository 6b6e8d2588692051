"""Closed-loop OCPP-J load generator (raw ``websockets`` client + orjson).

Each simulated station holds one WebSocket connection and runs the per-charger pattern OCPP-J
allows: one outstanding CALL at a time ("send one CALL, wait for its reply"). The mobilityhouse
``ocpp`` client is deliberately not used: it costs about as much CPU as a server and cannot
saturate one.

Two modes, both bounded in count and time and stopping by themselves:

``load``
    N stations connect, send a BootNotification and wait for it, run the mix's setup (a
    StartTransaction for ``metervalues16``, whose transactionId the MeterValues then name; a
    TransactionEvent ``Started`` with seqNo 0 for ``transactionevent201``), then loop over the
    mix's CALL for ``--warmup`` + ``--duration`` seconds. Only the replies that arrive inside
    the measured window are counted. When ``--server-pid`` is given, the server's CPU time
    (process and its children, all threads) is read at the exact start and end of the window.

``idle``
    The server's RSS is read once it is stable, M stations connect and boot once with OCPP 1.6
    and then stay idle, and the RSS is read again once it is stable.

A reply is matched to its CALL by message id whatever its type, so an echo server (which sends
the CALL back) is a valid peer. Any CALLERROR reply is an error. CALLs sent by the server are
answered with a CALLERROR ``NotImplemented`` and counted as ``server_calls`` (not errors).

The result is one JSON object, written to ``--out`` (or printed). Usage::

    python benchmarks/loadgen.py load --url ws://127.0.0.1:9000/ocpp --mix heartbeat16
    python benchmarks/loadgen.py idle --url ws://127.0.0.1:9000/ocpp --connections 2000 \\
        --server-pid 1234
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import orjson
import psutil
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.typing import Subprotocol

from csms.loadtest import payloads
from csms.loadtest.meter import raise_nofile_limit
from csms.loadtest.payloads import (
    authorize_16,
    boot_notification_16,
    boot_notification_201,
    heartbeat_16,
    meter_values_16,
    start_transaction_16,
    stop_transaction_16,
    transaction_event_started_201,
    transaction_event_updated_201,
    utc_timestamp,
)

MIX_HEARTBEAT16: Final = "heartbeat16"
MIX_METERVALUES16: Final = "metervalues16"
MIX_TRANSACTIONEVENT201: Final = "transactionevent201"
MIX_CHARGINGSESSION16: Final = "chargingsession16"
MIXES: Final[tuple[str, ...]] = (
    MIX_HEARTBEAT16,
    MIX_METERVALUES16,
    MIX_TRANSACTIONEVENT201,
    MIX_CHARGINGSESSION16,
)
# chargingsession16: Authorize, StartTransaction, this many MeterValues, StopTransaction.
SESSION_METER_VALUES: Final = 10

OCPP16: Final = "ocpp1.6"
OCPP201: Final = "ocpp2.0.1"

CALL: Final = 2
CALLRESULT: Final = 3
CALLERROR: Final = 4


# --------------------------------------------------------------------------------------------
# Payloads: shared with ``csms loadtest`` (csms.loadtest.payloads), one load generator
# --------------------------------------------------------------------------------------------

__all__ = [
    "boot_notification_16",
    "boot_notification_201",
    "heartbeat_16",
    "meter_values_16",
    "transaction_event_started_201",
    "transaction_event_updated_201",
    "utc_timestamp",
]


def mix_subprotocol(mix: str) -> str:
    """Return the WebSocket subprotocol a station running ``mix`` negotiates."""
    if mix not in MIXES:
        raise ValueError(f"unknown mix {mix!r}; choose from {', '.join(MIXES)}")
    return OCPP201 if mix.endswith("201") else OCPP16


@dataclass
class StationScript:
    """The frames one simulated station sends; keeps its counters (message id, seqNo, energy).

    Message ids are a per-connection counter (OCPP-J only needs them unique per connection).
    """

    mix: str
    station_id: str
    index: int
    _next_id: int = 0
    _seq_no: int = 0
    _energy_wh: float = 0.0
    _step: int = 0  # chargingsession16: position in the session
    _session_tx: int | None = None  # chargingsession16: the id csms gave the running session
    _last_action: str = ""

    def __post_init__(self) -> None:
        self._energy_wh = 10_000.0 + 100.0 * self.index

    @property
    def subprotocol(self) -> str:
        """The subprotocol this station offers."""
        return mix_subprotocol(self.mix)

    @property
    def transaction_id_16(self) -> int:
        """The 1.6 transaction id the CSMS issued in its StartTransaction reply.

        A peer that does not issue one (the echo server) gets a fixed per-station number.
        """
        return self._session_tx if self._session_tx is not None else 100_000 + self.index

    @property
    def transaction_id_201(self) -> str:
        """The (string, <= 36 chars) transaction id of the 2.0.1 transaction."""
        return f"tx-{self.station_id}"[:36]

    def _frame(self, action: str, payload: dict[str, Any]) -> tuple[str, bytes]:
        self._next_id += 1
        self._last_action = action
        msg_id = str(self._next_id)
        return msg_id, orjson.dumps([CALL, msg_id, action, payload])

    def boot_frame(self) -> tuple[str, bytes]:
        """Return ``(message id, UTF-8 JSON frame)`` of this station's BootNotification."""
        if self.subprotocol == OCPP201:
            return self._frame("BootNotification", boot_notification_201(self.station_id))
        return self._frame("BootNotification", boot_notification_16(self.station_id))

    def setup_frames(self) -> list[tuple[str, bytes]]:
        """Return the CALLs sent once after boot and before the measured loop.

        A 1.6 station reports MeterValues for the transaction the CSMS gave it an id for, so
        ``metervalues16`` starts one (the id of the reply is used, see :meth:`observe`).
        """
        if self.mix == MIX_METERVALUES16:
            payload = start_transaction_16(1, self.id_tag, int(self._energy_wh), utc_timestamp())
            return [self._frame("StartTransaction", payload)]
        if self.mix == MIX_TRANSACTIONEVENT201:
            self._seq_no = 0
            payload = transaction_event_started_201(
                self.transaction_id_201, self._energy_wh, utc_timestamp()
            )
            return [self._frame("TransactionEvent", payload)]
        return []

    @property
    def id_tag(self) -> str:
        """The RFID tag this station's driver taps (chargingsession16); at most 20 characters."""
        return f"T{self.index:05d}"

    def observe(self, reply: list[Any]) -> None:
        """Learn from the reply to the last CALL what the next CALLs need (the transactionId)."""
        if self._last_action == "StartTransaction" and reply[0] == CALLRESULT:
            self._session_tx = int(reply[2]["transactionId"])

    def _session_frame(self) -> tuple[str, bytes]:
        """Authorize, StartTransaction, ``SESSION_METER_VALUES`` MeterValues, StopTransaction."""
        step = self._step
        self._step = (step + 1) % (SESSION_METER_VALUES + 3)
        now = utc_timestamp()
        if step == 0:
            return self._frame("Authorize", authorize_16(self.id_tag))
        if step == 1:
            payload = start_transaction_16(1, self.id_tag, int(self._energy_wh), now)
            return self._frame("StartTransaction", payload)
        tx = self._session_tx if self._session_tx is not None else -1
        self._energy_wh += 3.1
        if step <= SESSION_METER_VALUES + 1:
            return self._frame("MeterValues", meter_values_16(tx, self._energy_wh, now))
        self._session_tx = None
        return self._frame("StopTransaction", stop_transaction_16(tx, int(self._energy_wh), now))

    def next_frame(self) -> tuple[str, bytes]:
        """Return ``(message id, UTF-8 JSON frame)`` of the next CALL of the measured loop."""
        if self.mix == MIX_CHARGINGSESSION16:
            return self._session_frame()
        if self.mix == MIX_HEARTBEAT16:
            return self._frame("Heartbeat", heartbeat_16())
        self._energy_wh += 3.1
        if self.mix == MIX_METERVALUES16:
            payload = meter_values_16(self.transaction_id_16, self._energy_wh, utc_timestamp())
            return self._frame("MeterValues", payload)
        self._seq_no += 1
        payload = transaction_event_updated_201(
            self.transaction_id_201, self._seq_no, self._energy_wh, utc_timestamp()
        )
        return self._frame("TransactionEvent", payload)


# --------------------------------------------------------------------------------------------
# Process helpers
# --------------------------------------------------------------------------------------------


def pin_to_cpu(cpu: int | None) -> bool:
    """Pin the current process to ``cpu``; return whether it was pinned."""
    if cpu is None or not hasattr(os, "sched_setaffinity"):
        return False
    try:
        os.sched_setaffinity(0, {cpu})
    except OSError:
        return False
    return True


def _process_tree(proc: psutil.Process) -> list[psutil.Process]:
    try:
        return [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return [proc]


def tree_cpu_seconds(proc: psutil.Process) -> float:
    """CPU seconds (user + system, all threads) of ``proc`` and its live descendants."""
    total = 0.0
    for member in _process_tree(proc):
        try:
            times = member.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system + times.children_user + times.children_system
    return total


def tree_rss_bytes(proc: psutil.Process) -> int:
    """Resident set size of ``proc`` plus its live descendants, in bytes."""
    total = 0
    for member in _process_tree(proc):
        try:
            total += member.memory_info().rss
        except psutil.Error:
            continue
    return total


def own_cpu_seconds() -> float:
    """CPU seconds (user + system) used so far by this process."""
    times = os.times()
    return times.user + times.system


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending list (0.0 for an empty list)."""
    if not sorted_values:
        return 0.0
    rank = max(0, min(len(sorted_values) - 1, round(pct / 100.0 * len(sorted_values)) - 1))
    return sorted_values[rank]


# --------------------------------------------------------------------------------------------
# OCPP-J over raw websockets
# --------------------------------------------------------------------------------------------


@dataclass
class Tally:
    """Counters shared by the stations of one run (owned by the run, not global)."""

    errors: Counter[str] = field(default_factory=Counter)
    server_calls: int = 0
    calls: int = 0
    latencies: list[float] = field(default_factory=list)
    measuring: bool = False


class StationError(Exception):
    """A station could not continue; ``key`` is the error counter to increment."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def basic_auth_header(station_id: str) -> str:
    """``Authorization`` header value of security profile 1 (user = station identity)."""
    return payloads.basic_auth_header(station_id, payloads.station_password(station_id))


async def open_connection(
    url_base: str, station_id: str, subprotocol: str, open_timeout: float
) -> ClientConnection:
    """Open one station connection to ``url_base/station_id``.

    No compression offered, no client pings, one subprotocol, and HTTP Basic auth with the
    station's password (OCPP security profile 1; servers without authentication ignore it).
    """
    try:
        return await connect(
            f"{url_base}/{station_id}",
            additional_headers={"Authorization": basic_auth_header(station_id)},
            subprotocols=[Subprotocol(subprotocol)],
            compression=None,
            open_timeout=open_timeout,
            ping_interval=None,
            close_timeout=2,
            max_size=2**20,
        )
    except InvalidStatus as exc:
        raise StationError(f"connect:http_{exc.response.status_code}") from exc
    except (OSError, TimeoutError, InvalidHandshake) as exc:
        raise StationError(f"connect:{type(exc).__name__}") from exc


async def _await_reply(ws: ClientConnection, msg_id: str, tally: Tally) -> list[Any]:
    """Read frames until the one carrying ``msg_id``; answer server CALLs meanwhile."""
    while True:
        msg = orjson.loads(await ws.recv(decode=False))
        if isinstance(msg, list) and len(msg) >= 3:
            if msg[1] == msg_id:
                return msg
            if msg[0] == CALL:
                tally.server_calls += 1
                error = [CALLERROR, msg[1], "NotImplemented", "load generator", {}]
                await ws.send(orjson.dumps(error), text=True)
                continue
        tally.errors["unexpected_frame"] += 1


async def call(
    ws: ClientConnection, msg_id: str, frame: bytes, reply_timeout: float | None, tally: Tally
) -> list[Any]:
    """Send one CALL (a text frame) and return the frame carrying its message id, any type.

    Server-initiated CALLs that arrive meanwhile are answered with CALLERROR NotImplemented.
    ``reply_timeout=None`` sets no timer (the caller bounds the wait some other way).
    Raises :class:`StationError` on timeout, closed connection or undecodable frames.
    """
    try:
        await ws.send(frame, text=True)
        if reply_timeout is None:
            return await _await_reply(ws, msg_id, tally)
        async with asyncio.timeout(reply_timeout):
            return await _await_reply(ws, msg_id, tally)
    except TimeoutError as exc:
        raise StationError("timeout") from exc
    except ConnectionClosed as exc:
        raise StationError("connection_closed") from exc
    except orjson.JSONDecodeError as exc:
        raise StationError("invalid_json") from exc


def reply_error(reply: list[Any]) -> str | None:
    """Return an error key if ``reply`` is a CALLERROR, else None."""
    if reply[0] == CALLERROR:
        code = reply[2] if len(reply) > 2 else "?"
        return f"callerror:{code}"
    return None


async def boot(
    ws: ClientConnection, script: StationScript, reply_timeout: float, tally: Tally
) -> None:
    """Send the BootNotification and the setup CALLs; raise StationError unless accepted."""
    msg_id, frame = script.boot_frame()
    reply = await call(ws, msg_id, frame, reply_timeout, tally)
    error = reply_error(reply)
    if error is not None:
        raise StationError(f"boot_{error}")
    if reply[0] == CALLRESULT and isinstance(reply[2], dict):
        status = reply[2].get("status")
        if status != "Accepted":
            raise StationError(f"boot_not_accepted:{status}")
    for setup_id, setup_frame in script.setup_frames():
        reply = await call(ws, setup_id, setup_frame, reply_timeout, tally)
        error = reply_error(reply)
        if error is not None:
            raise StationError(f"setup_{error}")
        script.observe(reply)


async def close_all(connections: list[ClientConnection], within: float) -> None:
    """Close connections concurrently, then abort whatever is still open after ``within`` s."""
    if not connections:
        return
    tasks = [asyncio.ensure_future(ws.close()) for ws in connections]
    _done, pending = await asyncio.wait(tasks, timeout=within)
    for task in pending:
        task.cancel()
    for ws in connections:
        if ws.transport is not None and not ws.transport.is_closing():
            ws.transport.abort()


async def gather_bounded(
    factories: list[Callable[[], Awaitable[Any]]], concurrency: int, within: float
) -> list[Any]:
    """Run coroutine factories with at most ``concurrency`` in flight, within ``within`` s.

    Returns one entry per factory: its result, or the exception it raised (a
    :class:`StationError` ``phase_timeout`` for those still running at the deadline).
    """
    semaphore = asyncio.Semaphore(concurrency)

    async def guarded(factory: Callable[[], Awaitable[Any]]) -> Any:
        async with semaphore:
            return await factory()

    tasks = [asyncio.ensure_future(guarded(f)) for f in factories]
    if not tasks:
        return []
    await asyncio.wait(tasks, timeout=within)
    results: list[Any] = []
    for task in tasks:
        if not task.done():
            task.cancel()
            results.append(StationError("phase_timeout"))
        elif task.cancelled():
            results.append(StationError("cancelled"))
        elif task.exception() is not None:
            results.append(task.exception())
        else:
            results.append(task.result())
    await asyncio.gather(*tasks, return_exceptions=True)
    return results


# --------------------------------------------------------------------------------------------
# load mode
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadOptions:
    """Parameters of a ``load`` run."""

    url: str
    mix: str
    stations: int
    warmup: float
    duration: float
    server_pid: int | None
    call_timeout: float
    open_timeout: float
    connect_concurrency: int
    connect_phase_timeout: float
    tag: str
    pace: float = 0.0  # seconds each station waits after a reply (0: closed loop, full speed)


@dataclass(frozen=True)
class Snapshot:
    """CPU clocks at one instant."""

    wall: float
    server_cpu: float | None
    client_cpu: float
    core_busy: tuple[float, ...]
    core_steal: tuple[float, ...]


def core_busy_seconds() -> tuple[float, ...]:
    """Busy (user, nice, system, irq, softirq) CPU seconds of every core, system-wide."""
    return tuple(
        t.user + t.nice + t.system + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0)
        for t in psutil.cpu_times(percpu=True)
    )


def core_steal_seconds() -> tuple[float, ...]:
    """Seconds the hypervisor ran something else on each virtual core (0 on bare metal)."""
    return tuple(getattr(t, "steal", 0.0) for t in psutil.cpu_times(percpu=True))


def take_snapshot(server: psutil.Process | None) -> Snapshot:
    """Read the wall clock, the server's and our own CPU time, and every core's busy time."""
    return Snapshot(
        wall=time.perf_counter(),
        server_cpu=tree_cpu_seconds(server) if server is not None else None,
        client_cpu=own_cpu_seconds(),
        core_busy=core_busy_seconds(),
        core_steal=core_steal_seconds(),
    )


def pinned_cpu(proc: psutil.Process | None) -> int | None:
    """The CPU ``proc`` is pinned to, if it is pinned to exactly one."""
    if proc is None:
        return None
    try:
        cpus = proc.cpu_affinity()
    except (psutil.Error, AttributeError):
        return None
    return cpus[0] if cpus is not None and len(cpus) == 1 else None


def interference(
    begin: Snapshot, end: Snapshot, server: psutil.Process | None, client_util: float | None
) -> dict[str, Any]:
    """Per-core utilisation over the window and the share used by other processes.

    ``foreign_on_server_core`` is the busy fraction of the server's core not explained by the
    server itself; ``foreign_on_client_core`` likewise for the load generator's core;
    ``steal_on_server_core`` the fraction the hypervisor gave to other guests. Values above a
    few percent mean the measurement was disturbed.
    """
    wall = end.wall - begin.wall
    if wall <= 0:
        return {}
    busy = [(e - b) / wall for b, e in zip(begin.core_busy, end.core_busy, strict=True)]
    steal = [(e - b) / wall for b, e in zip(begin.core_steal, end.core_steal, strict=True)]
    result: dict[str, Any] = {
        "core_util": [round(u, 3) for u in busy],
        "core_steal": [round(u, 3) for u in steal],
    }
    server_core = pinned_cpu(server)
    if server_core is not None and server_core < len(busy) and end.server_cpu is not None:
        own = (end.server_cpu - (begin.server_cpu or 0.0)) / wall
        result["foreign_on_server_core"] = round(max(0.0, busy[server_core] - own), 3)
        result["steal_on_server_core"] = round(steal[server_core], 3)
    own_core = pinned_cpu(psutil.Process())
    if own_core is not None and own_core < len(busy) and client_util is not None:
        result["foreign_on_client_core"] = round(max(0.0, busy[own_core] - client_util), 3)
    return result


async def station_loop(
    ws: ClientConnection,
    script: StationScript,
    tally: Tally,
    stop: asyncio.Event,
    pace: float = 0.0,
) -> None:
    """Closed loop: send the mix's next CALL, wait for its reply, repeat until ``stop``.

    No timer per CALL (it would cost the load generator ~15 % of its CPU): the run bounds the
    loop instead, and a reply still missing ``call_timeout`` s after the window counts as a
    ``stop_timeout`` error. With ``pace``, each station waits that long after each reply, so the
    offered rate is about stations / pace: a server below saturation shows its CPU per call
    without the load generator's core deciding the rate.
    """
    while not stop.is_set():
        if pace:
            await asyncio.sleep(pace)
        msg_id, frame = script.next_frame()
        started = time.perf_counter()
        try:
            reply = await call(ws, msg_id, frame, None, tally)
        except StationError as exc:
            tally.errors[exc.key] += 1
            return
        error = reply_error(reply)
        script.observe(reply)
        if error is not None:
            tally.errors[error] += 1
        elif tally.measuring:
            tally.calls += 1
            tally.latencies.append(time.perf_counter() - started)


async def _connect_station(
    options: LoadOptions, script: StationScript, tally: Tally
) -> ClientConnection:
    ws = await open_connection(
        options.url, script.station_id, script.subprotocol, options.open_timeout
    )
    try:
        await boot(ws, script, options.call_timeout, tally)
    except BaseException:
        await close_all([ws], 2.0)
        raise
    return ws


async def run_load(options: LoadOptions) -> dict[str, Any]:
    """Connect and boot the stations, run warm-up and the measured window, return figures."""
    server = psutil.Process(options.server_pid) if options.server_pid else None
    tally = Tally()
    scripts = [
        StationScript(options.mix, f"b{options.tag}-{options.mix[:2]}{i:05d}", i)
        for i in range(options.stations)
    ]

    def factory(script: StationScript) -> Callable[[], Awaitable[ClientConnection]]:
        return lambda: _connect_station(options, script, tally)

    connect_started = time.perf_counter()
    results = await gather_bounded(
        [factory(s) for s in scripts], options.connect_concurrency, options.connect_phase_timeout
    )
    connect_seconds = time.perf_counter() - connect_started
    ready: list[tuple[ClientConnection, StationScript]] = []
    for script, result in zip(scripts, results, strict=True):
        if isinstance(result, ClientConnection):
            ready.append((result, script))
        elif isinstance(result, StationError):
            tally.errors[result.key] += 1
        else:
            tally.errors[f"exception:{type(result).__name__}"] += 1

    stop = asyncio.Event()
    tasks = [
        asyncio.ensure_future(station_loop(ws, script, tally, stop, options.pace))
        for ws, script in ready
    ]
    begin = end = take_snapshot(server)
    try:
        if tasks:
            await asyncio.wait(tasks, timeout=options.warmup)
            begin = take_snapshot(server)
            tally.measuring = True
            await asyncio.wait(tasks, timeout=options.duration)
            tally.measuring = False
            end = take_snapshot(server)
    finally:
        tally.measuring = False
        stop.set()
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=options.call_timeout + 2.0)
            for task in pending:
                task.cancel()
                tally.errors["stop_timeout"] += 1
            await asyncio.gather(*tasks, return_exceptions=True)
        await close_all([ws for ws, _ in ready], 5.0)

    wall = end.wall - begin.wall
    client_util = (end.client_cpu - begin.client_cpu) / wall if wall > 0 else None
    latencies = sorted(tally.latencies)
    server_cpu = (
        end.server_cpu - begin.server_cpu
        if end.server_cpu is not None and begin.server_cpu is not None
        else None
    )
    sample = StationScript(options.mix, "bsample-00000", 0)
    sample.setup_frames()
    sample_frame = sample.next_frame()[1]
    return {
        "mode": "load",
        "mix": options.mix,
        "subprotocol": mix_subprotocol(options.mix),
        "stations": options.stations,
        "stations_ready": len(ready),
        "connect_seconds": round(connect_seconds, 3),
        "warmup_s": options.warmup,
        "duration_s": options.duration,
        "wall_s": round(wall, 4),
        "calls": tally.calls,
        "calls_per_s": tally.calls / wall if wall > 0 else 0.0,
        "server_cpu_s": server_cpu,
        "server_cpu_us_per_call": (
            server_cpu / tally.calls * 1e6 if server_cpu is not None and tally.calls else None
        ),
        "server_cpu_util": server_cpu / wall if server_cpu is not None and wall > 0 else None,
        "client_cpu_util": client_util,
        "interference": interference(begin, end, server, client_util),
        "latency_ms": {
            "p50": percentile(latencies, 50) * 1e3,
            "p90": percentile(latencies, 90) * 1e3,
            "p99": percentile(latencies, 99) * 1e3,
            "max": (latencies[-1] * 1e3) if latencies else 0.0,
            "mean": statistics.fmean(latencies) * 1e3 if latencies else 0.0,
        },
        "errors": dict(tally.errors),
        "errors_total": sum(tally.errors.values()),
        "server_calls": tally.server_calls,
        "frame_bytes": len(sample_frame),
    }


# --------------------------------------------------------------------------------------------
# idle mode
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IdleOptions:
    """Parameters of an ``idle`` run."""

    url: str
    connections: int
    server_pid: int
    call_timeout: float
    open_timeout: float
    connect_concurrency: int
    connect_phase_timeout: float
    settle_timeout: float
    rss_interval: float
    tag: str


async def wait_rss_stable(
    proc: psutil.Process, interval: float, within: float, samples: int = 5
) -> tuple[int, bool]:
    """Poll the RSS until ``samples`` consecutive readings lie within a small band.

    The band is max(64 KiB, 0.1 % of the RSS). Returns ``(rss, stable)``; after ``within``
    seconds the last reading is returned with ``stable=False``.
    """
    deadline = time.monotonic() + within
    readings: list[int] = []
    while True:
        readings.append(tree_rss_bytes(proc))
        window = readings[-samples:]
        if len(window) == samples and max(window) - min(window) <= max(
            64 * 1024, window[-1] // 1000
        ):
            return window[-1], True
        if time.monotonic() >= deadline:
            return readings[-1], False
        await asyncio.sleep(interval)


async def answer_server_calls(ws: ClientConnection, tally: Tally) -> None:
    """Keep an idle station responsive: answer server CALLs with CALLERROR NotImplemented."""
    try:
        async for raw in ws:
            msg = orjson.loads(raw)
            if isinstance(msg, list) and len(msg) >= 3 and msg[0] == CALL:
                tally.server_calls += 1
                error = [CALLERROR, msg[1], "NotImplemented", "load generator", {}]
                await ws.send(orjson.dumps(error), text=True)
    except (ConnectionClosed, orjson.JSONDecodeError):
        return


async def _connect_idle(options: IdleOptions, index: int, tally: Tally) -> ClientConnection:
    script = StationScript(MIX_HEARTBEAT16, f"b{options.tag}-id{index:05d}", index)
    ws = await open_connection(options.url, script.station_id, OCPP16, options.open_timeout)
    try:
        await boot(ws, script, options.call_timeout, tally)
    except BaseException:
        await close_all([ws], 2.0)
        raise
    return ws


async def run_idle(options: IdleOptions) -> dict[str, Any]:
    """Measure the server's resident memory per idle (booted) connection."""
    server = psutil.Process(options.server_pid)
    tally = Tally()
    rss_before, stable_before = await wait_rss_stable(
        server, options.rss_interval, options.settle_timeout
    )
    cpu_before = tree_cpu_seconds(server)
    started = time.perf_counter()

    def factory(index: int) -> Callable[[], Awaitable[ClientConnection]]:
        return lambda: _connect_idle(options, index, tally)

    results = await gather_bounded(
        [factory(i) for i in range(options.connections)],
        options.connect_concurrency,
        options.connect_phase_timeout,
    )
    connect_seconds = time.perf_counter() - started
    cpu_connect = tree_cpu_seconds(server) - cpu_before
    connections: list[ClientConnection] = []
    for result in results:
        if isinstance(result, ClientConnection):
            connections.append(result)
        elif isinstance(result, StationError):
            tally.errors[result.key] += 1
        else:
            tally.errors[f"exception:{type(result).__name__}"] += 1
    readers = [asyncio.ensure_future(answer_server_calls(ws, tally)) for ws in connections]
    try:
        rss_after, stable_after = await wait_rss_stable(
            server, options.rss_interval, options.settle_timeout
        )
        alive = sum(1 for ws in connections if ws.close_code is None)
    finally:
        await close_all(connections, 10.0)
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
    if alive != len(connections):
        tally.errors["closed_while_idle"] += len(connections) - alive
    n = len(connections)
    return {
        "mode": "idle",
        "connections_requested": options.connections,
        "connections_ok": n,
        "connections_alive_at_measurement": alive,
        "rss_before_bytes": rss_before,
        "rss_after_bytes": rss_after,
        "rss_stable": stable_before and stable_after,
        "kib_per_connection": (rss_after - rss_before) / n / 1024 if n else None,
        "connect_seconds": round(connect_seconds, 3),
        "connections_per_s": n / connect_seconds if connect_seconds > 0 else None,
        "server_cpu_ms_per_connection": cpu_connect / n * 1e3 if n else None,
        "errors": dict(tally.errors),
        "errors_total": sum(tally.errors.values()),
        "server_calls": tally.server_calls,
    }


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser of the load generator."""
    parser = argparse.ArgumentParser(
        prog="loadgen", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="mode", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", required=True, help="base URL; the station id is appended")
    common.add_argument("--server-pid", type=int, default=None, help="server process to meter")
    common.add_argument("--cpu", type=int, default=None, help="pin the load generator to CPU")
    common.add_argument("--out", type=Path, default=None, help="write the JSON result here")
    common.add_argument("--call-timeout", type=float, default=30.0)
    common.add_argument("--open-timeout", type=float, default=10.0)
    common.add_argument("--connect-concurrency", type=int, default=50)
    common.add_argument("--connect-phase-timeout", type=float, default=120.0)
    common.add_argument("--tag", default=None, help="station id prefix (default: random)")
    common.add_argument("--no-uvloop", action="store_true", help="use the asyncio event loop")

    load = sub.add_parser("load", parents=[common], help="closed-loop throughput run")
    load.add_argument("--mix", choices=MIXES, required=True)
    load.add_argument("--stations", type=int, default=200)
    load.add_argument("--warmup", type=float, default=3.0)
    load.add_argument("--duration", type=float, default=10.0)
    load.add_argument(
        "--pace", type=float, default=0.0, help="seconds a station waits after each reply"
    )

    idle = sub.add_parser("idle", parents=[common], help="memory per idle connection")
    idle.add_argument("--connections", type=int, default=2000)
    idle.add_argument("--settle-timeout", type=float, default=30.0)
    idle.add_argument("--rss-interval", type=float, default=0.25)
    return parser


def run_in_loop(
    coro_factory: Callable[[], Awaitable[dict[str, Any]]], use_uvloop: bool
) -> tuple[dict[str, Any], str]:
    """Run ``coro_factory()`` on uvloop (if wanted and installed) or asyncio.

    Returns the coroutine's result and the name of the event loop used.
    """

    async def main() -> dict[str, Any]:
        return await coro_factory()

    if use_uvloop:
        try:
            import uvloop
        except ImportError:
            pass
        else:
            return uvloop.run(main()), "uvloop"
    return asyncio.run(main()), "asyncio"


def main(argv: list[str] | None = None) -> int:
    """Run the load generator; print or write the JSON result. Returns the exit status."""
    args = build_parser().parse_args(argv)
    raise_nofile_limit()
    pinned = pin_to_cpu(args.cpu)
    tag = args.tag or secrets.token_hex(3)
    url = args.url.rstrip("/")
    if args.mode == "load":
        load_options = LoadOptions(
            url=url,
            mix=args.mix,
            stations=args.stations,
            warmup=args.warmup,
            duration=args.duration,
            server_pid=args.server_pid,
            call_timeout=args.call_timeout,
            open_timeout=args.open_timeout,
            connect_concurrency=args.connect_concurrency,
            connect_phase_timeout=args.connect_phase_timeout,
            tag=tag,
            pace=args.pace,
        )
        result, loop_name = run_in_loop(lambda: run_load(load_options), not args.no_uvloop)
    else:
        if args.server_pid is None:
            print("idle mode needs --server-pid", file=sys.stderr)
            return 2
        idle_options = IdleOptions(
            url=url,
            connections=args.connections,
            server_pid=args.server_pid,
            call_timeout=args.call_timeout,
            open_timeout=args.open_timeout,
            connect_concurrency=args.connect_concurrency,
            connect_phase_timeout=args.connect_phase_timeout,
            settle_timeout=args.settle_timeout,
            rss_interval=args.rss_interval,
            tag=tag,
        )
        result, loop_name = run_in_loop(lambda: run_idle(idle_options), not args.no_uvloop)
    result["client_pinned_cpu"] = args.cpu if pinned else None
    result["client_event_loop"] = loop_name
    text = orjson.dumps(result, option=orjson.OPT_INDENT_2).decode()
    if args.out is not None:
        args.out.write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
