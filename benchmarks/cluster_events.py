"""CPU per event of the cluster's event path (task s13_steady): one node's ClusterBus publishes,
every node receives over a real nats-server.

``--nodes`` buses in one process, each on its own NATS connection subscribed to
``csms.events`` as a node is; node 0 publishes ``--events`` events in bursts of ``--burst`` (the
events of one commit batch), the others receive them; the figure is this process's CPU time per
event until every node has every event, NATS server excluded (its CPU is given apart). Compare
two builds by running the same command against each (``PYTHONPATH=<other tree>/src``)::

    .venv/bin/python benchmarks/cluster_events.py --nodes 7 --events 20000 --burst 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

import psutil

import nats
from csms.cluster import events as cluster_events
from csms.cluster.events import EVENTS_SUBJECT, ClusterBus
from csms.events import InProcessBus

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.nats import running_nats


class _Publisher:
    def __init__(self, nc: nats.NATS) -> None:
        self._nc = nc

    async def publish(self, subject: str, payload: bytes) -> None:
        await self._nc.publish(subject, payload)


async def _run(url: str, opts: argparse.Namespace) -> dict[str, float]:
    batching = hasattr(cluster_events, "MAX_BATCH")  # this build batches (and uses no_echo)
    conns = [await nats.connect(url, no_echo=batching) for _ in range(opts.nodes)]
    buses = [ClusterBus(f"n{i}", InProcessBus(), InProcessBus()) for i in range(opts.nodes)]
    for nc, bus in zip(conns, buses, strict=True):

        async def on_event(msg: nats.aio.msg.Msg, bus: ClusterBus = bus) -> None:
            bus.received(msg.data)

        await nc.subscribe(EVENTS_SUBJECT, cb=on_event)
    for nc in conns:
        await nc.flush()
    sender = buses[0]
    sender.start(_Publisher(conns[0]))
    data = {
        "transaction_id": "T-1",
        "evse_id": 1,
        "trigger_reason": "MeterValues",
        "energy_wh": 1.5,
    }
    targets = [bus.last_id + opts.events for bus in buses]
    began_cpu, began = time.process_time(), time.perf_counter()
    for n in range(0, opts.events, opts.burst):
        for k in range(min(opts.burst, opts.events - n)):
            sender.publish("transaction.updated", f"CP{n + k}", data)
        await asyncio.sleep(0)  # the burst's loop turn ends: the sender task wakes
        if n % (opts.burst * 50) == 0:
            await asyncio.sleep(0.001)
    while any(bus.last_id < t for bus, t in zip(buses, targets, strict=True)):  # noqa: ASYNC110
        await asyncio.sleep(0.005)
    cpu, wall = time.process_time() - began_cpu, time.perf_counter() - began
    await sender.aclose()
    for nc in conns:
        await nc.close()
    return {
        "batching": batching,
        "cpu_us_per_event": round(cpu * 1e6 / opts.events, 2),
        "wall_s": round(wall, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=7)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--burst", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    opts = parser.parse_args()
    with running_nats() as server:
        proc = next(
            p
            for p in psutil.process_iter(["name", "cmdline"])
            if p.info["name"] == "nats-server" and str(server.port) in " ".join(p.info["cmdline"])
        )
        results = []
        for _ in range(opts.repeat):
            before = proc.cpu_times()
            result = asyncio.run(_run(server.url, opts))
            after = proc.cpu_times()
            nats_cpu = (after.user + after.system) - (before.user + before.system)
            result["nats_server_cpu_us_per_event"] = round(nats_cpu * 1e6 / opts.events, 2)
            results.append(result)
    sys.stdout.write(json.dumps({"options": vars(opts), "runs": results}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
