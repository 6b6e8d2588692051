"""A minimal OCPP-J answering server: the cheapest peer that lets a load generator boot and run.

Every CALL gets a CALLRESULT at once (BootNotification Accepted with a 300 s interval,
StartTransaction a transaction id, anything else ``{}``); nothing is stored or validated. Used to
measure the load generator's own CPU (benchmarks/loadgen_cpu.py) where benchmarks/echo_server.py
cannot serve (an echoed BootNotification is no Accepted one). Pings every 60 s, like csms.
``--accept-rate R`` admits at most R handshakes per second (a token bucket) and answers the
others ``503`` with ``Retry-After`` S..2S s (``--retry-after S``), as csms's handshake admission
does when saturated: a storm's refused attempts, without csms's own cost.

Usage::

    python benchmarks/ocpp_answer_server.py --port 9000
"""

from __future__ import annotations

import argparse
import itertools
import random
import resource
import time
from datetime import UTC, datetime
from typing import Any

import orjson
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

SUBPROTOCOLS = [Subprotocol(p) for p in ("ocpp1.6", "ocpp2.0.1", "ocpp2.1", "ocpp1.5")]


def _result(action: str, tx_ids: itertools.count[int]) -> dict[str, Any]:
    if action == "BootNotification":
        now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        return {"status": "Accepted", "currentTime": now, "interval": 300}
    if action == "StartTransaction":
        return {"transactionId": next(tx_ids), "idTagInfo": {"status": "Accepted"}}
    if action in ("Authorize", "StopTransaction"):
        return {"idTagInfo": {"status": "Accepted"}}
    if action == "Heartbeat":
        return {"currentTime": datetime.now(UTC).isoformat(timespec="seconds")}
    return {}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--ping-interval", type=float, default=60.0)
    parser.add_argument("--accept-rate", type=float, default=0.0, help="0: admit all")
    parser.add_argument("--retry-after", type=int, default=5)
    opts = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    tx_ids = itertools.count(1)
    rng = random.Random(1)
    bucket = {"tokens": opts.accept_rate, "at": time.monotonic()}

    def admit(_ws: ServerConnection, _request: Request) -> Response | None:
        if opts.accept_rate <= 0:
            return None
        now = time.monotonic()
        tokens = min(opts.accept_rate, bucket["tokens"] + (now - bucket["at"]) * opts.accept_rate)
        bucket["at"] = now
        if tokens >= 1.0:
            bucket["tokens"] = tokens - 1.0
            return None
        bucket["tokens"] = tokens
        wait = opts.retry_after + int(rng.random() * (opts.retry_after + 1))
        headers = Headers([("Retry-After", str(wait)), ("Content-Length", "5")])
        return Response(503, "Service Unavailable", headers, b"busy\n")

    async def answer(ws: ServerConnection) -> None:
        try:
            async for message in ws:
                frame = orjson.loads(message)
                if frame[0] == 2:
                    await ws.send(orjson.dumps([3, frame[1], _result(frame[2], tx_ids)]).decode())
        except ConnectionClosed:
            return

    async with serve(
        answer,
        opts.host,
        opts.port,
        subprotocols=SUBPROTOCOLS,
        process_request=admit,
        compression=None,
        ping_interval=opts.ping_interval,
        backlog=4096,
    ) as server:
        await server.serve_forever()


if __name__ == "__main__":
    import uvloop

    uvloop.run(main())
