"""Events: committed facts pushed to operators (Server-Sent Events, webhooks).

An event is published only after the storage write that makes it true has committed (the
emitters wrap the repositories, see :mod:`csms.events.emitting`), so a subscriber never hears of a
fact a crash could take back. Ids increase by one per event published by this process; the bus
seeds them from the clock at start-up, so the ids of a later run are larger and a client resuming
with an id of an earlier run is told that events were lost (``events.lost``) instead of being
replayed the wrong events.

The port is deliberately small (publish; subscribe with a filter, optionally resuming after an id;
replay since an id), so that a bus spanning processes (NATS) can replace the in-process one.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import orjson

__all__ = [
    "Event",
    "EventBus",
    "EventFilter",
    "EventPublisher",
    "EventSubscription",
    "EventType",
]


class EventType(enum.StrEnum):
    """What happened; filters match these by prefix (``transaction.`` matches all three)."""

    STATION_CONNECTED = "station.connected"
    STATION_DISCONNECTED = "station.disconnected"
    STATION_BOOT = "station.boot"
    STATION_STATUS = "station.status"  # a StatusNotification (connector or EVSE status)
    STATION_REGISTRATION = "station.registration"  # registered, or registration status changed
    TRANSACTION_STARTED = "transaction.started"
    TRANSACTION_UPDATED = "transaction.updated"
    TRANSACTION_ENDED = "transaction.ended"
    METER_VALUES = "meter.values"  # sampled: at most one per station/EVSE per interval
    SECURITY_EVENT = "security.event"
    FIRMWARE_STATUS = "firmware.status"
    LOG_STATUS = "log.status"  # log and diagnostics uploads
    COMMAND_RESULT = "command.result"  # every call sent through the API
    EVENTS_LOST = "events.lost"  # a gap marker: the subscriber missed events


@dataclass(frozen=True, slots=True)
class Event:
    """One published fact. ``data`` holds JSON values only; :attr:`wire` is the JSON document
    (:meth:`envelope`) encoded once, on first use, for every subscriber."""

    id: int
    type: str
    station_id: str | None
    time: datetime
    data: Mapping[str, Any]
    encoded: str = field(default="", compare=False, repr=False)

    def envelope(self) -> dict[str, Any]:
        """The document SSE clients and webhook receivers get."""
        return {
            "id": self.id,
            "type": self.type,
            "station_id": self.station_id,
            "time": self.time.isoformat(),
            "data": dict(self.data),
        }

    @property
    def wire(self) -> str:
        """:meth:`envelope` as JSON text, encoded the first time someone sends it: an event
        nobody subscribed to (the usual case on the OCPP path) is never encoded."""
        if not self.encoded:
            # default=str: never raise on the OCPP path; an odd value is sent as its text.
            text = orjson.dumps(self.envelope(), default=str).decode()
            object.__setattr__(self, "encoded", text)  # a cache of a pure function: still frozen
        return self.encoded


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Which events a subscriber wants: any of ``stations`` (empty: all) and any of the type
    prefixes ``types`` (empty: all). Gap markers (``events.lost``) always pass."""

    stations: frozenset[str] = frozenset()
    types: tuple[str, ...] = ()

    def matches(self, event: Event) -> bool:
        if event.type == EventType.EVENTS_LOST:
            return True
        if self.stations and event.station_id not in self.stations:
            return False
        return not self.types or event.type.startswith(self.types)


class EventPublisher(Protocol):
    """Where committed facts are announced. Never blocks and never raises: a slow or failing
    subscriber must not slow down the OCPP path that publishes."""

    def publish(self, type: str, station_id: str | None, data: Mapping[str, Any]) -> None:
        """Announce an event; the bus gives it its id and time."""
        ...


class EventSubscription(Protocol):
    """A live stream of matching events, in id order."""

    async def next(self, timeout: float | None = None) -> Event | None:
        """The next event, or None when ``timeout`` seconds passed without one. A subscriber too
        slow for its queue catches up from the replay buffer; what the buffer no longer holds is
        announced by one ``events.lost`` event."""
        ...

    def take_ready(self, limit: int) -> list[Event]:
        """Up to ``limit`` events already queued, without waiting (lets a writer batch)."""
        ...

    def close(self) -> None:
        """Stop receiving (idempotent)."""
        ...


class EventBus(EventPublisher, Protocol):
    """Publish, subscribe and replay."""

    def subscribe(
        self, event_filter: EventFilter, *, after: int | None = None, queue_size: int | None = None
    ) -> EventSubscription:
        """Subscribe; with ``after`` (an SSE Last-Event-ID) the events after that id are replayed
        first. ``queue_size``: events held for this subscriber (default: the bus's)."""
        ...

    def replay(
        self, after: int, event_filter: EventFilter, *, limit: int
    ) -> tuple[Event | None, list[Event]]:
        """The matching events after ``after`` (at most ``limit``), preceded by an
        ``events.lost`` marker (or None) when the buffer no longer holds all of them."""
        ...

    @property
    def subscriber_count(self) -> int:
        """Live subscribers."""
        ...
