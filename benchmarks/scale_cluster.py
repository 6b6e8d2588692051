"""The cluster benchmark of issue 11: N stations on `csms serve --workers W`, steady then storm.

One run, on loopback only (nothing else is ever targeted):

* a durable PostgreSQL and a nats-server (``tests/postgres.py``, ``tests/nats.py``, as
  ``benchmarks/workers.py`` starts them), then ``csms serve --workers W`` (each worker a cluster
  node, OCPP and API on one port each with SO_REUSEPORT, no compression, message log off);
* ``csms loadtest`` in ``--loadtest-workers`` processes, stations spread over 127.x.y.z source
  addresses (``--stations-per-address``), ramp at ``--rate``;
* **steady**: the fleet heartbeats, 10 % charge (MeterValues / TransactionEvent), time
  compressed by ``--compress`` (Heartbeat every 300/c s, meter values every 60/c s); the
  loadtest's measured window (``--warmup`` = ramp + settle, ``--measure-for``) gives p99 and
  errors; at its end the API's online count and the NATS KV presence count are read;
* **storm**: the supervisor is stopped (SIGTERM) and started again on the same database and
  NATS; every station reconnects with the RetryBackOff of scale.py and boots again. The time
  from "all workers listen again" until every station is Accepted again is the figure, with the
  handshakes refused (503 admission, 429/403 lock-outs) from the loadtest's error counts.

A sampler reads every process group's CPU and RSS every ``--sample`` s (csms supervisor and
workers, load generator, PostgreSQL, nats-server) so each phase's bottleneck is visible, and
PostgreSQL's row counters (``pg_stat_user_tables``) and the KV streams' sequence numbers give
the write rates of the steady window; nats-server's ``/varz`` its messages per second, and
pg_stat_statements PostgreSQL's statements per second. The steady window's csms CPU is also given
per station-second and per CALL (``steady.per_unit``); a run with ``--charging 0`` beside one with
the default 10 % splits the per-connection cost from the per-CALL cost. ``--recover 0`` skips the
storm (steady state only). ``--profile OUT`` samples one worker with py-spy for the measured
window (``OUT`` collapsed stacks, ``OUT.txt`` the top functions). The steady-state measurement of
task s13_steady (docs/performance.md, "Steady state in a cluster")::

    .venv/bin/python benchmarks/scale_cluster.py -n 5000 --workers 2 --loadtest-workers 2 \
        --rate 250 --compress 5 --settle 15 --measure 60 --recover 0 --charging 0.1 \
        --json /tmp/steady.json --profile /tmp/steady.spy

Usage (the 100,000-station run)::

    .venv/bin/python benchmarks/scale_cluster.py -n 100000 --workers 7 --loadtest-workers 7 \\
        --rate 400 --compress 1 --json /tmp/cluster100k.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil

import nats

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from tests.nats import running_nats  # noqa: E402
from tests.postgres import running_postgres  # noqa: E402

from benchmarks.scale import free_port  # noqa: E402
from benchmarks.spy_summary import summarize  # noqa: E402
from benchmarks.workers import listening  # noqa: E402

MEMDUMP = REPO_ROOT / "benchmarks" / "memdump"
API_TOKEN = "scale-cluster-benchmark-token"  # loopback only, a throwaway database
_PROGRESS = re.compile(
    r"t=\s*([\d.]+)s\s+(\d+)/\d+ open\s+(\d+) accepted.*?(\d+) errors\s+(\d+) timeouts"
)


def _tree(root: psutil.Process | None) -> list[psutil.Process]:
    if root is None:
        return []
    with contextlib.suppress(psutil.Error):
        return [root, *root.children(recursive=True)]
    return []


def _find(name: str, marker: str) -> psutil.Process | None:
    """The process called ``name`` whose command line holds ``marker`` (its port)."""
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or ())
        if proc.info["name"] == name and marker in cmdline:
            return proc
    return None


class Sampler(threading.Thread):
    """CPU seconds and RSS of each process group every ``period`` s, in a thread."""

    def __init__(self, groups: dict[str, Callable[[], psutil.Process | None]], period: float):
        super().__init__(daemon=True)
        self.groups, self.period = groups, period
        self.samples: list[dict[str, Any]] = []
        self._stop_event = threading.Event()
        self._cpu_seen: dict[int, float] = {}  # last CPU time per pid: survives a restart
        self._cpu_total: dict[str, float] = dict.fromkeys(groups, 0.0)

    def read(self) -> dict[str, Any]:
        row: dict[str, Any] = {"t": time.time()}
        for group, root in self.groups.items():
            rss = 0
            for proc in _tree(root()):
                with contextlib.suppress(psutil.Error):
                    times = proc.cpu_times()
                    # Own time only: a reaped child's time also lands in its parent's
                    # children_* counters, which counted it twice (a load generator that
                    # "used" 2.6 of 2 cores when its workers exited, a restart's jump).
                    cpu = times.user + times.system
                    self._cpu_total[group] += cpu - self._cpu_seen.get(proc.pid, 0.0)
                    self._cpu_seen[proc.pid] = cpu
                    rss += proc.memory_info().rss
            row[group] = {"cpu_s": round(self._cpu_total[group], 2), "rss_mib": rss / 2**20}
        return row

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.samples.append(self.read())
            self._stop_event.wait(self.period)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()

    def between(self, start: float, end: float) -> dict[str, Any]:
        """Cores used per group between two wall times (the nearest samples)."""
        inside = [s for s in self.samples if start <= s["t"] <= end]
        if len(inside) < 2:
            return {}
        first, last = inside[0], inside[-1]
        wall = last["t"] - first["t"]
        return {
            "seconds": round(wall, 1),
            **{
                g: {
                    "cpu_s": round(last[g]["cpu_s"] - first[g]["cpu_s"], 1),
                    "cores": round((last[g]["cpu_s"] - first[g]["cpu_s"]) / wall, 3),
                    "rss_mib_end": round(last[g]["rss_mib"], 1),
                }
                for g in self.groups
            },
        }


class Cluster:
    """``csms serve --workers W`` on loopback, restartable on the same database and NATS."""

    def __init__(self, opts: argparse.Namespace, db_url: str, nats_url: str, work: Path):
        self.workers = opts.workers
        self.port, self.api_port = free_port(), free_port()
        self.log = work / "serve.log"
        heartbeat = round(300 / opts.compress)
        self.argv = [
            sys.executable, "-m", "csms", "serve", "--workers", str(opts.workers),
            "--host", "127.0.0.1", "--port", str(self.port), "--api-host", "127.0.0.1",
            "--api-port", str(self.api_port), "--database-url", db_url, "--cluster-url",
            nats_url, "--security-profile", "0", "--unknown-stations", "accept",
            "--registration-rate", "0", "--message-log", "off", "--no-compression",
            "--heartbeat-interval", str(heartbeat), "--log-level", "WARNING",
            "--data-dir", str(work / "data"), *opts.server_arg,
        ]  # fmt: skip
        self.env = {**os.environ, "CSMS_API_TOKEN": API_TOKEN}
        self.memdump: Path | None = None
        if opts.tracemalloc:  # benchmarks/memdump/sitecustomize.py in every worker
            self.memdump = work / "memdump"
            self.memdump.mkdir()
            path = os.pathsep.join(filter(None, [str(MEMDUMP), os.environ.get("PYTHONPATH")]))
            self.env |= {"PYTHONPATH": path, "CSMS_BENCH_MEMDUMP": str(self.memdump)}
            if opts.tracemalloc == "trace":
                self.env["PYTHONTRACEMALLOC"] = "1"
            if opts.tracemalloc == "trim":
                self.env["CSMS_BENCH_MEMDUMP_TRIM"] = "1"
        self.proc: subprocess.Popen[bytes] | None = None
        self.root: psutil.Process | None = None

    def start(self) -> float:
        """Start and wait until every worker listens on the OCPP port; the wall time it did."""
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.argv, stdout=out, stderr=subprocess.STDOUT, env=self.env
            )
        self.root = psutil.Process(self.proc.pid)
        deadline = time.monotonic() + 180
        while listening(self.root, self.port) < self.workers:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"csms did not start:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.1)
        return time.time()

    def stop(self) -> float:
        """SIGTERM the supervisor (it stops its workers); the seconds it took."""
        began = time.monotonic()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(90)
            except subprocess.TimeoutExpired:
                for proc in reversed(_tree(self.root)):
                    with contextlib.suppress(psutil.Error):
                        proc.kill()
                self.proc.wait()
        self.root = None
        return round(time.monotonic() - began, 1)

    def worker_rss_mib(self) -> float:
        """The workers' resident memory, summed (the supervisor and helpers excluded)."""
        total = 0
        for proc in _tree(self.root)[1:]:
            with contextlib.suppress(psutil.Error):
                if "resource_tracker" not in " ".join(proc.cmdline()):
                    total += proc.memory_info().rss
        return total / 2**20

    def memdump_workers(self) -> list[dict[str, Any]]:
        """Each worker's memory dump (``--tracemalloc``): signal them, wait for their files."""
        if self.memdump is None:
            return []
        pids = [
            p.pid for p in _tree(self.root)[1:] if "resource_tracker" not in " ".join(p.cmdline())
        ]
        seen = {f.name for f in self.memdump.iterdir()}
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGUSR1)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            new = [f for f in self.memdump.glob("*.json") if f.name not in seen]
            if len(new) >= len(pids):
                return [json.loads(f.read_text()) for f in new]
            time.sleep(0.2)
        raise RuntimeError("the workers did not write their memory dumps")

    def online(self) -> int | None:
        """The API's count of online stations (the stored flag, cluster-wide)."""
        with contextlib.suppress(httpx.HTTPError, KeyError, ValueError):
            answer = httpx.get(
                f"http://127.0.0.1:{self.api_port}/api/v1/stations",
                params={"online": "true", "limit": 1},
                headers={"Authorization": f"Bearer {API_TOKEN}"},
                timeout=60,
            )
            return int(answer.json()["total"])
        return None


