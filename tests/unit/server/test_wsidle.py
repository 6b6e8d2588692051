"""The list-backed queues swapped into an idle websockets connection (server/wsidle.py):
deque's behaviour for what websockets calls, a fraction of its memory, and a real connection
that still reads past its ``max_queue`` and drains a full write buffer with them."""

from __future__ import annotations

import asyncio
import collections
import sys

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve

from csms.server.wsidle import SmallDeque, drop_handshake_callback, shrink_queues


def test_small_deque_does_what_websockets_asks_of_a_deque() -> None:
    small: SmallDeque[int] = SmallDeque()
    real: collections.deque[int] = collections.deque()
    for queue in (small, real):
        queue.append(1)
        queue.append(2)
        queue.extendleft(reversed([8, 9]))  # Assembler.put_back's call
        queue.appendleft(7)
        queue.remove(2)
    assert list(small) == list(real) == [7, 8, 9, 1]
    assert [small.popleft() for _ in range(4)] == [real.popleft() for _ in range(4)]
    assert not small and len(small) == 0
    with pytest.raises(IndexError):
        small.popleft()
    # An empty deque holds a 64-slot block: 760 bytes; the list ~60 (the point of the swap).
    assert sys.getsizeof(SmallDeque()) * 5 < sys.getsizeof(collections.deque())


async def test_a_connection_with_small_queues_reads_past_max_queue_and_drains() -> None:
    shrunk: list[bool] = []
    received: list[str] = []

    async def handler(ws: ServerConnection) -> None:
        shrunk.append(shrink_queues(ws))
        shrunk.append(drop_handshake_callback(ws))
        assert "select_subprotocol" not in vars(ws.protocol)
        await asyncio.sleep(0.2)  # the client's 20 frames queue up (reading pauses at 4)
        received.extend([str(await ws.recv()) for _ in range(20)])
        # 4 MiB through a 16 KiB write buffer: send() waits on drain_waiters repeatedly.
        for _ in range(64):
            await ws.send(b"x" * 65_536)
        await ws.send("done")

    def choose(_ws: ServerConnection, offered: object) -> str:
        return "ocpp1.6"

    async with serve(
        handler,
        "127.0.0.1",
        0,
        max_queue=4,
        write_limit=16_384,
        subprotocols=["ocpp1.6"],  # type: ignore[list-item]
        select_subprotocol=choose,  # type: ignore[arg-type]
    ) as server:
        port = server.sockets[0].getsockname()[1]
        async with connect(
            f"ws://127.0.0.1:{port}",
            max_size=None,
            subprotocols=["ocpp1.6"],  # type: ignore[list-item]
        ) as client:
            assert client.subprotocol == "ocpp1.6"
            for i in range(20):
                await client.send(f"m{i}")
            await asyncio.sleep(0.3)  # the server's buffer fills while the client does not read
            total = 0
            while (message := await client.recv()) != "done":
                total += len(message)
    assert shrunk == [True, True]
    assert received == [f"m{i}" for i in range(20)]
    assert total == 64 * 65_536


def test_shrink_leaves_a_connection_it_does_not_recognise_alone() -> None:
    class Other:
        drain_waiters: list[object] = []

    assert shrink_queues(Other()) is False  # type: ignore[arg-type]
    assert drop_handshake_callback(Other()) is False  # type: ignore[arg-type]
