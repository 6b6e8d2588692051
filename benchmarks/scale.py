"""Scale benchmarks of csms with ``csms loadtest`` (scripts, not timed tests).

``steady``
    One ``csms serve`` process (no compression, SQLite) holds N stations (default 19,000; the
    per-process file limit here is 20,000, hard). The load generator runs in several worker
    processes. The fleet is idle with Heartbeats, and 10 % charge with MeterValues (1.6) /
    TransactionEvent (2.x). Time is compressed by ``--compress`` (default 5x): Heartbeat every
    300/5 = 60 s, meter values every 60/5 = 12 s. Checks: all stay connected, p99 < 100 ms,
    server memory per connection.

``storm``
    N stations (default 10,000) connect and boot; then the server is restarted (SIGTERM, start
    again on the same database). Every station reconnects (RetryBackOff: wait minimum +
    random range) and boots again (BootNotification + StatusNotification per connector). Reports
    the time from the restarted server accepting TCP until every station is Accepted again, lost
    messages, and refused handshakes (429 would mean the FailureLimiter locked out legit
    stations).

Usage::

    .venv/bin/python benchmarks/scale.py steady --json /tmp/steady.json
    .venv/bin/python benchmarks/scale.py storm --json /tmp/storm.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, within: float) -> float:
    """Wait until 127.0.0.1:port accepts; return the wall time it did."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return time.time()
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"server did not listen on {port} within {within} s")


def start_server(
    port: int, db: Path, log: Path, heartbeat: int, extra: tuple[str, ...] = ()
) -> subprocess.Popen[bytes]:
    """Start ``csms serve`` (own process group) and wait until it listens."""
    cmd = [
        str(VENV_BIN / "csms"),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-api",
        "--no-compression",
        "--database-url",
        f"sqlite+aiosqlite:///{db}",
        "--unknown-stations",
        "accept",
        "--registration-rate",
        "0",
        "--heartbeat-interval",
        str(heartbeat),
        "--log-level",
        "WARNING",
        *extra,
    ]
    with log.open("ab") as sink:
        proc = subprocess.Popen(cmd, stdout=sink, stderr=sink, start_new_session=True)
    wait_port(port, 60.0)
    return proc


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM (csms closes every session with 1001), then SIGKILL after 30 s."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def loadtest_cmd(url: str, args: list[str], pid: int, out: Path) -> list[str]:
    """The ``csms loadtest`` command line."""
    return [
        str(VENV_BIN / "csms"),
        "loadtest",
        url,
        *args,
        "--server-pid",
        str(pid),
        "--json",
        str(out),
    ]