def _varz(monitor_port: int) -> dict[str, int]:
    """nats-server's message counters so far (its monitoring endpoint): the server's own
    (``/varz``, JetStream's internal traffic included) and the csms nodes' connections'
    (``/connz``: ``nodes_in_msgs`` published by the nodes, ``nodes_out_msgs`` delivered to them)."""
    keys = ("in_msgs", "out_msgs", "in_bytes", "out_bytes")
    with contextlib.suppress(httpx.HTTPError, ValueError, KeyError):
        base = f"http://127.0.0.1:{monitor_port}"
        varz = httpx.get(f"{base}/varz", timeout=10).json()
        connz = httpx.get(f"{base}/connz", params={"limit": 4096}, timeout=10).json()
        nodes = [c for c in connz["connections"] if str(c.get("name", "")).startswith("csms ")]
        return {k: int(varz[k]) for k in keys} | {
            f"nodes_{k}": sum(int(c[k]) for c in nodes) for k in keys
        }
    return {}


async def _nats_figures(url: str) -> dict[str, Any]:
    """Claims in KV ``csms_stations`` and the last sequence of each KV stream (writes so far)."""
    client = await nats.connect(url)
    try:
        js = client.jetstream()
        kv = await js.key_value("csms_stations")
        try:
            claims = len(await kv.keys())
        except nats.js.errors.NoKeysError:
            claims = 0
        seqs = {}
        for bucket in ("csms_stations", "csms_nodes"):
            info = await js.stream_info(f"KV_{bucket}")
            seqs[bucket] = info.state.last_seq
        return {"claims": claims, "kv_last_seq": seqs}
    finally:
        await client.close()


