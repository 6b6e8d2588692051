"""Server pings for every station connection from one timer, not one task per connection.

The CSMS pings each station every ``ping_interval`` seconds and closes a connection whose pong is
still missing ``ping_timeout`` seconds later (OCPP-J 1.6 §7 and errata 3.9, WebSocket Ping/Pong of
RFC 6455 §5.5.2-5.5.3), exactly as websockets' own keepalive does. websockets runs that keepalive
as one task per connection (a task, its coroutine, a sleep future and a timer handle, woken twice
per ping); with 100,000 idle stations that is the largest per-connection cost (issue 11). Here one
loop timer ticks every ``tick`` seconds over a wheel of ``ping_interval / tick`` slots: a connection
joins the slot whose next turn is one interval away, and each tick pings one slot and checks the
slot pinged ``ping_timeout`` earlier. Per connection that is one dict entry and one set entry;
between pings, no future, task or timer.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import struct

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode
from websockets.protocol import State

logger = logging.getLogger(__name__)

# Longest tick: the wheel's resolution, so pings come at most this late and a dead peer is caught
# at most this much after its timeout. Small enough that one tick's pings are a short loop turn.
MAX_TICK = 0.25


class Keepalive:
    """Pings every added connection at a fixed interval; fails those that stop answering."""

    __slots__ = (
        "_check_lag",
        "_closing",
        "_handle",
        "_interval",
        "_loop",
        "_next",
        "_slot_of",
        "_slots",
        "_started",
        "_tick",
        "_timeout",
        "pings_sent",
        "timeouts",
    )

    def __init__(self, ping_interval: float, ping_timeout: float | None) -> None:
        if ping_interval <= 0 or (ping_timeout is not None and ping_timeout <= 0):
            raise ValueError("ping interval and timeout must be positive")
        self._interval = ping_interval
        self._timeout = ping_timeout
        tick = min(MAX_TICK, ping_interval / 8)
        if ping_timeout is not None:
            tick = min(tick, ping_timeout / 4)
        count = max(1, round(ping_interval / tick))
        self._tick = ping_interval / count  # a whole number of ticks per interval
        self._slots: list[set[ServerConnection]] = [set() for _ in range(count)]
        # Ticks between a slot's ping and its check: the timeout, rounded up to a tick.
        self._check_lag = (
            None if ping_timeout is None else max(1, math.ceil(ping_timeout / self._tick - 1e-9))
        )
        self._slot_of: dict[ServerConnection, int] = {}
        self._next = 0  # the next tick to run, counted from _started
        self._started = 0.0
        self._handle: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing: set[asyncio.Task[None]] = set()
        self.pings_sent = 0
        self.timeouts = 0

    def __len__(self) -> int:
        return len(self._slot_of)

    def add(self, ws: ServerConnection) -> None:
        """Ping ``ws`` from one interval from now on, until :meth:`discard`."""
        if ws in self._slot_of:
            return
        if self._handle is None:
            self._start()
        # The slot that ran last: its next turn is one whole interval away.
        slot = (self._next - 1) % len(self._slots)
        self._slots[slot].add(ws)
        self._slot_of[ws] = slot

    def discard(self, ws: ServerConnection) -> None:
        """Stop pinging ``ws`` (its connection has ended)."""
        slot = self._slot_of.pop(ws, None)
        if slot is not None:
            self._slots[slot].discard(ws)
        if not self._slot_of and self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def close(self) -> None:
        """Stop the timer (the listener is shutting down)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        for slot in self._slots:
            slot.clear()
        self._slot_of.clear()

    # ------------------------------------------------------------------ the timer

    def _start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._started = self._loop.time()
        self._next = 1
        self._schedule()

    def _schedule(self) -> None:
        assert self._loop is not None
        # Absolute deadlines: no drift; a late loop catches up one tick per turn, not all at once.
        self._handle = self._loop.call_at(self._started + self._next * self._tick, self._run)

    def _run(self) -> None:
        assert self._loop is not None
        tick = self._next
        self._next += 1
        now = self._loop.time()
        slots = self._slots
        if self._check_lag is not None:
            oldest = now - self._check_lag * self._tick + self._tick / 2
            for ws in [
                ws for ws in slots[(tick - self._check_lag) % len(slots)] if ws.pending_pings
            ]:
                if min(sent for _, sent in ws.pending_pings.values()) <= oldest:
                    self._fail(ws)
        for ws in slots[tick % len(slots)]:
            self._ping(ws, now)
        self._schedule()

    def _ping(self, ws: ServerConnection, now: float) -> None:
        """What ``ServerConnection.ping()`` does, without a coroutine: the frame is 6 bytes, so
        there is no flow control to wait for."""
        if ws.protocol.state is not State.OPEN:
            return
        data = struct.pack("!I", random.getrandbits(32))
        while data in ws.pending_pings:  # pragma: no cover - a 1 in 2**32 collision
            data = struct.pack("!I", random.getrandbits(32))
        assert self._loop is not None
        ws.pending_pings[data] = (self._loop.create_future(), now)
        ws.protocol.send_ping(data)
        ws.send_data()
        self.pings_sent += 1

    def _fail(self, ws: ServerConnection) -> None:
        """Close like websockets' keepalive: 1011 "keepalive ping timeout", then drop the TCP
        connection after the close timeout (a dead peer sends no close frame)."""
        self.discard(ws)
        self.timeouts += 1
        task = asyncio.create_task(self._close(ws))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    @staticmethod
    async def _close(ws: ServerConnection) -> None:
        try:
            async with ws.send_context():
                ws.protocol.fail(CloseCode.INTERNAL_ERROR, "keepalive ping timeout")
        except ConnectionClosed:
            pass
