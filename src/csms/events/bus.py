"""The in-process event bus: one replay buffer, one bounded queue per subscriber.

:meth:`InProcessBus.publish` appends to the replay buffer and to each matching subscriber's queue
and returns: it never awaits, so the OCPP handler that published goes on at once. A subscriber
whose queue is full stops receiving live events; when it has drained its queue it catches up from
the replay buffer (by id, so nothing is repeated), and if the buffer no longer holds what it
missed it gets one ``events.lost`` marker and goes on from the oldest event still held.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import deque
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from csms.domain.events import Event, EventFilter, EventType

__all__ = ["InProcessBus"]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class InProcessBus:
    """Implements :class:`csms.domain.events.EventBus` within one process."""

    def __init__(
        self,
        *,
        replay_size: int = 10_000,
        queue_size: int = 1_000,
        clock: Callable[[], datetime] = _utc_now,
        first_id: int | None = None,
    ) -> None:
        if replay_size < 1 or queue_size < 1:
            raise ValueError("replay_size and queue_size must be at least 1")
        self._clock = clock
        self._buffer: deque[Event] = deque(maxlen=replay_size)
        self._queue_size = queue_size
        # Microseconds since the epoch: a later run's ids are larger than this run's (< 2**53, so
        # JavaScript clients read them exactly).
        self._last_id = first_id - 1 if first_id is not None else int(clock().timestamp() * 1e6)
        self._subscribers: set[_Subscription] = set()

    @property
    def last_id(self) -> int:
        """The id of the newest event (or the one before the first)."""
        return self._last_id

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def publish(self, type: str, station_id: str | None, data: Mapping[str, Any]) -> None:
        self._last_id += 1
        event_id = self._last_id
        event = Event(event_id, type, station_id, self._clock(), data)  # encoded when sent
        self._buffer.append(event)
        for subscriber in self._subscribers:
            subscriber.offer(event)

    def subscribe(
        self, event_filter: EventFilter, *, after: int | None = None, queue_size: int | None = None
    ) -> _Subscription:
        subscription = _Subscription(
            self, event_filter, queue_size or self._queue_size, self._last_id
        )
        if after is not None and after < self._last_id:
            subscription.resume_after(after)
        self._subscribers.add(subscription)
        return subscription

    def replay(
        self, after: int, event_filter: EventFilter, *, limit: int
    ) -> tuple[Event | None, list[Event]]:
        buffer = self._buffer
        if not buffer or after >= self._last_id:
            return None, []
        first = buffer[0].id
        marker = None
        if after < first - 1:
            marker = self._lost_marker(after, first - 1)
            after = first - 1
        # Ids in the buffer are consecutive: the event after ``after`` is at a known index.
        start = after - first + 1
        matching = (e for e in itertools.islice(buffer, start, None) if event_filter.matches(e))
        return marker, list(itertools.islice(matching, limit))

    def _lost_marker(self, after: int, last_lost: int) -> Event:
        """An ``events.lost`` event whose id is the last one lost (a client resuming from it
        does not ask for the lost ones again)."""
        data = {"after": after, "lost_through": last_lost, "reason": "replay buffer exceeded"}
        return Event(last_lost, EventType.EVENTS_LOST.value, None, self._clock(), data)

    def _remove(self, subscription: _Subscription) -> None:
        self._subscribers.discard(subscription)


class _Subscription:
    """Implements :class:`csms.domain.events.EventSubscription`."""

    def __init__(self, bus: InProcessBus, event_filter: EventFilter, size: int, position: int):
        self._bus = bus
        self._filter = event_filter
        self._size = size
        self._queue: deque[Event] = deque()
        # Every matching event up to this id was delivered (or announced lost).
        self._position = position
        # The queue overflowed: live events are ignored until caught up from the replay buffer.
        self._behind = False
        self._wake = asyncio.Event()
        self.dropped = 0  # live events not queued because the queue was full (caught up later)

    def resume_after(self, after: int) -> None:
        """Start from the replay buffer after ``after`` instead of from now."""
        self._position = after
        self._behind = True
        self._wake.set()

    def offer(self, event: Event) -> None:
        if self._behind or not self._filter.matches(event):
            return
        if len(self._queue) >= self._size:
            self._behind = True
            self.dropped += 1
            return
        self._queue.append(event)
        self._wake.set()

    async def next(self, timeout: float | None = None) -> Event | None:
        while True:
            if self._queue:
                event = self._queue.popleft()
                self._position = event.id
                return event
            if self._behind:
                self._catch_up()
                continue
            self._wake.clear()
            if timeout is None:
                await self._wake.wait()
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
                continue
            return None

    def take_ready(self, limit: int) -> list[Event]:
        taken: list[Event] = []
        while len(taken) < limit:
            if not self._queue:
                if not self._behind:
                    break
                self._catch_up()
                continue
            event = self._queue.popleft()
            self._position = event.id
            taken.append(event)
        return taken

    def _catch_up(self) -> None:
        """Refill the queue from the replay buffer; live again once nothing more is missing."""
        marker, events = self._bus.replay(self._position, self._filter, limit=self._size)
        if marker is not None:
            self._queue.append(marker)
        self._queue.extend(events)
        if len(events) < self._size:
            self._behind = False  # the replay reached the newest event: no await since
        elif events:
            # More may follow: catch up again from the last one once these are read.
            self._position = events[-1].id
        if not self._queue:
            self._behind = False

    def close(self) -> None:
        self._bus._remove(self)