async def _pg_rows(url: str) -> dict[str, Any]:
    """Rows inserted/updated per table and commits so far (``pg_stat_*``)."""
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT relname, n_tup_ins, n_tup_upd FROM pg_stat_user_tables")
        commits = await conn.fetchval(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        )
        statements = 0
        with contextlib.suppress(asyncpg.PostgresError):
            statements = await conn.fetchval("SELECT sum(calls) FROM pg_stat_statements") or 0
        return {
            "commits": int(commits),
            "statements": int(statements),
            "tables": {r["relname"]: [int(r["n_tup_ins"]), int(r["n_tup_upd"])] for r in rows},
        }
    finally:
        await conn.close()


def _rates(before: dict[str, Any], after: dict[str, Any], seconds: float) -> dict[str, Any]:
    """Per-second differences of two :func:`_pg_rows` readings (tables that changed)."""
    out: dict[str, Any] = {
        "commits_per_s": round((after["commits"] - before["commits"]) / seconds),
        "statements_per_s": round((after["statements"] - before["statements"]) / seconds),
    }
    for table, (ins, upd) in after["tables"].items():
        ins0, upd0 = before["tables"].get(table, [0, 0])
        if ins > ins0 or upd > upd0:
            out[table] = {
                "inserts_per_s": round((ins - ins0) / seconds, 1),
                "updates_per_s": round((upd - upd0) / seconds, 1),
            }
    return out


