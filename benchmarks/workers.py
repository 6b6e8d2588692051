"""`csms serve --workers N` against one process: Heartbeat calls/s on one host (issue 11 item 1).

Starts a throwaway nats-server and PostgreSQL (``tests/nats.py``, ``tests/postgres.py``; durable,
as in production), then for each N of ``--workers`` (default ``1,2``) runs ``csms serve --workers
N`` (a cluster node per worker, OCPP on one port with SO_REUSEPORT, no API) and ``csms loadtest``
with ``-n`` stations sending a Heartbeat every ``--heartbeat-interval`` seconds, and prints the
answered calls/s, p99 latency and the CPU seconds csms used (the supervisor and its workers)::

    .venv/bin/python benchmarks/workers.py -n 2000 --heartbeat-interval 0.25 -d 30
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from tests.nats import running_nats  # noqa: E402
from tests.postgres import running_postgres  # noqa: E402


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(root: psutil.Process) -> float:
    total = 0.0
    for proc in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            times = proc.cpu_times()
            total += times.user + times.system
    return total


def listening(root: psutil.Process, port: int) -> int:
    """How many processes of the tree listen on ``port`` (each csms worker binds its own socket,
    SO_REUSEPORT). ``ss`` asks the kernel for the port's listening sockets only; psutil parses
    the whole TCP table per process, seconds of CPU per look with 100,000 stations' sockets on
    the machine (a restart under a storm was timed 88.7 s, late and slowed by the looks)."""
    ss = shutil.which("ss")
    if ss is not None:
        out = subprocess.run(
            [ss, "-Hltn", f"sport = :{port}"], capture_output=True, text=True, check=False
        )
        if out.returncode == 0:
            return sum(1 for line in out.stdout.splitlines() if line.strip())
    count = 0
    for proc in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            if any(
                c.status == psutil.CONN_LISTEN and c.laddr.port == port
                for c in proc.net_connections(kind="tcp")
            ):
                count += 1
    return count


def run_one(workers: int, url: str, nats_url: str, args: argparse.Namespace) -> dict[str, Any]:
    """One `csms serve --workers N` under one load test; the figures."""
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="csms-workers-") as tmp:
        log = Path(tmp) / "serve.log"
        argv = [
            sys.executable, "-m", "csms", "serve", "--workers", str(workers), "--host",
            "127.0.0.1", "--port", str(port), "--no-api", "--database-url", url,
            "--cluster-url", nats_url, "--security-profile", "0", "--unknown-stations",
            "accept", "--registration-rate", "0", "--message-log", "off", "--log-level",
            "WARNING", "--data-dir", str(Path(tmp) / "data"), "--max-handshakes", "0",
        ]  # fmt: skip
        with log.open("wb") as out:
            server = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120
            while True:
                with contextlib.suppress(OSError), socket_connect(port):
                    break
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"csms did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.1)
            tree = psutil.Process(server.pid)
            while listening(tree, port) < workers:  # every worker holds the port
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the workers did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.1)
            report = Path(tmp) / "loadtest.json"
            loadtest = [
                sys.executable, "-m", "csms", "loadtest", f"ws://127.0.0.1:{port}/ocpp",
                "-n", str(args.stations), "--rate", str(args.rate), "--heartbeat-interval",
                str(args.heartbeat_interval), "-d", str(args.duration), "--warmup",
                str(args.warmup), "--no-auth", "--workers", str(args.loadtest_workers),
                "--quiet", "--json", str(report),
            ]  # fmt: skip
            cpu_before = cpu_seconds(tree)
            subprocess.run(loadtest, check=False, stdout=subprocess.DEVNULL)
            cpu = cpu_seconds(tree) - cpu_before
            result = json.loads(report.read_text())
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(60)
    heartbeat = result["actions"].get("Heartbeat", {})
    return {
        "workers": workers,
        "heartbeat_calls_per_s": heartbeat.get("calls_per_s", 0.0),
        "p99_ms": heartbeat.get("latency_ms", {}).get("p99"),
        "errors": result["errors"],
        "timeouts": result["timeouts_total"],
        "csms_cpu_s": round(cpu, 1),
        "load_average": os.getloadavg(),
    }


@contextlib.contextmanager
def socket_connect(port: int) -> Any:
    with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
        yield sock


async def _create_database(server: Any) -> str:
    name = await server.create_database()
    return str(server.url(name))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,2", help="the N to compare, comma-separated")
    parser.add_argument("-n", "--stations", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=500.0, help="new stations per second")
    parser.add_argument("--heartbeat-interval", type=float, default=0.25)
    parser.add_argument("-d", "--duration", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=10.0)
    parser.add_argument("--loadtest-workers", type=int, default=1)
    args = parser.parse_args()
    rows = []
    with running_postgres(durable=True) as pg, running_nats() as nats:
        for n in (int(w) for w in args.workers.split(",")):
            url = asyncio.run(_create_database(pg))
            rows.append(run_one(n, url, nats.url, args))
            sys.stdout.write(json.dumps(rows[-1]) + "\n")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
