"""Events cluster-wide: each node's bus publishes to NATS, and every node's SSE sees them all.

Two in-process buses per node. ``local`` holds this node's own events: the webhook intake reads
it, so each event enters the shared outbox once, from the node where it happened. ``view`` holds
this node's events and those received from the other nodes (a node ignores its own on the wire):
the SSE stream reads it, so a subscriber on any node sees every node's events exactly once, with
ids of the node it is connected to (Last-Event-ID resumes on the same node).

:meth:`ClusterBus.publish` never awaits (an OCPP handler publishes): the event is queued for one
sender task; while NATS is unreachable the queue keeps the newest ``pending_limit`` events and
counts the ones it drops.

The sender publishes what is queued when it wakes as one NATS message (``{"node", "events":
[[type, station_id, data], ...]}``, at most ``MAX_BATCH`` events and about ``MAX_BATCH_BYTES``),
encoded once: the events of one commit batch cost each node one message to receive and decode
instead of one per event, and each is still delivered once (a batch is sent whole or retried
whole). A node receives its own messages no more (the connection is made with ``no_echo``), and
still reads the single-event form of earlier versions.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import deque
from collections.abc import Mapping
from typing import Any, Protocol

import orjson

from csms.domain.events import Event, EventFilter, EventSubscription
from csms.events import InProcessBus

__all__ = ["EVENTS_SUBJECT", "MAX_BATCH", "MAX_BATCH_BYTES", "ClusterBus", "Publisher"]

logger = logging.getLogger(__name__)

EVENTS_SUBJECT = "csms.events"
MAX_BATCH = 256  # events in one NATS message
# Bytes of one message's events: well under NATS's default max_payload (1 MiB). A single event
# larger than this is dropped and counted (it would be refused by NATS and block the sender).
MAX_BATCH_BYTES = 256 * 1024

_Queued = tuple[str, str | None, Mapping[str, Any]]


class Publisher(Protocol):
    """The NATS side (the node's connection)."""

    async def publish(self, subject: str, payload: bytes) -> None: ...


class ClusterBus:
    """Implements :class:`csms.domain.events.EventBus` over the cluster."""

    def __init__(
        self, node_id: str, local: InProcessBus, view: InProcessBus, *, pending_limit: int = 10_000
    ) -> None:
        self.node_id = node_id
        self.local = local
        self.view = view
        self._pending: deque[_Queued] = deque(maxlen=pending_limit)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0  # events not sent to the other nodes (NATS unreachable for long)

    # ---------------------------------------------------------------- EventBus

    @property
    def last_id(self) -> int:
        return self.view.last_id

    @property
    def subscriber_count(self) -> int:
        return self.view.subscriber_count

    def publish(self, type: str, station_id: str | None, data: Mapping[str, Any]) -> None:
        self.local.publish(type, station_id, data)
        self.view.publish(type, station_id, data)
        if len(self._pending) == self._pending.maxlen:
            self.dropped += 1
        self._pending.append((type, station_id, data))  # encoded with its batch, once
        self._wake.set()

    def subscribe(
        self, event_filter: EventFilter, *, after: int | None = None, queue_size: int | None = None
    ) -> EventSubscription:
        return self.view.subscribe(event_filter, after=after, queue_size=queue_size)

    def replay(
        self, after: int, event_filter: EventFilter, *, limit: int
    ) -> tuple[Event | None, list[Event]]:
        return self.view.replay(after, event_filter, limit=limit)

    # ---------------------------------------------------------------- NATS side

    def received(self, payload: bytes) -> None:
        """An event from the wire: into ``view`` unless it is this node's own."""
        try:
            doc = orjson.loads(payload)
            if doc["node"] == self.node_id:
                return
            batch = doc.get("events")
            if batch is None:  # one event, as nodes of earlier versions send them
                self.view.publish(str(doc["type"]), doc.get("station_id"), doc.get("data") or {})
                return
            for type_, station_id, data in batch:
                self.view.publish(str(type_), station_id, data or {})
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            logger.warning("cluster: an unreadable event on %s was ignored", EVENTS_SUBJECT)

    def start(self, publisher: Publisher) -> None:
        self._task = asyncio.create_task(self._send(publisher), name="cluster-events")

    async def _send(self, publisher: Publisher) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch, payload = self._next_batch()
                if payload is not None:
                    try:
                        await publisher.publish(EVENTS_SUBJECT, payload)
                    except Exception:
                        await asyncio.sleep(0.5)
                        continue  # the same events again, with any queued since
                # Sent (or dropped as too large): off the queue, unless the queue already
                # dropped them to make room while the message was being sent.
                sent = {id(event) for event in batch}
                while self._pending and id(self._pending[0]) in sent:
                    self._pending.popleft()

    def _next_batch(self) -> tuple[list[_Queued], bytes | None]:
        """The oldest queued events that fit one message, encoded (None: one event too large)."""
        count = min(len(self._pending), MAX_BATCH)
        while True:
            batch = list(itertools.islice(self._pending, count))
            payload = orjson.dumps({"node": self.node_id, "events": batch}, default=str)
            if len(payload) <= MAX_BATCH_BYTES:
                return batch, payload
            if count == 1:
                self.dropped += 1
                logger.warning(
                    "cluster: a %s event of %d bytes is too large for NATS; not sent to the "
                    "other nodes",
                    batch[0][0],
                    len(payload),
                )
                return batch, None
            count //= 2

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
