"""Server pings from one shared timer (issue 11, idle cost): timing, dead peers, no task each.

The connection is a stand-in with the parts of websockets' ``ServerConnection`` the keepalive
uses (protocol state, ``pending_pings``, ``send_data``, ``send_context``); the loop is real, with
short intervals.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, cast

import pytest
from websockets.asyncio.server import ServerConnection
from websockets.protocol import State

from csms.server.keepalive import Keepalive

INTERVAL = 0.2
TIMEOUT = 0.2


class FakeProtocol:
    def __init__(self, conn: FakeConnection) -> None:
        self.state = State.OPEN
        self._conn = conn
        self.failed: tuple[int, str] | None = None

    def send_ping(self, data: bytes) -> None:
        self._conn.pings.append(asyncio.get_running_loop().time())
        if self._conn.answers:  # the peer's pong, as acknowledge_pings handles it
            fut, _ = self._conn.pending_pings.pop(data)
            fut.set_result(0.0)

    def fail(self, code: int, reason: str) -> None:
        self.failed = (code, reason)
        self.state = State.CLOSING


class FakeConnection:
    def __init__(self, *, answers: bool = True) -> None:
        self.answers = answers
        self.pings: list[float] = []
        self.pending_pings: dict[bytes, tuple[asyncio.Future[float], float]] = {}
        self.protocol = FakeProtocol(self)
        self.sent = 0

    def send_data(self) -> None:
        self.sent += 1

    @contextlib.asynccontextmanager
    async def send_context(self) -> AsyncIterator[None]:
        yield


def ws(conn: FakeConnection) -> ServerConnection:
    return cast(ServerConnection, conn)


async def until(predicate: Any, within: float) -> float:
    loop = asyncio.get_running_loop()
    start = loop.time()
    while not predicate():
        assert loop.time() - start < within, "condition not met in time"
        await asyncio.sleep(0.01)
    return loop.time() - start


async def test_pings_every_interval_from_one_timer() -> None:
    keepalive = Keepalive(INTERVAL, TIMEOUT)
    loop = asyncio.get_running_loop()
    added = loop.time()
    conns = [FakeConnection() for _ in range(50)]
    for conn in conns:
        keepalive.add(ws(conn))
    tasks_before = len(asyncio.all_tasks())
    await until(lambda: all(len(c.pings) >= 3 for c in conns), 5)
    assert len(asyncio.all_tasks()) == tasks_before  # no task per connection
    for conn in conns:
        first, second, third = conn.pings[:3]
        # the first ping one interval after joining (within a tick), then one per interval
        assert INTERVAL - keepalive._tick - 0.01 <= first - added <= INTERVAL + 0.1
        assert second - first == pytest.approx(INTERVAL, abs=0.1)
        assert third - second == pytest.approx(INTERVAL, abs=0.1)
        assert conn.protocol.failed is None and conn.sent == len(conn.pings)
    assert keepalive.timeouts == 0
    keepalive.close()


async def test_a_silent_peer_is_failed_after_the_ping_timeout() -> None:
    keepalive = Keepalive(INTERVAL, TIMEOUT)
    alive, dead = FakeConnection(), FakeConnection(answers=False)
    keepalive.add(ws(alive))
    keepalive.add(ws(dead))
    await until(lambda: dead.protocol.failed is not None, 5)
    assert dead.protocol.failed == (1011, "keepalive ping timeout")
    # failed one timeout after its (only) ping, rounded up to a tick
    loop = asyncio.get_running_loop()
    assert len(dead.pings) == 1
    assert loop.time() - dead.pings[0] == pytest.approx(TIMEOUT, abs=keepalive._tick + 0.1)
    assert keepalive.timeouts == 1 and len(keepalive) == 1  # the dead one left the wheel
    assert alive.protocol.failed is None
    keepalive.close()


async def test_a_timeout_longer_than_the_interval_still_detects_the_dead_peer() -> None:
    keepalive = Keepalive(0.1, 0.25)
    dead = FakeConnection(answers=False)
    keepalive.add(ws(dead))
    await until(lambda: dead.protocol.failed is not None, 5)
    loop = asyncio.get_running_loop()
    assert loop.time() - dead.pings[0] == pytest.approx(0.25, abs=keepalive._tick + 0.1)
    keepalive.close()


async def test_no_timeout_means_pings_only() -> None:
    keepalive = Keepalive(0.05, None)
    dead = FakeConnection(answers=False)
    keepalive.add(ws(dead))
    await until(lambda: len(dead.pings) >= 4, 5)
    assert dead.protocol.failed is None
    keepalive.close()


async def test_discarded_and_closed_connections_are_not_pinged() -> None:
    keepalive = Keepalive(0.05, 0.05)
    gone, closing, kept = FakeConnection(), FakeConnection(), FakeConnection()
    for conn in (gone, closing, kept):
        keepalive.add(ws(conn))
    keepalive.discard(ws(gone))
    closing.protocol.state = State.CLOSING
    await until(lambda: len(kept.pings) >= 3, 5)
    assert gone.pings == [] and closing.pings == []
    keepalive.discard(ws(kept))
    keepalive.discard(ws(closing))
    assert len(keepalive) == 0 and keepalive._handle is None  # the timer stops when empty
    keepalive.add(ws(kept))  # and starts again
    count = len(kept.pings)
    await until(lambda: len(kept.pings) > count, 5)
    keepalive.close()


def test_bad_intervals_are_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        Keepalive(0, 1)
    with pytest.raises(ValueError, match="positive"):
        Keepalive(1, 0)