def _loadtest_argv(opts: argparse.Namespace, cluster: Cluster, out: Path) -> list[str]:
    ramp = opts.stations / opts.rate
    warmup = ramp + opts.settle
    return [
        sys.executable, "-m", "csms", "loadtest", f"ws://127.0.0.1:{cluster.port}/ocpp",
        "-n", str(opts.stations), "--rate", str(opts.rate),
        "--workers", str(opts.loadtest_workers),
        "--stations-per-address", str(opts.stations_per_address),
        "--versions", "1.6=60,2.0.1=30,2.1=10", "--charging", str(opts.charging),
        *(() if opts.start_stop else ("--no-start-stop",)),
        "--meter-interval", str(60 / opts.compress), "--session-length", "0",
        "--retry-wait-min", str(opts.retry_wait_min),
        "--retry-random-range", str(opts.retry_random_range),
        "--honour-retry-after" if opts.honour_retry_after else "--no-honour-retry-after",
        "--warmup", str(warmup), "--measure-for", str(opts.measure),
        # The most it runs: the benchmark ends it (SIGINT) once the storm is over.
        "--duration", str(warmup + opts.measure + max(opts.recover, 30)),
        "--progress-interval", "2", "--json", str(out),
    ]  # fmt: skip


@contextlib.contextmanager
def _backing_services(workers: int) -> Iterator[tuple[str, str, int, int, int]]:
    """PostgreSQL (durable) and NATS: (database URL, NATS URL, their ports, NATS monitoring)."""
    # 15 pooled connections per worker (SQLAlchemy's 5 + 10 overflow), twice over while a
    # restart's new workers start before PostgreSQL has seen the old ones' connections close.
    connections = max(100, 2 * 15 * workers + 20)
    with (
        running_postgres(durable=True, max_connections=connections, statements=True) as pg,
        running_nats() as nats_server,
    ):
        name = asyncio.run(pg.create_database())
        asyncio.run(_create_statements_view(pg.url(name)))
        yield pg.url(name), nats_server.url, pg.port, nats_server.port, nats_server.monitor_port


async def _create_statements_view(url: str) -> None:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    finally:
        await conn.close()


