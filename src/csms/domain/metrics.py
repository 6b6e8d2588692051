"""Counters and histograms cheap enough to update on every OCPP message.

The Prometheus client's own metrics take a lock and resolve labels on every update; here an update
is one dict lookup or one :func:`bisect.bisect_left` and two additions, done on the event loop's
thread only. The ``/metrics`` route turns them into Prometheus families when it is scraped
(``csms.api.metrics``). Plain data, no I/O.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence

__all__ = [
    "COMMIT_BUCKETS",
    "HANDLER_BUCKETS",
    "Histogram",
    "ServerStats",
]

# Seconds. A handler answers in well under a millisecond unless it waits for a commit (one fsync on
# SQLite, a round trip on PostgreSQL); the tail shows an overloaded database.
HANDLER_BUCKETS: tuple[float, ...] = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
)
COMMIT_BUCKETS = HANDLER_BUCKETS
# Label sets per metric at most: a station may name any action (answered NotImplemented), so past
# this many series new ones are counted under the action ``other`` (bounded memory and scrape).
MAX_SERIES = 2000
OTHER = "other"


class Histogram:
    """Observations counted per upper bound (``le``), with their sum: a Prometheus histogram."""

    __slots__ = ("bounds", "buckets", "count", "sum")

    def __init__(self, bounds: Sequence[float] = HANDLER_BUCKETS) -> None:
        self.bounds = tuple(bounds)
        # One more than the bounds: the last counts what exceeds every bound (+Inf only).
        self.buckets = [0] * (len(self.bounds) + 1)
        self.count = 0
        self.sum = 0.0

    def observe(self, value: float) -> None:
        """Count ``value`` (seconds)."""
        self.buckets[bisect_left(self.bounds, value)] += 1
        self.count += 1
        self.sum += value

    def cumulative(self) -> list[tuple[str, int]]:
        """``(le, count)`` pairs as Prometheus wants them, ``+Inf`` last."""
        out: list[tuple[str, int]] = []
        total = 0
        for bound, n in zip(self.bounds, self.buckets, strict=False):
            total += n
            out.append((repr(bound), total))
        out.append(("+Inf", self.count))
        return out


class ServerStats:
    """What the station endpoint counts per message and per command (one per process)."""

    __slots__ = ("commands", "handler_latency", "messages")

    def __init__(self) -> None:
        # (version, action, direction "in"/"out", outcome) → messages.
        self.messages: dict[tuple[str, str, str, str], int] = {}
        # action → seconds from a station's CALL to our answer being ready.
        self.handler_latency: dict[str, Histogram] = {}
        # (action, outcome) → operator commands (CSMS-initiated CALLs): the status the station
        # answered (Accepted, Rejected, ...), or CallError, Timeout, NotConnected, Unknown.
        self.commands: dict[tuple[str, str], int] = {}

    def answered(self, version: str, action: str, outcome: str, seconds: float) -> None:
        """A station's CALL was handled: ``outcome`` is ``result`` or ``error``."""
        messages = self.messages
        key = (version, action, "in", outcome)
        count = messages.get(key)
        if count is None and len(messages) >= MAX_SERIES:
            action = OTHER
            key = (version, OTHER, "in", outcome)
            count = messages.get(key)
        messages[key] = (count or 0) + 1
        histogram = self.handler_latency.get(action)
        if histogram is None:
            if len(self.handler_latency) >= MAX_SERIES:
                action = OTHER
                histogram = self.handler_latency.get(OTHER)
            if histogram is None:
                histogram = self.handler_latency[action] = Histogram()
        histogram.observe(seconds)

    def called(self, version: str, action: str, outcome: str, status: str) -> None:
        """One of our CALLs ended: ``outcome`` on the wire (result, error, timeout, aborted) and
        ``status`` for the command counter."""
        key = (version, action, "out", outcome)  # our own actions: a bounded set
        self.messages[key] = self.messages.get(key, 0) + 1
        command = (action, status)
        if command not in self.commands and len(self.commands) >= MAX_SERIES:
            command = (action, OTHER)
        self.commands[command] = self.commands.get(command, 0) + 1
