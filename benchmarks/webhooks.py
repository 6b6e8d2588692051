"""Webhook throughput: signed deliveries per second to a receiver on loopback.

The server process runs a real csms (SQLite in a temporary directory by default, or
``--database-url``) with one webhook subscription; it publishes ``--events`` events at once and
measures the time until the receiver (a raw ASGI app on uvicorn in a second process, answering
204) has had them all and csms has stored every attempt. Each event goes through the whole path:
intake, outbox insert, due query, HMAC signature, HTTP POST, attempt stored. The server is pinned
to CPU 0 and the receiver to CPU 1 where the machine has them.

    .venv/bin/python benchmarks/webhooks.py                    # 5,000 events, SQLite
    .venv/bin/python benchmarks/webhooks.py --postgres         # a throwaway durable PostgreSQL
    .venv/bin/python benchmarks/webhooks.py --database-url postgresql+asyncpg://user@host/db
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from csms.config import ApiSettings, DatabaseSettings, EventsSettings, ServerSettings, Settings
from csms.container import Csms

TOKEN = "benchmark-api-token-0123456789abcdef"
REPO_ROOT = str(Path(__file__).resolve().parent.parent)


def _pin(cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and cpu < (os.cpu_count() or 1):
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, {cpu})


def _receiver_main(port: Any, count: Any) -> None:
    """Answer every POST with 204 and count it."""
    _pin(1)
    import socket

    import uvicorn

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        with count.get_lock():
            count.value += 1
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port.value = sock.getsockname()[1]
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])


async def main(args: argparse.Namespace) -> dict[str, Any]:
    _pin(0)
    ctx = multiprocessing.get_context("spawn")
    port = ctx.Value("i", 0)
    count = ctx.Value("l", 0)
    receiver = ctx.Process(target=_receiver_main, args=(port, count), daemon=True)
    receiver.start()
    try:
        while port.value == 0:  # noqa: ASYNC110 - a shared value, no event to await
            await asyncio.sleep(0.05)
        with tempfile.TemporaryDirectory() as tmp:
            url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
            settings = Settings(
                server=dataclasses.replace(ServerSettings(), port=0),
                database=DatabaseSettings(url=url),
                api=dataclasses.replace(ApiSettings(), port=0, token=TOKEN),
                events=dataclasses.replace(
                    EventsSettings(), replay_size=args.events + 10, queue_size=args.events + 10
                ),
            )
            settings = dataclasses.replace(
                settings, files=dataclasses.replace(settings.files, data_dir=tmp)
            )
            csms = Csms(settings)
            await csms.start()
            try:
                async with httpx.AsyncClient(
                    base_url=f"http://127.0.0.1:{csms.api_port}",
                    headers={"Authorization": f"Bearer {TOKEN}"},
                ) as api:
                    made = await api.post(
                        "/api/v1/webhooks", json={"url": f"http://127.0.0.1:{port.value}/hook"}
                    )
                    made.raise_for_status()
                assert csms.webhooks is not None
                started = time.monotonic()
                for n in range(args.events):
                    csms.events.publish("meter.values", f"BENCH-{n % 100}", {"n": n})
                deadline = started + args.timeout
                while csms.webhooks.delivered < args.events:
                    if time.monotonic() > deadline:
                        break
                    await asyncio.sleep(0.01)
                elapsed = time.monotonic() - started
                delivered = csms.webhooks.delivered
            finally:
                await csms.close()
    finally:
        receiver.terminate()
        receiver.join(5)
    return {
        "database": "postgresql" if args.database_url else "sqlite",
        "events": args.events,
        "delivered": delivered,
        "received": count.value,
        "seconds": elapsed,
        "deliveries_per_s": delivered / elapsed,
    }


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="start a throwaway PostgreSQL (tests/postgres.py, default durability) and use it",
    )
    parser.add_argument("--timeout", type=float, default=300.0)
    return parser.parse_args()


async def on_postgres(args: argparse.Namespace) -> dict[str, Any]:
    sys.path.insert(0, REPO_ROOT)
    from tests.postgres import running_postgres

    with running_postgres(durable=True) as server:
        async with server.database() as url:
            args.database_url = url
            return await main(args)


if __name__ == "__main__":
    arguments = parse()
    result = asyncio.run(on_postgres(arguments) if arguments.postgres else main(arguments))
    for key, value in result.items():
        print(f"{key:>18}: {round(value, 1) if isinstance(value, float) else value}")