class Profiler:
    """py-spy on one worker for the measured window (collapsed stacks, then a summary)."""

    def __init__(self, out: Path | None) -> None:
        self.out = out
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, cluster: Cluster, seconds: float) -> None:
        workers = [
            p for p in _tree(cluster.root)[1:] if "resource_tracker" not in " ".join(p.cmdline())
        ]
        if self.out is None or not workers:
            return
        spy = Path(sys.executable).with_name("py-spy")
        argv = [
            str(spy), "record", "--pid", str(workers[0].pid), "--rate", "200", "--nonblocking",
            "--format", "raw", "--duration", str(round(seconds)), "-o", str(self.out),
        ]  # fmt: skip
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def finish(self) -> dict[str, Any] | None:
        if self.proc is None or self.out is None:
            return None
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if not self.out.exists():
            return None
        text, summary = summarize(self.out.read_text())
        self.out.with_suffix(self.out.suffix + ".txt").write_text(text)
        return summary


def run(opts: argparse.Namespace, work: Path) -> dict[str, Any]:
    """The whole benchmark; the figures as one JSON-ready dict."""
    bench: dict[str, Any] = {"options": vars(opts) | {"json": str(opts.json)}}
    profiler = Profiler(opts.profile)
    with _backing_services(opts.workers) as (db_url, nats_url, pg_port, nats_port, monitor):
        cluster = Cluster(opts, db_url, nats_url, work)
        loadtest: dict[str, psutil.Process | None] = {"root": None}
        groups: dict[str, Callable[[], psutil.Process | None]] = {
            "csms": lambda: cluster.root,
            "loadtest": lambda: loadtest["root"],
            "postgres": lambda: _find("postgres", f"port={pg_port}"),
            "nats": lambda: _find("nats-server", str(nats_port)),
        }
        cluster.start()
        time.sleep(3)
        bench["worker_rss_mib_idle"] = round(cluster.worker_rss_mib(), 1)
        dumps_idle = cluster.memdump_workers()
        sampler = Sampler(groups, opts.sample)
        sampler.start()
        out = work / "loadtest.json"
        argv = _loadtest_argv(opts, cluster, out)
        bench["serve_command"] = cluster.argv
        bench["loadtest_command"] = argv
        sys.stdout.write("$ " + " ".join(cluster.argv) + "\n$ " + " ".join(argv) + "\n")
        sys.stdout.flush()
        proc = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True)
        loadtest["root"] = psutil.Process(proc.pid)
        assert proc.stderr is not None
        window_end = opts.stations / opts.rate + opts.settle + opts.measure
        marks: dict[str, float] = {"loadtest_started": time.time()}
        pg_before: dict[str, Any] | None = None
        nats_before: dict[str, Any] | None = None
        varz_before: dict[str, int] = {}
        try:
            for line in proc.stderr:
                sys.stderr.write(line)
                match = _PROGRESS.search(line)
                if not match:
                    continue
                elapsed, accepted = float(match.group(1)), int(match.group(3))
                if "all_accepted" not in marks and accepted >= opts.stations:
                    marks["all_accepted"] = time.time()
                if pg_before is None and elapsed >= window_end - opts.measure:
                    marks["window_start"] = time.time()
                    pg_before = asyncio.run(_pg_rows(db_url))
                    nats_before = asyncio.run(_nats_figures(nats_url))
                    varz_before = _varz(monitor)
                    profiler.start(cluster, opts.measure)
                if "after_storm_presence_claims" in bench and proc.poll() is None:
                    proc.send_signal(signal.SIGINT)  # recovered and counted: end the run now
                    continue
                if "restarted" in marks:
                    _after_restart(
                        marks,
                        bench,
                        accepted,
                        stations=opts.stations,
                        cluster=cluster,
                        nats_url=nats_url,
                    )
                    continue
                if elapsed < window_end:
                    continue
                # The measured window is over: read the steady figures, then the storm.
                bench["errors_before_restart"] = int(match.group(4))
                bench["timeouts_before_restart"] = int(match.group(5))
                marks["window_end"] = time.time()
                seconds = marks["window_end"] - marks["window_start"]
                assert pg_before is not None and nats_before is not None
                bench["pg_write_rates"] = _rates(pg_before, asyncio.run(_pg_rows(db_url)), seconds)
                nats_after = asyncio.run(_nats_figures(nats_url))
                bench["nats_kv_writes_per_s"] = {
                    b: round((nats_after["kv_last_seq"][b] - s) / seconds, 1)
                    for b, s in nats_before["kv_last_seq"].items()
                }
                varz_after = _varz(monitor)
                bench["nats_msgs_per_s"] = {
                    k: round((varz_after[k] - v) / seconds, 1)
                    for k, v in varz_before.items()
                    if k in varz_after
                }
                bench["steady_accepted"] = accepted
                bench["steady_presence_claims"] = nats_after["claims"]
                bench["steady_api_online"] = cluster.online()
                bench["worker_rss_mib_steady"] = round(cluster.worker_rss_mib(), 1)
                if dumps_idle:
                    bench["memory_attribution"] = attribute(
                        dumps_idle, cluster.memdump_workers(), opts.stations
                    )
                if opts.recover <= 0 or not opts.storm:  # steady state only: no storm
                    proc.send_signal(signal.SIGINT)
                    for rest in proc.stderr:
                        sys.stderr.write(rest)
                    break
                bench["supervisor_stop_s"] = cluster.stop()
                began = time.time()
                marks["restarted"] = cluster.start()
                bench["supervisor_start_s"] = round(marks["restarted"] - began, 1)
                sys.stdout.write(f"csms restarted, all {opts.workers} workers listen\n")
                sys.stdout.flush()
            proc.wait()
            marks["loadtest_ended"] = time.time()
        finally:
            if proc.poll() is None:
                proc.kill()
            sampler.stop()
            bench["profile"] = profiler.finish()
            cluster.stop()
        result: dict[str, Any] = json.loads(out.read_text())
    bench["marks"] = marks
    if "worker_rss_mib_steady" in bench:
        growth = bench["worker_rss_mib_steady"] - bench["worker_rss_mib_idle"]
        bench["kib_per_station"] = round(growth * 1024 / opts.stations, 2)
        bench["kib_per_station_all_in"] = round(
            bench["worker_rss_mib_steady"] * 1024 / opts.stations, 2
        )
    bench.update(_phases(result, marks, sampler, opts))
    log = cluster.log.read_text(errors="replace")
    bench["serve_log_tail"] = log.splitlines()[-30:]
    bench["serve_log_counts"] = {
        "worker killed at stop": log.count("did not stop in time"),
        "too many PostgreSQL clients": log.count("too many clients"),
        "handshake deadline": log.count("not finished within"),
        "second connection refused": log.count("second connection for"),
    }
    if opts.json:
        opts.json.with_suffix(".serve.log").write_text(log)
    return {"benchmark": bench, "loadtest": result, "samples": sampler.samples}


