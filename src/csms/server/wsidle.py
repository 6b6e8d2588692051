"""Less memory inside an idle websockets connection (memory per connected station).

websockets (17) gives every connection two ``collections.deque``: the frames waiting for
``recv()`` (its Assembler's queue) and the futures waiting for the write buffer to drain. An
empty deque costs 760 bytes (its first 64-slot block), so the two are ~1.5 KiB of the ~14 KiB an
idle station costs, while they hold at most ``max_queue`` frames and one waiter. A list-backed
stand-in with the deque methods websockets calls costs ~60 bytes empty. And the handshake's
subprotocol callback (a closure, its cell and a bound method on the protocol, ~250 bytes) is
not needed once the session runs.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Iterable
from typing import Any, TypeVar

from websockets.asyncio.connection import Connection

__all__ = ["SmallDeque", "drop_handshake_callback", "shrink_queues"]

T = TypeVar("T")

logger = logging.getLogger(__name__)


class SmallDeque(list[T]):
    """The part of ``collections.deque`` websockets uses, on a list: O(n) at the left end,
    which is nothing for queues of a few items."""

    __slots__ = ()

    def popleft(self) -> T:
        if not self:
            raise IndexError("pop from an empty deque")
        return self.pop(0)

    def appendleft(self, item: T) -> None:
        self.insert(0, item)

    def extendleft(self, items: Iterable[T]) -> None:
        """As deque's: each item in turn to the left end (so their order reverses)."""
        for item in items:
            self.insert(0, item)


def shrink_queues(ws: Connection) -> bool:
    """Swap the connection's deques for :class:`SmallDeque`, with what they hold (a station's
    first CALL is often queued already); False (nothing changed) when this websockets version
    does not have them where expected. websockets reads both attributes at each use, and this
    runs on the event loop between two of its steps, so nothing sees a half-made swap."""
    frames: Any = getattr(getattr(ws, "recv_messages", None), "frames", None)
    queue = getattr(frames, "queue", None)
    drain = getattr(ws, "drain_waiters", None)
    if type(queue) is not collections.deque or type(drain) is not collections.deque:
        return False
    frames.queue = SmallDeque(queue)
    ws.drain_waiters = SmallDeque(drain)  # type: ignore[assignment]
    return True


def drop_handshake_callback(ws: Connection) -> bool:
    """Forget the per-connection ``select_subprotocol`` websockets binds on its sans-I/O
    protocol for the handshake (the class's own method shows through again); only once the
    handshake is over. False when there was none."""
    protocol = getattr(ws, "protocol", None)
    state = getattr(protocol, "__dict__", None)
    if state is None or "select_subprotocol" not in state:
        return False
    del state["select_subprotocol"]
    return True
