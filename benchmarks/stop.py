"""How long `csms serve` takes to stop with N stations connected (SIGTERM → exit, issue 11).

Starts a throwaway PostgreSQL (``tests/postgres.py``; durable, as in production; ``--database
sqlite`` for a SQLite file) and optionally nats-server (``--nats``: the process is a cluster node,
so its claims are released too), runs one `csms serve` (no API, unknown stations accepted),
connects ``-n`` stations (idle OCPP 1.6 sessions; ``--silent`` of them never read, so they never
answer the close frame), waits until the database shows them online, sends SIGTERM and prints the
seconds until the process exited, its CPU seconds during the stop, and what the database shows
afterwards (stations still online, disconnect rows written)::

    .venv/bin/python benchmarks/stop.py -n 5000
    .venv/bin/python benchmarks/stop.py -n 10000 --nats --silent 0.05 --json /tmp/stop.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from tests.integration.rawws import silent_client  # noqa: E402
from tests.nats import running_nats  # noqa: E402
from tests.postgres import running_postgres  # noqa: E402

from benchmarks.scale import free_port  # noqa: E402


async def _counts(url: str) -> tuple[int, int]:
    """Stations online, and disconnect rows in the connection history."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            online = (
                await conn.execute(text("SELECT count(*) FROM stations WHERE online"))
            ).scalar()
            offline = (
                await conn.execute(text("SELECT count(*) FROM connection_events WHERE NOT online"))
            ).scalar()
        return int(online or 0), int(offline or 0)
    finally:
        await engine.dispose()


def _profiled() -> list[str]:
    """``-m cProfile -o FILE`` when STOP_PROFILE=FILE is set (where the stop's CPU goes)."""
    out = os.environ.get("STOP_PROFILE")
    return ["-m", "cProfile", "-o", out] if out else []


@contextlib.asynccontextmanager
async def _serve(url: str, port: int, log: Path, *extra: str) -> AsyncIterator[psutil.Process]:
    argv = [
        "serve", "--host", "127.0.0.1", "--port", str(port), "--no-api", "--database-url", url,
        "--security-profile", "0", "--unknown-stations", "accept", *extra,
    ]  # fmt: skip
    with log.open("ab") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            *_profiled(),
            "-m",
            "csms",
            *argv,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
        )
    try:
        for _ in range(600):
            if proc.returncode is not None:
                raise RuntimeError(f"csms serve exited; see {log}")
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                break
            await asyncio.sleep(0.1)
        yield psutil.Process(proc.pid)
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


async def _station(port: int, sid: str) -> ClientConnection:
    return await connect(
        f"ws://127.0.0.1:{port}/ocpp/{sid}",
        subprotocols=["ocpp1.6"],  # type: ignore[list-item]
        ping_interval=None,
        open_timeout=120,
        close_timeout=30,
        max_queue=4,
    )


async def run(args: argparse.Namespace) -> dict[str, Any]:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    stack = contextlib.ExitStack()
    with stack:
        if args.database == "postgres":
            pg = stack.enter_context(running_postgres(durable=True))
            name = await pg.create_database()
            url = pg.url(name)
        else:
            url = f"sqlite+aiosqlite:///{tempfile.mkdtemp(prefix='csms-stop-')}/csms.db"
        extra: list[str] = [
            "--ping-interval",
            "300",
            "--registration-rate",
            "0",
            "--log-level",
            args.log_level,
        ]
        if args.nats:
            nats = stack.enter_context(running_nats())
            extra += ["--cluster-url", nats.url]
        port = free_port()
        log = Path(tempfile.mkdtemp(prefix="csms-stop-log-")) / "serve.log"
        silent = int(args.n * args.silent)
        async with _serve(url, port, log, *extra) as proc:
            started = time.monotonic()
            gate = asyncio.Semaphore(args.concurrency)

            async def one(i: int) -> Any:
                for _ in range(100):  # 503 (shed) or 429: back off and retry, as a station does
                    async with gate:
                        if i < silent:
                            client = await silent_client(
                                "127.0.0.1", port, f"/ocpp/STOP{i:06d}", subprotocol="ocpp1.6"
                            )
                            if b" 101 " in client[2].split(b"\r\n", 1)[0]:
                                return client
                            client[1].close()
                        else:
                            with contextlib.suppress(InvalidStatus):
                                return await _station(port, f"STOP{i:06d}")
                    await asyncio.sleep(1.0)
                raise RuntimeError(f"station {i} could not connect")

            clients = await asyncio.gather(*(one(i) for i in range(args.n)))
            connected = time.monotonic() - started
            for _ in range(600):
                online, _ = await _counts(url)
                if online >= args.n:
                    break
                await asyncio.sleep(0.5)
            cpu_before = sum(proc.cpu_times()[:2])
            cpu = 0.0
            t0 = time.monotonic()
            now = time.time()
            sigterm_at = time.strftime("%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}"
            proc.send_signal(signal.SIGTERM)
            while proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                with contextlib.suppress(psutil.Error):
                    cpu = sum(proc.cpu_times()[:2]) - cpu_before
                await asyncio.sleep(0.02)
            stop_s = time.monotonic() - t0
        online_after, disconnects = await _counts(url)
        for client in clients:
            if isinstance(client, ClientConnection):
                client.transport.abort()
            else:
                client[1].close()
    return {
        "stations": args.n,
        "silent": silent,
        "database": args.database,
        "nats": args.nats,
        "connect_s": round(connected, 1),
        "online_before": online,
        "sigterm_at": sigterm_at,
        "stop_s": round(stop_s, 2),
        "stop_cpu_s": round(cpu, 2),
        "online_after": online_after,
        "disconnect_rows": disconnects,
        "log": str(log),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=5000, help="stations (default 5000)")
    parser.add_argument("--database", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--nats", action="store_true", help="a cluster node (nats-server)")
    parser.add_argument(
        "--silent", type=float, default=0.0, help="share of stations that never read (0..1)"
    )
    parser.add_argument("--concurrency", type=int, default=200, help="handshakes at once")
    parser.add_argument("--log-level", default="WARNING", help="csms serve's (default WARNING)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    print(json.dumps(result, indent=2))
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