def _after_restart(
    marks: dict[str, float],
    bench: dict[str, Any],
    accepted: int,
    *,
    stations: int,
    cluster: Cluster,
    nats_url: str,
) -> None:
    """During the storm: once the fleet is whole again (and 5 s later, so the presence writes
    have landed), read the API's online count and the KV claims."""
    if accepted < stations:
        marks.setdefault("storm_dropped", time.time())
    elif "storm_dropped" in marks and "storm_recovered" not in marks:
        marks["storm_recovered"] = time.time()
    elif (
        "storm_recovered" in marks
        and "after_storm_presence_claims" not in bench
        and time.time() - marks["storm_recovered"] >= 5.0
    ):
        bench["after_storm_presence_claims"] = asyncio.run(_nats_figures(nats_url))["claims"]
        bench["after_storm_api_online"] = cluster.online()


def _pymalloc_free(dump: dict[str, Any]) -> float:
    """Bytes pymalloc holds but does not use: free blocks in used pools, and empty pools."""
    stats = dump.get("pymalloc", {})
    return float(stats.get("available_blocks", 0) + stats.get("unused_pools", 0) * 16_384)


def attribute(
    before: list[dict[str, Any]], after: list[dict[str, Any]], stations: int
) -> dict[str, Any]:
    """Per station, summed over the workers: RSS growth, what tracemalloc traced (by line, the
    largest), the rest (allocator, C buffers: websockets/uvloop, asyncpg, nats), free bytes
    glibc holds, and the gc-tracked objects by type."""
    pairs = [(b, a) for b in before for a in after if a["pid"] == b["pid"]]

    def per(key: Callable[[dict[str, Any]], float]) -> float:
        return sum(key(a) - key(b) for b, a in pairs) / stations

    lines: dict[str, float] = {}
    types: dict[str, float] = {}
    for b, a in pairs:
        for line, (size, _count) in a.get("by_line", {}).items():
            lines[line] = lines.get(line, 0) + size - b.get("by_line", {}).get(line, [0, 0])[0]
        for name, count in a["gc_types"].items():
            types[name] = types.get(name, 0) + count - b["gc_types"].get(name, 0)
    rss = per(lambda d: d["rss"])
    trimmed = per(lambda d: d.get("rss_after_trim", d["rss"]))
    traced = per(lambda d: d.get("traced", 0))
    overhead = per(lambda d: d.get("tracemalloc_overhead", 0))
    top = sorted(lines.items(), key=lambda kv: -kv[1])[:40]
    return {
        "workers": len(pairs),
        "rss_bytes_per_station": round(rss),
        "rss_after_malloc_trim_per_station": round(trimmed),
        "traced_bytes_per_station": round(traced),
        "tracemalloc_overhead_per_station": round(overhead),
        "untraced_bytes_per_station": round(rss - traced - overhead),
        "malloc_free_bytes_per_station": round(per(lambda d: d["mallinfo2"].get("fordblks", 0))),
        "malloc_mmapped_bytes_per_station": round(per(lambda d: d["mallinfo2"].get("hblkhd", 0))),
        "pymalloc_live_blocks_per_station": round(
            per(lambda d: d.get("pymalloc", {}).get("allocated_blocks", 0))
        ),
        "pymalloc_free_per_station": round(per(_pymalloc_free)),
        "gc_objects_per_station": round(per(lambda d: d["gc_objects"]), 1),
        "gc_types_per_station": {
            k: round(v / stations, 2)
            for k, v in sorted(types.items(), key=lambda kv: -kv[1])
            if v >= stations / 10
        },
        "traced_by_line_per_station": {k: round(v / stations, 1) for k, v in top},
    }