def steady(opts: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Hold N stations idle + 10 % charging; return the loadtest result."""
    port = free_port()
    heartbeat = round(300 / opts.compress)
    meter = 60 / opts.compress
    server = start_server(
        port, work / "steady.db", work / "server.log", heartbeat, tuple(opts.server_arg)
    )
    ramp = opts.stations / opts.rate
    warmup = ramp + 20.0
    args = [
        "-n", str(opts.stations), "--rate", str(opts.rate), "--workers", str(opts.workers),
        "--versions", "1.6=60,2.0.1=30,2.1=10", "--charging", "0.1", "--no-start-stop",
        "--meter-interval", str(meter), "--session-length", "0",
        "--warmup", str(warmup), "--duration", str(warmup + opts.measure),
        "--progress-interval", "10",
    ]  # fmt: skip
    out = work / "steady.json"
    cmd = loadtest_cmd(f"ws://127.0.0.1:{port}/ocpp", args, server.pid, out)
    print("$", " ".join(cmd), flush=True)
    try:
        subprocess.run(cmd, check=False)
    finally:
        stop_server(server)
    result: dict[str, Any] = json.loads(out.read_text())
    result["benchmark"] = {"heartbeat_s": heartbeat, "meter_interval_s": meter, "command": cmd}
    return result


_ACCEPTED = re.compile(r"(\d+) accepted")


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of ``pid`` so far (None if it is gone)."""
    try:
        import psutil
    except ImportError:
        return None
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return None
    return float(times.user + times.system)


def storm(opts: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Boot N stations, restart the server, time the recovery."""
    port = free_port()
    db = work / "storm.db"
    log = work / "server.log"
    server = start_server(port, db, log, 300, tuple(opts.server_arg))
    ramp = opts.stations / opts.rate
    args = [
        "-n", str(opts.stations), "--rate", str(opts.rate), "--workers", str(opts.workers),
        "--versions", "1.6=60,2.0.1=30,2.1=10", "--connectors", "2",
        "--retry-wait-min", str(opts.retry_wait_min),
        "--retry-random-range", str(opts.retry_random_range),
        "--duration", str(ramp + opts.settle + opts.recover), "--progress-interval", "1",
    ]  # fmt: skip
    out = work / "storm.json"
    cmd = loadtest_cmd(f"ws://127.0.0.1:{port}/ocpp", args, server.pid, out)
    print("$", " ".join(cmd), flush=True)
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    restarted_at: float | None = None
    restarted_cpu: float | None = None
    try:
        for line in proc.stderr:
            sys.stderr.write(line)
            match = _ACCEPTED.search(line)
            if restarted_at is None and match and int(match.group(1)) >= opts.stations:
                time.sleep(opts.settle)
                stop_server(server)
                server = start_server(port, db, log, 300, tuple(opts.server_arg))
                restarted_at = time.time()
                print(f"server restarted, listening again (pid {server.pid})", flush=True)
        proc.wait()
        if restarted_at is not None:
            restarted_cpu = _cpu_seconds(server.pid)
    finally:
        stop_server(server)
    result: dict[str, Any] = json.loads(out.read_text())
    bench: dict[str, Any] = {"restarted_listening_wall": restarted_at, "command": cmd}
    if restarted_cpu is not None:  # the restarted server's CPU over the storm (not wall-clock)
        bench["storm_server_cpu_s"] = round(restarted_cpu, 3)
        bench["storm_server_cpu_ms_per_station"] = round(1000 * restarted_cpu / opts.stations, 3)
    episodes = result["episodes"]
    if restarted_at is not None and episodes and episodes[0]["end_s"] is not None:
        end_wall = result["start_wall"] + episodes[0]["end_s"]
        bench["all_accepted_after_restart_s"] = round(end_wall - restarted_at, 3)
        bench["outage_s"] = episodes[0]["seconds"]
    result["benchmark"] = bench
    return result


def main(argv: list[str] | None = None) -> int:
    """Run one scale benchmark and print/write its result."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("which", choices=("steady", "storm"))
    parser.add_argument("--stations", type=int)
    parser.add_argument("--rate", type=float, default=250.0)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--compress", type=float, default=5.0, help="time compression (steady)")
    parser.add_argument("--measure", type=float, default=120.0, help="steady window (s)")
    parser.add_argument("--settle", type=float, default=5.0, help="storm: wait before restart")
    parser.add_argument("--recover", type=float, default=150.0, help="storm: time after restart")
    parser.add_argument("--retry-wait-min", type=float, default=1.0)
    parser.add_argument("--retry-random-range", type=float, default=2.0)
    parser.add_argument(
        "--server-arg", action="append", default=[], help="extra csms serve argument (repeat)"
    )
    parser.add_argument("--json", type=Path)
    opts = parser.parse_args(argv)
    if opts.stations is None:
        opts.stations = 19_000 if opts.which == "steady" else 10_000
    with tempfile.TemporaryDirectory(prefix=f"csms-{opts.which}-") as tmp:
        work = Path(tmp)
        result = steady(opts, work) if opts.which == "steady" else storm(opts, work)
        log_tail = (work / "server.log").read_text(errors="replace").splitlines()[-20:]
    result["server_log_tail"] = log_tail
    text = json.dumps(result, indent=2)
    if opts.json:
        opts.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
