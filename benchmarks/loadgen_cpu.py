"""The load generator's own CPU per unit of work: per connect+boot, per idle station-second, per
reconnect in a storm (``csms loadtest``'s engine, in this process, on uvloop).

The peer is benchmarks/ocpp_answer_server.py (a subprocess, not metered), so the figures are the
load generator's alone: CPU time of this process (getrusage) over each phase, divided by the
stations (and seconds). Phases: ramp until every station is accepted (+ ``--settle``), ``--idle``
seconds of steady state (Heartbeats every ``--heartbeat-interval``, 10 % charging with MeterValues
every 60 s, server pings every 60 s, the fleet of scale_cluster.py), then a storm (every
connection dropped) until all are accepted again; with ``--accept-rate`` the server admits that
many handshakes per second and answers the rest 503 + Retry-After, so the storm's refused
attempts (and ``--no-honour-retry-after``'s extra ones) are counted and metered too.
Machine-independent enough to compare two checkouts in one session; the lead re-runs it quiet.

Usage::

    .venv/bin/python benchmarks/loadgen_cpu.py -n 5000 --idle 60 --json out.json
    .venv/bin/python benchmarks/loadgen_cpu.py -n 5000 --idle 5 --accept-rate 250 \
        [--no-honour-retry-after]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from csms.loadtest.config import LoadConfig, parse_version_mix
from csms.loadtest.engine import Engine

HERE = Path(__file__).resolve().parent


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _sys() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_stime


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _answer_server(port: int, *args: str) -> Iterator[None]:
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "ocpp_answer_server.py"), "--port", str(port), *args]
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield
    finally:
        proc.terminate()
        proc.wait(10)


async def _measure(opts: argparse.Namespace, port: int) -> dict[str, Any]:
    n = opts.stations
    config = LoadConfig(
        url=f"ws://127.0.0.1:{port}/ocpp",
        stations=n,
        rate=opts.rate,
        versions=parse_version_mix("1.6=60,2.0.1=30,2.1=10"),
        charging=0.1,
        start_stop_16=False,
        meter_interval=60.0,
        session_length=0.0,
        heartbeat_interval=opts.heartbeat_interval,
        duration=3600.0,
        per_address=1000,
        honour_retry_after=opts.honour_retry_after,
        retry_wait_min=opts.retry_wait_min,
        retry_random_range=opts.retry_random_range,
    )
    engine = Engine(config, range(n))
    run = asyncio.create_task(engine.run(interval=opts.report_interval))

    async def until(done: Callable[[], bool], within: float) -> None:
        deadline = time.monotonic() + within
        while not done():
            if time.monotonic() > deadline or run.done():
                raise RuntimeError(f"gave up waiting: {engine.stats.to_dict()['connect']}")
            await asyncio.sleep(0.05)

    def whole() -> bool:
        return engine.stats.accepted_now == n and not any(s.has_pending for s in engine.stations)

    cpu0, sys0 = _cpu(), _sys()
    await until(whole, n / opts.rate + 120)
    await asyncio.sleep(opts.settle)
    cpu1, sys1, t1 = _cpu(), _sys(), time.monotonic()
    calls1 = engine.stats.answered
    await asyncio.sleep(opts.idle)
    cpu2, t2 = _cpu(), time.monotonic()
    calls_idle = engine.stats.answered - calls1
    attempts0 = engine.stats.connect.sent
    refused0 = engine.stats.connect.errors["http_503"]
    for station in engine.stations:
        station.drop()
    await until(lambda: engine.stats.accepted_now < n, 10)
    await until(whole, 300)
    await asyncio.sleep(opts.settle)
    cpu3 = _cpu()
    attempts = engine.stats.connect.sent - attempts0
    storm_s = time.monotonic() - t2 - opts.settle
    engine.finish_early()
    await run
    idle_s = t2 - t1
    return {
        "stations": n,
        "rate": opts.rate,
        "heartbeat_interval": opts.heartbeat_interval,
        "cpu_us_per_connect_boot": round((cpu1 - cpu0) / n * 1e6, 1),
        "of_which_kernel_us": round((sys1 - sys0) / n * 1e6, 1),
        "idle_s": round(idle_s, 1),
        "idle_calls": calls_idle,
        "cpu_us_per_idle_station_s": round((cpu2 - cpu1) / (n * idle_s) * 1e6, 3),
        "idle_cores_per_100k_stations": round((cpu2 - cpu1) / idle_s * 100_000 / n, 3),
        "honour_retry_after": opts.honour_retry_after,
        "accept_rate": opts.accept_rate,
        "storm_attempts": attempts,
        "storm_refused_503": engine.stats.connect.errors["http_503"] - refused0,
        "storm_s": round(storm_s, 1),
        "storm_cores": round((cpu3 - cpu2) / (storm_s + opts.settle), 3),
        "cpu_us_per_storm_reconnect": round((cpu3 - cpu2) / n * 1e6, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--stations", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--idle", type=float, default=60.0, help="steady window (s)")
    parser.add_argument("--settle", type=float, default=2.0)
    parser.add_argument("--heartbeat-interval", type=float, default=60.0)
    parser.add_argument("--report-interval", type=float, default=1.0)
    parser.add_argument(
        "--accept-rate",
        type=float,
        default=0.0,
        help="the server admits this many handshakes/s and answers the rest 503 (0: all)",
    )
    parser.add_argument("--retry-after", type=int, default=5, help="the server's 503 Retry-After")
    parser.add_argument("--honour-retry-after", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--retry-wait-min", type=float, default=1.0)
    parser.add_argument("--retry-random-range", type=float, default=2.0)
    parser.add_argument("--json", type=Path)
    opts = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    port = _free_port()
    server_args = ("--accept-rate", str(opts.accept_rate), "--retry-after", str(opts.retry_after))
    with _answer_server(port, *server_args):
        import uvloop

        result = uvloop.run(_measure(opts, port))
    text = json.dumps(result, indent=2)
    sys.stdout.write(text + "\n")
    if opts.json:
        opts.json.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
