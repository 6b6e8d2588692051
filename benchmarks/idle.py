"""What an idle connected station costs one ``csms serve`` process (issue 11: ≤ 16 KiB each).

One command, JSON out::

    .venv/bin/python benchmarks/idle.py -n 5000 --window 90 --ping-intervals 60,5 --json idle.json

For each ping interval: start ``csms serve`` (SQLite, ``--no-api``, no compression, unknown
stations accepted) under a small wrapper that counts the garbage collector's work
(``gc.callbacks``: collections and their CPU time by generation), connect ``-n`` stations (OCPP
1.6, booted once, then idle except a Heartbeat every ``--heartbeat`` s, spread evenly), and read:

* ``kib_per_station``: RSS growth (stable readings before and after the fleet) ÷ N;
* ``gc_objects_per_station``: growth of the tracked objects (frozen ones included) ÷ N, and
  ``gc_unfrozen_objects_per_station``: those a full collection still walks (``gc_types_per_station``
  breaks these down by type; run with ``--server-arg=--no-gc-freeze`` to see them all);
* ``cpu_us_per_station_second``: the server's CPU time over the idle window ÷ (N × window);
* ``gc_in_window``: collections in the window by generation, their CPU ms and the longest;
* ``full_collection_ms``: one ``gc.collect()`` timed at the end, with N stations connected.

Two ping intervals give the cost of one ping round trip:
``(cpu(short) - cpu(long)) / (1/short - 1/long)`` per station, in ``per_ping_us``.
The server's CPU is measured while the load generator shares the machine; compare runs made in
the same session (e.g. this branch against ``main``), not against other days.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import cProfile
import gc
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.loadgen import (
    MIX_HEARTBEAT16,
    OCPP16,
    StationError,
    StationScript,
    Tally,
    answer_server_calls,
    boot,
    close_all,
    gather_bounded,
    open_connection,
    tree_cpu_seconds,
    wait_rss_stable,
)

HOST = "127.0.0.1"


# ------------------------------------------------------------------ the server side (wrapper)


def _serve(stats_path: str, argv: list[str]) -> int:
    """Run ``csms`` with a gc.callbacks counter; SIGUSR1 writes it (and the object count)."""
    from csms.cli import main as csms_main

    started: list[float] = [0.0]
    gens: dict[int, dict[str, float]] = {
        g: {"n": 0, "cpu_ms": 0.0, "max_ms": 0.0} for g in range(3)
    }

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.process_time()
            return
        spent = (time.process_time() - started[0]) * 1e3
        stat = gens[info["generation"]]
        stat["n"] += 1
        stat["cpu_ms"] += spent
        stat["max_ms"] = max(stat["max_ms"], spent)

    def dump() -> None:
        collect_ms = None
        if os.path.exists(stats_path + ".collect"):
            os.unlink(stats_path + ".collect")
            t0 = time.process_time()  # CPU time: preemption by other processes excluded
            gc.collect()
            collect_ms = (time.process_time() - t0) * 1e3
        objects = gc.get_objects()
        types = collections.Counter(type(o).__qualname__ for o in objects)
        del objects
        snapshot = {
            "gc": {str(g): dict(v) for g, v in gens.items()},
            "objects": sum(types.values()),
            "types": dict(types),
            "frozen": gc.get_freeze_count(),
            "full_collection_ms": collect_ms,
        }
        with open(stats_path + ".tmp", "w", encoding="utf-8") as file:
            json.dump(snapshot, file)
        os.replace(stats_path + ".tmp", stats_path)

    def later(_signum: int, _frame: Any) -> None:
        # From the event loop, not inside the handler: a signal handled during a collection (in
        # on_gc) would make gc.collect() return at once.
        asyncio.get_running_loop().call_soon_threadsafe(dump)

    profiler = cProfile.Profile()
    profiling = [False]

    def profile(_signum: int, _frame: Any) -> None:
        # --profile: on at the start of the idle window, off and written at its end.
        if profiling[0]:
            profiler.disable()
            profiler.dump_stats(stats_path + ".prof")
        else:
            profiler.enable()
        profiling[0] = not profiling[0]

    gc.callbacks.append(on_gc)
    signal.signal(signal.SIGUSR1, later)
    signal.signal(signal.SIGUSR2, profile)
    return csms_main(argv)


# ------------------------------------------------------------------ the driver


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


async def _snapshot(proc: psutil.Process, stats: Path, collect: bool = False) -> dict[str, Any]:
    """Ask the wrapper for its gc counters (and a timed full collection)."""
    # Tiny local files: blocking calls are fine in a benchmark driver.
    stats.unlink(missing_ok=True)  # noqa: ASYNC240
    if collect:
        Path(str(stats) + ".collect").touch()  # noqa: ASYNC240
    proc.send_signal(signal.SIGUSR1)
    for _ in range(600):
        if stats.exists():  # noqa: ASYNC240
            return dict(json.loads(stats.read_text()))  # noqa: ASYNC240
        await asyncio.sleep(0.05)
    raise RuntimeError("the server did not write its gc counters")


def _gc_delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for g in ("0", "1", "2"):
        b, a = before["gc"][g], after["gc"][g]
        out[g] = {
            "collections": int(a["n"] - b["n"]),
            "cpu_ms": round(a["cpu_ms"] - b["cpu_ms"], 1),
            "max_ms_so_far": round(a["max_ms"], 1),
        }
    return out


def _types_delta(before: dict[str, Any], after: dict[str, Any], n: int) -> dict[str, float]:
    """Tracked objects per station by type, largest first (what a connection is made of)."""
    delta = {
        name: (count - before["types"].get(name, 0)) / n
        for name, count in after["types"].items()
        if n and count - before["types"].get(name, 0) >= n / 2
    }
    return {k: round(v, 2) for k, v in sorted(delta.items(), key=lambda kv: -kv[1])}


async def _heartbeats(
    connections: list[Any], period: float, stop: asyncio.Event, counter: list[int]
) -> None:
    """Each station sends a Heartbeat every ``period`` s, spread evenly (one loop, no task each)."""
    if not connections or period <= 0:
        return
    tick = 0.1
    per_tick = len(connections) * tick / period
    owed, index = 0.0, 0
    while not stop.is_set():
        await asyncio.sleep(tick)
        owed += per_tick
        while owed >= 1:
            owed -= 1
            ws = connections[index % len(connections)]
            index += 1
            counter[0] += 1
            with contextlib.suppress(Exception):  # a closed station is counted at the end
                await ws.send(f'[2,"hb{index}","Heartbeat",{{}}]', text=True)


async def _one_run(args: argparse.Namespace, ping_interval: float, workdir: Path) -> dict[str, Any]:
    port = _free_port()
    stats = workdir / f"gc-{ping_interval:g}.json"
    log = open(workdir / f"server-{ping_interval:g}.log", "wb")  # noqa: SIM115, ASYNC230
    argv = [
        sys.executable, __file__, "_serve", str(stats), "serve",
        "--host", HOST, "--port", str(port), "--no-api", "--no-compression",
        "--database-url", f"sqlite+aiosqlite:///{workdir}/idle-{ping_interval:g}.db",
        "--unknown-stations", "accept", "--registration-rate", "0",
        "--heartbeat-interval", str(int(args.heartbeat)),
        "--ping-interval", str(ping_interval), "--log-level", "WARNING",
        *args.server_arg,
    ]  # fmt: skip
    server = subprocess.Popen(  # noqa: ASYNC220 - started once, before the measurement
        argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        proc = psutil.Process(server.pid)
        for _ in range(600):
            with socket.socket() as sock:
                if sock.connect_ex((HOST, port)) == 0:
                    break
            await asyncio.sleep(0.1)
        else:
            raise RuntimeError("csms serve did not start")
        return await _measure(args, ping_interval, port, proc, stats)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


async def _measure(
    args: argparse.Namespace, ping_interval: float, port: int, proc: psutil.Process, stats: Path
) -> dict[str, Any]:
    url = f"ws://{HOST}:{port}/ocpp"
    tally = Tally()
    rss0, _ = await wait_rss_stable(proc, 0.25, 30)
    snap0 = await _snapshot(proc, stats)
    # The empty server's own CPU (timers, the committer): not a per-station cost.
    empty0, e0 = tree_cpu_seconds(proc), time.monotonic()
    await asyncio.sleep(args.empty_window)
    empty_cores = (tree_cpu_seconds(proc) - empty0) / (time.monotonic() - e0)

    async def connect(i: int) -> Any:
        script = StationScript(MIX_HEARTBEAT16, f"idle-{i:06d}", i)
        ws = await open_connection(url, script.station_id, OCPP16, 30)
        try:
            await boot(ws, script, 30, tally)
        except BaseException:
            await close_all([ws], 2)
            raise
        return ws

    started = time.monotonic()
    results = await gather_bounded(
        [lambda i=i: connect(i) for i in range(args.n)], args.concurrency, 600
    )
    connect_s = time.monotonic() - started
    connections = [r for r in results if not isinstance(r, BaseException)]
    errors = [r.key if isinstance(r, StationError) else type(r).__name__ for r in results
              if isinstance(r, BaseException)]  # fmt: skip
    readers = [asyncio.ensure_future(answer_server_calls(ws, tally)) for ws in connections]
    stop = asyncio.Event()
    sent = [0]
    beats = asyncio.ensure_future(_heartbeats(connections, args.heartbeat, stop, sent))
    try:
        await asyncio.sleep(args.settle)
        rss1, stable = await wait_rss_stable(proc, 0.25, 30)
        snap1 = await _snapshot(proc, stats)
        if args.profile:
            proc.send_signal(signal.SIGUSR2)
        cpu0, t0 = tree_cpu_seconds(proc), time.monotonic()
        await asyncio.sleep(args.window)
        cpu1, t1 = tree_cpu_seconds(proc), time.monotonic()
        if args.profile:
            proc.send_signal(signal.SIGUSR2)
            await asyncio.sleep(1)
            shutil.copy(str(stats) + ".prof", f"{args.profile}-{ping_interval:g}.prof")
        snap2 = await _snapshot(proc, stats)
        rss2 = proc.memory_info().rss
        snap3 = await _snapshot(proc, stats, collect=True)
        alive = sum(1 for ws in connections if ws.close_code is None)
    finally:
        stop.set()
        await beats
        await close_all(connections, 10)
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
    n = len(connections)
    window = t1 - t0
    return {
        "ping_interval_s": ping_interval,
        "stations": n,
        "alive_at_end": alive,
        "connect_errors": len(errors),
        "connect_s": round(connect_s, 1),
        "rss_before_mib": round(rss0 / 2**20, 1),
        "rss_connected_mib": round(rss1 / 2**20, 1),
        "rss_after_window_mib": round(rss2 / 2**20, 1),
        "rss_stable": stable,
        "kib_per_station": round((rss1 - rss0) / n / 1024, 2) if n else None,
        # tracked objects, frozen ones included (what a connection is made of) ...
        "gc_objects_per_station": round(
            (snap1["objects"] + snap1["frozen"] - snap0["objects"] - snap0["frozen"]) / n, 1
        )
        if n
        else None,
        # ... and those a full collection still walks (csms freezes sessions after a burst)
        "gc_unfrozen_objects_per_station": round((snap1["objects"] - snap0["objects"]) / n, 1)
        if n
        else None,
        "gc_objects_connected": snap1["objects"],
        "gc_types_per_station": _types_delta(snap0, snap1, n),
        "gc_frozen": snap1["frozen"],
        "window_s": round(window, 1),
        "heartbeats_per_s": round(sent[0] / max(window + args.settle, 1e-9), 1),
        "server_cores": round((cpu1 - cpu0) / window, 4),
        "cpu_us_per_station_second": round((cpu1 - cpu0) / window / n * 1e6, 2) if n else None,
        "empty_server_cores": round(empty_cores, 4),
        # ... less the empty server's own CPU
        "net_cpu_us_per_station_second": round(((cpu1 - cpu0) / window - empty_cores) / n * 1e6, 2)
        if n
        else None,
        "gc_in_window": _gc_delta(snap1, snap2),
        "full_collection_ms": round(snap3["full_collection_ms"], 1),
    }


async def _main(args: argparse.Namespace) -> dict[str, Any]:
    runs = []
    with tempfile.TemporaryDirectory(prefix="csms-idle-") as tmp:
        for interval in args.ping_intervals:
            runs.append(await _one_run(args, interval, Path(tmp)))
    out: dict[str, Any] = {"command": " ".join(sys.argv), "runs": runs}
    if len(runs) >= 2:
        slow = max(runs, key=lambda r: r["ping_interval_s"])
        fast = min(runs, key=lambda r: r["ping_interval_s"])
        extra_pings = 1 / fast["ping_interval_s"] - 1 / slow["ping_interval_s"]
        extra_cpu = fast["cpu_us_per_station_second"] - slow["cpu_us_per_station_second"]
        out["per_ping_us"] = round(extra_cpu / extra_pings, 1) if extra_pings > 0 else None
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_serve":
        return _serve(argv[1], argv[2:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=5000, help="stations")
    parser.add_argument("--window", type=float, default=90.0, help="idle window (s)")
    parser.add_argument("--settle", type=float, default=15.0, help="wait after connecting (s)")
    parser.add_argument(
        "--ping-intervals",
        type=lambda v: [float(x) for x in v.split(",")],
        default=[60.0, 5.0],
        help="one run per server ping interval (s)",
    )
    parser.add_argument(
        "--empty-window", type=float, default=10.0, help="empty server's CPU, before (s)"
    )
    parser.add_argument("--heartbeat", type=float, default=300.0, help="Heartbeat period (s)")
    parser.add_argument("--concurrency", type=int, default=100, help="connects in flight")
    parser.add_argument("--server-arg", action="append", default=[], help="extra csms serve arg")
    parser.add_argument(
        "--profile", help="cProfile the window (CPU figures then include the profiler's cost)"
    )
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args(argv)
    result = asyncio.run(_main(args))
    text = json.dumps(result, indent=2)
    if args.json is not None:
        args.json.write_text(text + "\n")
    sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
