"""CPU per small batch of the group committer on PostgreSQL (task s13_steady): one write per
batch, back to back, as the steady state's small batches are; this process's CPU and
PostgreSQL's per batch. Compare builds with ``PYTHONPATH=<other tree>/src``::

    .venv/bin/python benchmarks/committer_batches.py --batches 2000 --repeat 3
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.postgres import running_postgres
from tests.unit.storage.builders import a_station, a_status, at

from csms.storage import open_store, upgrade


def _postgres_cpu(port: int) -> float:
    total = 0.0
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or ())
        if proc.info["name"] == "postgres" and f"port={port}" in cmdline:
            for p in [proc, *proc.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    times = p.cpu_times()
                    total += times.user + times.system
    return total


async def _run(url: str, port: int, batches: int) -> dict[str, float]:
    store = await open_store(url)
    try:
        await store.stations.add(a_station("CS1"))
        await asyncio.sleep(0.2)
        pg0, cpu0 = _postgres_cpu(port), time.process_time()
        for i in range(batches):
            await store.stations.record_status(a_status(connector_id=i % 8 + 1, timestamp=at(i)))
        cpu, pg = time.process_time() - cpu0, _postgres_cpu(port) - pg0
    finally:
        await store.aclose()
    return {"csms_us_per_batch": round(cpu * 1e6 / batches, 1),
            "postgres_us_per_batch": round(pg * 1e6 / batches, 1)}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    opts = parser.parse_args()
    runs = []
    with running_postgres(durable=True) as pg:
        for _ in range(opts.repeat):
            name = asyncio.run(pg.create_database())
            asyncio.run(upgrade(pg.url(name)))
            runs.append(asyncio.run(_run(pg.url(name), pg.port, opts.batches)))
    sys.stdout.write(json.dumps({"options": vars(opts), "runs": runs}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