def _phases(
    result: dict[str, Any], marks: dict[str, float], sampler: Sampler, opts: argparse.Namespace
) -> dict[str, Any]:
    """The ramp, steady and storm figures from the loadtest result and the samples."""
    start = result["start_wall"]
    out: dict[str, Any] = {}
    all_accepted = result["boot"]["all_accepted_after_s"]
    out["ramp"] = {
        "all_accepted_after_s": all_accepted,
        "planned_s": round(opts.stations / opts.rate, 1),
        "cpu": sampler.between(start, start + (all_accepted or 0)),
    }
    if "window_start" in marks and "window_end" in marks:
        cpu = sampler.between(marks["window_start"], marks["window_end"])
        out["steady"] = {"cpu": cpu, "per_unit": _per_unit(cpu, result, opts.stations)}
    out["errors_by_kind"] = result["errors"]
    out["locked_out"] = sum(
        n for kind, n in result["errors"].items() if kind.endswith(("http_429", "http_403"))
    )
    out["refused_503"] = result["errors"].get("connect:http_503", 0)
    # The load generator's side of a storm: attempts, Retry-After waits honoured, transaction
    # CALLs a lost connection left unanswered and sent again (or lost at the end).
    out["connection_attempts"] = result["connections"]["attempts"]
    out["retry_after"] = result.get("retry_after")
    out["resent"] = result.get("resent")
    out["lost"] = result.get("lost")
    episodes = result["episodes"]
    if "restarted" in marks and episodes:
        end = episodes[0]["end_s"]
        out["storm"] = {
            "all_accepted_after_restart_s": (
                None if end is None else round(start + end - marks["restarted"], 1)
            ),
            "outage_s": episodes[0]["seconds"],
            "cpu": sampler.between(
                marks["restarted"], start + end if end is not None else marks["loadtest_ended"]
            ),
        }
    return out


