"""Counters and latency histograms that merge across worker processes.

Latencies go into a log-bucketed histogram (about 2 % relative precision, sparse dict of buckets)
instead of a list: memory stays constant however many CALLs a run makes, and the histograms of K
workers merge exactly by adding bucket counts. Percentiles are read as the upper bound of the bucket
holding the nearest-rank sample, clamped to the exact maximum.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# Buckets per doubling: 2**(1/32) - 1 = 2.2 % relative width.
_BUCKETS_PER_OCTAVE = 32
_MIN_SECONDS = 1e-6


def bucket_of(seconds: float) -> int:
    """The bucket index of a latency in seconds (everything below 1 µs lands in bucket 0)."""
    if seconds <= _MIN_SECONDS:
        return 0
    return math.ceil(math.log2(seconds / _MIN_SECONDS) * _BUCKETS_PER_OCTAVE)


def bucket_upper(index: int) -> float:
    """The upper bound in seconds of bucket ``index``."""
    return _MIN_SECONDS * math.pow(2.0, index / _BUCKETS_PER_OCTAVE)


@dataclass
class Histogram:
    """A mergeable latency histogram with exact count, sum, min and max."""

    buckets: Counter[int] = field(default_factory=Counter)
    count: int = 0
    total: float = 0.0
    low: float = math.inf
    high: float = 0.0

    def record(self, seconds: float) -> None:
        """Add one latency sample."""
        self.buckets[bucket_of(seconds)] += 1
        self.count += 1
        self.total += seconds
        self.low = min(self.low, seconds)
        self.high = max(self.high, seconds)

    def merge(self, other: Histogram) -> None:
        """Add ``other``'s samples to this histogram."""
        self.buckets.update(other.buckets)
        self.count += other.count
        self.total += other.total
        self.low = min(self.low, other.low)
        self.high = max(self.high, other.high)

    def percentile(self, pct: float) -> float:
        """Nearest-rank percentile in seconds (0.0 when empty)."""
        if self.count == 0:
            return 0.0
        rank = max(1, math.ceil(pct / 100.0 * self.count))
        seen = 0
        for index in sorted(self.buckets):
            seen += self.buckets[index]
            if seen >= rank:
                return min(max(bucket_upper(index), self.low), self.high)
        return self.high

    def summary_ms(self) -> dict[str, float]:
        """p50/p95/p99/max/mean in milliseconds."""
        return {
            "p50": round(self.percentile(50) * 1e3, 3),
            "p95": round(self.percentile(95) * 1e3, 3),
            "p99": round(self.percentile(99) * 1e3, 3),
            "max": round(self.high * 1e3, 3),
            "mean": round(self.total / self.count * 1e3, 3) if self.count else 0.0,
        }

    def to_dict(self) -> dict[str, Any]:
        """A JSON- and pickle-friendly form (bucket keys as strings for JSON)."""
        return {
            "buckets": {str(k): v for k, v in self.buckets.items()},
            "count": self.count,
            "total": self.total,
            "low": self.low if self.count else None,
            "high": self.high,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Histogram:
        """Inverse of :meth:`to_dict`."""
        low = data.get("low")
        return cls(
            buckets=Counter({int(k): int(v) for k, v in data["buckets"].items()}),
            count=int(data["count"]),
            total=float(data["total"]),
            low=math.inf if low is None else float(low),
            high=float(data["high"]),
        )


@dataclass
class ActionStats:
    """What happened to the CALLs of one action.

    ``answered`` counts every reply; ``measured`` and the latency histogram only those of the
    measured window (after the warm-up), so ramp-up does not blur steady-state figures.
    """

    sent: int = 0
    answered: int = 0
    measured: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    timeouts: int = 0
    unanswered_at_close: int = 0
    # Transaction CALLs unanswered when the connection was lost: sent again after the next boot
    # (1.6 §4.7, 2.0.1 E12), or lost (the run ended before the station was back).
    resent: int = 0
    lost: int = 0
    latency: Histogram = field(default_factory=Histogram)

    def merge(self, other: ActionStats) -> None:
        """Add ``other``'s counts."""
        self.sent += other.sent
        self.answered += other.answered
        self.measured += other.measured
        self.errors.update(other.errors)
        self.timeouts += other.timeouts
        self.unanswered_at_close += other.unanswered_at_close
        self.resent += other.resent
        self.lost += other.lost
        self.latency.merge(other.latency)

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form."""
        return {
            "sent": self.sent,
            "answered": self.answered,
            "measured": self.measured,
            "errors": dict(self.errors),
            "timeouts": self.timeouts,
            "unanswered_at_close": self.unanswered_at_close,
            "resent": self.resent,
            "lost": self.lost,
            "latency": self.latency.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ActionStats:
        """Inverse of :meth:`to_dict`."""
        return cls(
            sent=int(data["sent"]),
            answered=int(data["answered"]),
            measured=int(data["measured"]),
            errors=Counter(data["errors"]),
            timeouts=int(data["timeouts"]),
            unanswered_at_close=int(data["unanswered_at_close"]),
            resent=int(data.get("resent", 0)),
            lost=int(data.get("lost", 0)),
            latency=Histogram.from_dict(data["latency"]),
        )


@dataclass
class Episode:
    """A recovery: from the first lost connection after the whole fleet was accepted until every
    station is accepted again (wall-clock seconds since the epoch; ``end`` None while open)."""

    start: float
    end: float | None = None
    boots: int = 0


@dataclass
class RunStats:
    """Everything one worker (or, merged, the whole run) counted."""

    stations: int = 0
    actions: dict[str, ActionStats] = field(default_factory=dict)
    connect: ActionStats = field(default_factory=ActionStats)
    boot_status: Counter[str] = field(default_factory=Counter)
    open_now: int = 0
    open_peak: int = 0
    accepted_now: int = 0
    disconnects: int = 0
    server_calls: int = 0
    late_replies: int = 0
    bad_frames: int = 0
    # Upgrades refused 503/429 with a Retry-After the station waited (with --honour-retry-after).
    retry_after_waits: int = 0
    retry_after_wait_s: float = 0.0
    retry_after_max_s: float = 0.0
    all_accepted_at: float | None = None
    episodes: list[Episode] = field(default_factory=list)

    def action(self, name: str) -> ActionStats:
        """The stats of ``name``, created on first use."""
        stats = self.actions.get(name)
        if stats is None:
            stats = self.actions[name] = ActionStats()
        return stats

    # ------------------------------------------------------------- derived figures

    @property
    def answered(self) -> int:
        """CALLRESULTs received, all actions."""
        return sum(a.answered for a in self.actions.values())

    @property
    def errors_total(self) -> int:
        """CALLERRORs, timeouts and failed connection attempts."""
        calls = sum(sum(a.errors.values()) + a.timeouts for a in self.actions.values())
        return calls + sum(self.connect.errors.values()) + self.connect.timeouts

    # ------------------------------------------------------------- merge / transport

    def merge(self, other: RunStats) -> None:
        """Add another worker's stats (episodes pair up by position: same events, same order)."""
        self.stations += other.stations
        for name, stats in other.actions.items():
            self.action(name).merge(stats)
        self.connect.merge(other.connect)
        self.boot_status.update(other.boot_status)
        self.open_now += other.open_now
        self.open_peak += other.open_peak
        self.accepted_now += other.accepted_now
        self.disconnects += other.disconnects
        self.server_calls += other.server_calls
        self.late_replies += other.late_replies
        self.bad_frames += other.bad_frames
        self.retry_after_waits += other.retry_after_waits
        self.retry_after_wait_s += other.retry_after_wait_s
        self.retry_after_max_s = max(self.retry_after_max_s, other.retry_after_max_s)
        self.all_accepted_at = _latest(self.all_accepted_at, other.all_accepted_at)
        self.episodes = merge_episodes(self.episodes, other.episodes)

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form (crosses process boundaries and goes into ``--json``)."""
        return {
            "stations": self.stations,
            "actions": {k: v.to_dict() for k, v in sorted(self.actions.items())},
            "connect": self.connect.to_dict(),
            "boot_status": dict(self.boot_status),
            "open_now": self.open_now,
            "open_peak": self.open_peak,
            "accepted_now": self.accepted_now,
            "disconnects": self.disconnects,
            "server_calls": self.server_calls,
            "late_replies": self.late_replies,
            "bad_frames": self.bad_frames,
            "retry_after_waits": self.retry_after_waits,
            "retry_after_wait_s": self.retry_after_wait_s,
            "retry_after_max_s": self.retry_after_max_s,
            "all_accepted_at": self.all_accepted_at,
            "episodes": [[e.start, e.end, e.boots] for e in self.episodes],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunStats:
        """Inverse of :meth:`to_dict`."""
        return cls(
            stations=int(data["stations"]),
            actions={k: ActionStats.from_dict(v) for k, v in data["actions"].items()},
            connect=ActionStats.from_dict(data["connect"]),
            boot_status=Counter(data["boot_status"]),
            open_now=int(data["open_now"]),
            open_peak=int(data["open_peak"]),
            accepted_now=int(data["accepted_now"]),
            disconnects=int(data["disconnects"]),
            server_calls=int(data["server_calls"]),
            late_replies=int(data["late_replies"]),
            bad_frames=int(data["bad_frames"]),
            retry_after_waits=int(data.get("retry_after_waits", 0)),
            retry_after_wait_s=float(data.get("retry_after_wait_s", 0.0)),
            retry_after_max_s=float(data.get("retry_after_max_s", 0.0)),
            all_accepted_at=data["all_accepted_at"],
            episodes=[Episode(s, e, b) for s, e, b in data["episodes"]],
        )


def _latest(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else (a if a >= b else b)


def merge_episodes(a: list[Episode], b: list[Episode]) -> list[Episode]:
    """Pair episodes by position: start is the earliest, end the latest (None if any is open)."""
    merged: list[Episode] = []
    for i in range(max(len(a), len(b))):
        if i >= len(a):
            merged.append(Episode(b[i].start, b[i].end, b[i].boots))
        elif i >= len(b):
            merged.append(Episode(a[i].start, a[i].end, a[i].boots))
        else:
            end_a, end_b = a[i].end, b[i].end
            end = None if end_a is None or end_b is None else max(end_a, end_b)
            merged.append(Episode(min(a[i].start, b[i].start), end, a[i].boots + b[i].boots))
    return merged
