"""Raw WebSocket echo server: the transport ceiling for the benchmark.

python-websockets on uvloop, ``compression=None``; every text frame is sent back unchanged.
It negotiates the same subprotocols as a CSMS so that the load generator's handshake is
identical; the load generator accepts the echoed CALL as the reply to its CALL (same message
id). What remains per message is the cost of the WebSocket layer alone.

Usage::

    python benchmarks/echo_server.py --host 127.0.0.1 --port 9000
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

SUBPROTOCOLS = [Subprotocol("ocpp1.6"), Subprotocol("ocpp2.0.1")]


def raise_nofile_limit() -> None:
    """Raise RLIMIT_NOFILE's soft limit to the hard limit (if finite)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def echo(websocket: ServerConnection) -> None:
    """Send every received message back until the peer disconnects."""
    try:
        async for message in websocket:
            await websocket.send(message)
    except ConnectionClosed:
        return


async def serve_forever(host: str, port: int) -> None:
    """Serve the echo handler on ``host:port`` until the process is terminated."""
    async with serve(echo, host, port, compression=None, subprotocols=SUBPROTOCOLS) as server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run the echo server on uvloop (asyncio with ``--no-uvloop``)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--no-uvloop", action="store_true", help="use the asyncio event loop")
    args = parser.parse_args(argv)
    raise_nofile_limit()
    if args.no_uvloop:
        asyncio.run(serve_forever(args.host, args.port))
    else:
        import uvloop

        uvloop.run(serve_forever(args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