def _per_unit(cpu: dict[str, Any], result: dict[str, Any], stations: int) -> dict[str, Any]:
    """Each group's CPU of the steady window per station-second and per CALL (µs)."""
    calls = float(result.get("calls_per_s") or 0.0)
    out: dict[str, Any] = {"calls_per_s": calls}
    for group, figures in cpu.items():
        if not isinstance(figures, dict):
            continue
        cores = figures["cores"]
        out[group] = {
            "us_per_station_s": round(cores * 1e6 / stations, 2),
            "us_per_call": round(cores * 1e6 / calls, 1) if calls else None,
        }
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--stations", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=7, help="csms serve --workers")
    parser.add_argument("--loadtest-workers", type=int, default=7)
    parser.add_argument("--stations-per-address", type=int, default=1_000)
    parser.add_argument("--rate", type=float, default=300.0, help="new stations per second")
    parser.add_argument("--compress", type=float, default=1.0, help="time compression")
    parser.add_argument("--settle", type=float, default=30.0, help="after the ramp (s)")
    parser.add_argument("--measure", type=float, default=120.0, help="steady window (s)")
    parser.add_argument(
        "--recover", type=float, default=180.0, help="storm: the most it may take (s); 0: no storm"
    )
    parser.add_argument(
        "--charging", type=float, default=0.1, help="share of stations charging (0: none)"
    )
    parser.add_argument(
        "--profile", type=Path, help="py-spy one worker for the measured window (collapsed)"
    )
    parser.add_argument("--retry-wait-min", type=float, default=1.0)
    parser.add_argument("--retry-random-range", type=float, default=2.0)
    parser.add_argument(
        "--honour-retry-after",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="stations wait a 503's Retry-After (csms loadtest's default); off: the back-off",
    )
    parser.add_argument(
        "--start-stop",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="1.6 charging stations start a transaction first, as chargers do; off (the runs "
        "before 2026-12-07 04:10 UTC): their MeterValues name a transaction csms never issued, "
        "each kept as an unmatched message, a slower path than a transaction's meter values",
    )
    parser.add_argument("--sample", type=float, default=2.0, help="CPU/RSS sampling period (s)")
    parser.add_argument(
        "--server-arg", action="append", default=[], help="extra csms serve argument (repeat)"
    )
    parser.add_argument(
        "--storm",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="after the steady window, restart csms and time the reconnect storm (off: as "
        "--recover 0)",
    )
    parser.add_argument(
        "--tracemalloc",
        choices=("trace", "plain", "trim"),
        help="per-station memory attribution in the JSON (benchmarks/memdump): trace = workers "
        "under tracemalloc; plain = RSS, malloc and gc figures only; trim = plain, and the RSS "
        "after malloc_trim(0) at the end",
    )
    parser.add_argument("--json", type=Path)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="csms-cluster-") as tmp:
        result = run(opts, Path(tmp))
    text = json.dumps(result, indent=1, default=str)
    if opts.json:
        opts.json.write_text(text + "\n")
    sys.stdout.write(json.dumps(result["benchmark"], indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
