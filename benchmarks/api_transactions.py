"""Transaction listing through the real HTTP API with 1,000,000 transactions stored.

For each backend (SQLite file, then a throwaway durable PostgreSQL from ``tests/postgres.py``):

1. migrate an empty database, then bulk-insert ``--transactions`` rows straight into the tables
   (half 1.6 in ``transactions_v16``, half 2.x in ``transactions``, interleaved in time, over
   ``--stations`` stations, 1 % still open): SQLite ``executemany`` in one transaction,
   PostgreSQL ``COPY``; then ``ANALYZE``;
2. start ``csms serve`` on that database (its own process) and time, one request at a time over
   one keep-alive connection, pages of 100 through ``GET /api/v1/transactions``:

   * ``first``: the newest 100;
   * ``deep``: a cursor 80 % to 100 % of the rows deep (a random position per request);
   * ``station``: the first page of a random station's transactions (``?station=``);
   * ``window``: a random one-day ``started_from``/``started_to`` window;
   * ``total``: the first page with ``total=true`` (a full count; informational).

Prints (and with ``--markdown`` writes) p50/p99 per kind::

    .venv/bin/python benchmarks/api_transactions.py --markdown /tmp/api_tx.md
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from tests.postgres import running_postgres  # noqa: E402

from csms.api.cursors import encode_transaction_cursor  # noqa: E402
from csms.domain.ledger import LedgerKey, LedgerVersion  # noqa: E402
from csms.storage import open_store  # noqa: E402
from csms.storage.types import sqlite_timestamp  # noqa: E402

TOKEN = "bench-api-token-0123456789abcdef"
STEP = timedelta(seconds=30)  # between two consecutive transactions' starts
DURATION = timedelta(minutes=45)
PAGE = 100


@dataclass(frozen=True, slots=True)
class Shape:
    """Where transaction ``i`` (0 = oldest) lives and when it started."""

    count: int
    stations: int
    base: datetime

    def started(self, i: int) -> datetime:
        return self.base + i * STEP

    def key(self, i: int) -> LedgerKey:
        version = LedgerVersion.V16 if i % 2 == 0 else LedgerVersion.V2
        return LedgerKey(self.started(i), version, i // 2 + 1)

    def station(self, i: int) -> str:
        return f"BENCH-{i % self.stations:04d}"


def _rows(shape: Shape, version: int, stamp: Any) -> Iterator[tuple[Any, ...]]:
    """The rows of one table (``version`` 0: 1.6, 1: 2.x), ``stamp`` converting timestamps."""
    for i in range(version, shape.count, 2):
        row_id = i // 2 + 1
        started = shape.started(i)
        is_open = (i // 2) % 100 == 0
        ended = None if is_open else stamp(started + DURATION)
        meter_start = (i * 7) % 1_000_000
        energy = 12_000 + i % 5_000
        station, evse, tag = shape.station(i), 1 + (i // shape.stations) % 2, f"TAG{i % 5000:05d}"
        if version == 0:
            yield (
                row_id, station, evse, 1, tag, tag.lower(), "Accepted", meter_start,
                stamp(started), ended, None if is_open else meter_start + energy,
                None if is_open else energy, None if is_open else "Local",
                None if is_open else "station", float(meter_start + energy), stamp(started),
                stamp(started), stamp(started + DURATION),
            )  # fmt: skip
        else:
            yield (
                row_id, station, f"TX-{row_id}", evse, 1, tag, 0, stamp(started), ended,
                None if is_open else "Local", None if is_open else "station", "Accepted",
                meter_start, stamp(started), meter_start + energy, stamp(started + DURATION),
                energy, "0..2" if is_open else "0..3", stamp(started + DURATION), 3,
            )  # fmt: skip


V16_COLUMNS = (
    "id", "station_id", "evse_id", "connector_id", "id_tag", "id_tag_key", "id_tag_status",
    "meter_start", "started_at", "ended_at", "meter_stop", "energy_wh", "stopped_reason",
    "closed_by", "register_wh", "register_at", "created_at", "updated_at",
)  # fmt: skip
V2_COLUMNS = (
    "id", "station_id", "transaction_id", "evse_id", "connector_id", "id_token", "id_token_seq_no",
    "started_at", "ended_at", "stopped_reason", "closed_by", "id_token_status", "meter_start_wh",
    "meter_start_at", "meter_stop_wh", "meter_stop_at", "energy_wh", "seq_nos", "updated_at",
    "last_seq_no",
)  # fmt: skip


def _station_rows(shape: Shape, stamp: Any) -> Iterator[tuple[Any, ...]]:
    for n in range(shape.stations):
        yield (f"BENCH-{n:04d}", "Accepted", True, False, False, stamp(shape.base))


STATION_COLUMNS = ("id", "registration_status", "accepted", "lenient", "online", "created_at")


def fill_sqlite(path: Path, shape: Shape) -> None:
    db = sqlite3.connect(path)
    try:
        db.execute("PRAGMA synchronous=OFF")
        with db:
            for table, columns, rows in (
                ("stations", STATION_COLUMNS, _station_rows(shape, sqlite_timestamp)),
                ("transactions_v16", V16_COLUMNS, _rows(shape, 0, sqlite_timestamp)),
                ("transactions", V2_COLUMNS, _rows(shape, 1, sqlite_timestamp)),
            ):
                marks = ",".join("?" * len(columns))
                db.executemany(
                    f"INSERT INTO {table} ({','.join(columns)}) VALUES ({marks})",
                    rows,
                )
        db.execute("ANALYZE")
    finally:
        db.close()


async def fill_postgres(url: str, shape: Shape) -> None:
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        for table, columns, rows in (
            ("stations", STATION_COLUMNS, _station_rows(shape, lambda t: t)),
            ("transactions_v16", V16_COLUMNS, _rows(shape, 0, lambda t: t)),
            ("transactions", V2_COLUMNS, _rows(shape, 1, lambda t: t)),
        ):
            await conn.copy_records_to_table(table, records=rows, columns=list(columns))
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_csms(url: str, data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    api_port = _free_port()
    env = {**os.environ, "CSMS_API_TOKEN": TOKEN}
    argv = [
        str(Path(sys.executable).parent / "csms"), "serve", "--port", str(_free_port()),
        "--api-port", str(api_port), "--database-url", url, "--data-dir", str(data_dir),
        "--log-level", "WARNING",
    ]  # fmt: skip
    process = subprocess.Popen(argv, env=env, start_new_session=True)
    return process, f"http://127.0.0.1:{api_port}"


async def wait_ready(base: str) -> None:
    async with httpx.AsyncClient(base_url=base) as client:
        for _ in range(600):
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("csms did not start")


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(base: str, shape: Shape, requests: int, seed: int) -> dict[str, list[float]]:
    rng = random.Random(seed)
    day = timedelta(days=1)

    def params(kind: str) -> dict[str, Any]:
        if kind == "deep":
            depth = rng.randint(shape.count * 4 // 5, shape.count - PAGE - 1)
            i = shape.count - 1 - depth
            return {"limit": PAGE, "cursor": encode_transaction_cursor(shape.key(i))}
        if kind == "station":
            return {"limit": PAGE, "station": f"BENCH-{rng.randrange(shape.stations):04d}"}
        if kind == "window":
            start = shape.started(rng.randrange(shape.count)) - day / 2
            return {
                "limit": PAGE,
                "started_from": start.isoformat(),
                "started_to": (start + day).isoformat(),
            }
        if kind == "total":
            return {"limit": PAGE, "total": "true"}
        return {"limit": PAGE}

    timings: dict[str, list[float]] = {}
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as client:
        for kind in ("first", "deep", "station", "window", "total"):
            count = requests if kind != "total" else max(10, requests // 20)
            samples: list[float] = []
            for n in range(count + 10):
                query = params(kind)
                t0 = time.perf_counter()
                response = await client.get("/api/v1/transactions", params=query)
                body = response.json()
                elapsed = time.perf_counter() - t0
                if response.status_code != 200 or len(body["items"]) != PAGE:
                    raise RuntimeError(f"{kind}: {response.status_code} {response.text[:300]}")
                if n >= 10:  # warm-up
                    samples.append(elapsed * 1000)
            timings[kind] = samples
    return timings


def _stop(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


async def run_backend(url: str, data_dir: Path, shape: Shape, args: argparse.Namespace) -> Any:
    store = await open_store(url)  # migrates
    await store.aclose()
    t0 = time.perf_counter()
    if url.startswith("sqlite"):
        await asyncio.to_thread(fill_sqlite, Path(url.split("///", 1)[1]), shape)
    else:
        await fill_postgres(url, shape)
    fill_s = time.perf_counter() - t0
    process, base = start_csms(url, data_dir)
    try:
        await wait_ready(base)
        timings = await measure(base, shape, args.requests, args.seed)
    finally:
        _stop(process)
    return fill_s, timings


def _table(name: str, fill_s: float, timings: dict[str, list[float]]) -> list[str]:
    lines = [f"| {name} | {kind} | {len(v)} | {statistics.median(v):.1f} | "
             f"{_quantile(v, 0.99):.1f} | {max(v):.1f} |" for kind, v in timings.items()]  # fmt: skip
    return [f"Filled in {fill_s:.0f} s.", "", *lines]


async def main_async(args: argparse.Namespace) -> str:
    shape = Shape(args.transactions, args.stations, datetime(2025, 1, 1, tzinfo=UTC))
    results: list[tuple[str, float, dict[str, list[float]]]] = []
    with tempfile.TemporaryDirectory(prefix="csms-api-bench-") as tmp:
        if "sqlite" in args.backends:
            url = f"sqlite+aiosqlite:///{tmp}/bench.db"
            fill_s, timings = await run_backend(url, Path(tmp) / "data-sqlite", shape, args)
            results.append(("SQLite", fill_s, timings))
        if "postgres" in args.backends:
            with running_postgres(durable=True) as server:
                admin = await asyncpg.connect(
                    host=server.host, port=server.port, user=server.user, database="postgres"
                )
                await admin.execute("CREATE DATABASE csms_api_bench")
                await admin.close()
                url = server.url("csms_api_bench")
                fill_s, timings = await run_backend(url, Path(tmp) / "data-pg", shape, args)
                results.append(("PostgreSQL", fill_s, timings))
    lines = [
        f"{args.transactions:,} transactions ({args.stations:,} stations), pages of {PAGE}, "
        f"{args.requests} requests per kind after 10 warm-up, one at a time; "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}.",
        "",
        "| backend | page | requests | p50 ms | p99 ms | max ms |",
        "|---|---|--:|--:|--:|--:|",
    ]
    fills = []
    for name, fill_s, timings in results:
        table = _table(name, fill_s, timings)
        fills.append(f"{name}: {table[0]}")
        lines += table[2:]
    lines += ["", *fills]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=1_000_000)
    parser.add_argument("--stations", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=300, help="per page kind")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--markdown", help="write the figures (a markdown table) here")
    args = parser.parse_args()
    text = asyncio.run(main_async(args))
    sys.stdout.write(text)
    if args.markdown:
        Path(args.markdown).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
