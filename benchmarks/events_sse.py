"""SSE delivery latency: N subscribers over HTTP on loopback while csms publishes R events/s.

The server process runs a real csms (SQLite in a temporary directory, the HTTP API with its
token) and a publisher task that publishes ``meter.values`` events at the given rate (in bursts
every 10 ms), each carrying its publication time. The subscribers run in a second process
(httpx streaming, ``GET /api/v1/events?type=meter.``) and compute, for every event received, the
delay from publication to arrival. The server is pinned to CPU 0 and the subscribers to CPU 1
where the machine has them.

    .venv/bin/python benchmarks/events_sse.py                      # 100 subscribers, 1,000/s, 10 s
    .venv/bin/python benchmarks/events_sse.py --subscribers 10 --duration 3    # quick look
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import multiprocessing
import os
import re
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from csms.config import ApiSettings, DatabaseSettings, EventsSettings, ServerSettings, Settings
from csms.container import Csms

TOKEN = "benchmark-api-token-0123456789abcdef"
STAMP = re.compile(rb'"t":([0-9.]+),"m":1')  # publication time of a measured event


def _pin(cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and cpu < (os.cpu_count() or 1):
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, {cpu})


async def _subscriber(
    client: httpx.AsyncClient, url: str, out: list[float], lost: list[int]
) -> None:
    async with client.stream("GET", url, params={"type": "meter."}) as response:
        response.raise_for_status()
        async for chunk in response.aiter_bytes():
            now = time.time()
            if b"events.lost" in chunk:
                lost[0] += 1
            out.extend(now - float(sent) for sent in STAMP.findall(chunk))
            if b'"end":true' in chunk:
                return


def _subscribers_main(url: str, count: int, results: Any, ready: Any) -> None:
    _pin(1)

    async def run() -> tuple[list[float], int]:
        latencies: list[float] = []
        lost = [0]
        limits = httpx.Limits(max_connections=count + 10, max_keepalive_connections=count + 10)
        async with httpx.AsyncClient(
            headers={"Authorization": f"Bearer {TOKEN}"}, timeout=None, limits=limits
        ) as client:
            tasks = [
                asyncio.create_task(_subscriber(client, url, latencies, lost)) for _ in range(count)
            ]
            ready.set()
            await asyncio.wait(tasks, timeout=600)
            for task in tasks:
                task.cancel()
        return latencies, lost[0]

    latencies, lost = asyncio.run(run())
    latencies.sort()
    results.put(
        {
            "received": len(latencies),
            "lost_markers": lost,
            "p50_ms": 1000 * statistics.median(latencies) if latencies else None,
            "p99_ms": 1000 * latencies[int(len(latencies) * 0.99) - 1] if latencies else None,
            "max_ms": 1000 * latencies[-1] if latencies else None,
        }
    )


async def _publish(csms: Csms, rate: int, seconds: float, measured: int) -> int:
    """Publish ``rate`` events/s for ``seconds``, every 10 ms as many as are due by then (a
    slow loop gets bigger bursts, not a lower rate); returns how many."""
    published = 0
    start = time.monotonic()
    while (elapsed := time.monotonic() - start) < seconds:
        for _ in range(int(elapsed * rate) + 1 - published):
            csms.events.publish(
                "meter.values",
                f"BENCH-{published % 100}",
                {"t": time.time(), "m": measured, "evse_id": 1, "energy_wh": published},
            )
            published += 1
        await asyncio.sleep(0.01)
    return published


async def main(args: argparse.Namespace) -> dict[str, Any]:
    _pin(0)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            server=dataclasses.replace(ServerSettings(), port=0),
            database=DatabaseSettings(url=f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"),
            api=dataclasses.replace(ApiSettings(), port=0, token=TOKEN),
            events=dataclasses.replace(
                EventsSettings(), max_streams=args.subscribers + 10, replay_size=100_000
            ),
        )
        settings = dataclasses.replace(
            settings, files=dataclasses.replace(settings.files, data_dir=tmp)
        )
        csms = Csms(settings)
        await csms.start()
        try:
            url = f"http://127.0.0.1:{csms.api_port}/api/v1/events"
            ctx = multiprocessing.get_context("spawn")
            results = ctx.Queue()
            ready = ctx.Event()
            proc = ctx.Process(
                target=_subscribers_main,
                args=(url, args.subscribers, results, ready),
            )
            proc.start()
            await asyncio.to_thread(ready.wait, 60)
            # Every stream is open (+ 1: the webhook intake).
            while csms.events.subscriber_count < args.subscribers + 1:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            await _publish(csms, args.rate, args.warmup, 0)
            me = psutil.Process()
            cpu_before = me.cpu_times()
            wall_before = time.time()
            published = await _publish(csms, args.rate, args.duration, 1)
            cpu_after = me.cpu_times()
            server_cpu = (
                cpu_after.user + cpu_after.system - cpu_before.user - cpu_before.system
            ) / (time.time() - wall_before)
            await asyncio.sleep(1.0)
            csms.events.publish("meter.values", None, {"end": True})
            summary: dict[str, Any] = await asyncio.to_thread(results.get, True, 60)
            await asyncio.to_thread(proc.join, 10)
        finally:
            await csms.close()
    expected = published * args.subscribers
    summary.update(
        subscribers=args.subscribers,
        rate=args.rate,
        duration_s=args.duration,
        published_measured=published,
        expected_in_window=expected,
        server_cpu_cores=round(server_cpu, 2),
    )
    return summary


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument("--rate", type=int, default=1000, help="events per second")
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=2.0)
    return parser.parse_args()


if __name__ == "__main__":
    result = asyncio.run(main(parse()))
    for key, value in result.items():
        print(f"{key:>20}: {round(value, 1) if isinstance(value, float) else value}")
