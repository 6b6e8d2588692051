"""Token buckets per key, with bounded memory: the arithmetic behind every handshake budget.

A budget of ``capacity`` events per ``window`` seconds is a bucket holding up to ``capacity`` tokens
that refills at ``capacity / window`` tokens per second: a burst of ``capacity`` is allowed, then one
event every ``window / capacity`` seconds. A key costs two floats whatever its history, unlike a
sliding window of timestamps. At most ``max_keys`` keys are kept; the least recently charged is
forgotten first. Forgetting a key refills its bucket, so eviction can only make a budget more
lenient, never lock anyone out. Time comes from an injected clock (no global clock), so tests are
deterministic.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable

DEFAULT_MAX_KEYS = 65_536


class KeyedBuckets:
    """One token bucket per key; an unseen key has a full bucket."""

    def __init__(
        self,
        *,
        capacity: int,
        window: float,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = DEFAULT_MAX_KEYS,
    ) -> None:
        if capacity < 1 or window <= 0 or max_keys < 1:
            raise ValueError("a budget needs capacity >= 1, window > 0 and max_keys >= 1")
        self._capacity = float(capacity)
        self._rate = capacity / window
        self._clock = clock
        self._max_keys = max_keys
        # key -> (tokens at the last charge, time of the last charge); insertion order = LRU order.
        self._state: dict[Hashable, tuple[float, float]] = {}

    def __len__(self) -> int:
        return len(self._state)

    def wait(self, key: Hashable) -> float:
        """Seconds until ``key`` has a token; 0.0 if it has one now."""
        tokens = self._tokens(key, self._clock())
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self._rate

    def charge(self, key: Hashable) -> None:
        """Take one token from ``key``'s bucket (it may go below zero: the caller checked wait)."""
        now = self._clock()
        tokens = self._tokens(key, now) - 1.0
        if self._state.pop(key, None) is None and len(self._state) >= self._max_keys:
            del self._state[next(iter(self._state))]
        self._state[key] = (tokens, now)

    def take(self, key: Hashable) -> float:
        """Charge ``key`` if it has a token and return 0.0; else charge nothing, return the wait."""
        wait = self.wait(key)
        if wait == 0.0:
            self.charge(key)
        return wait

    def _tokens(self, key: Hashable, now: float) -> float:
        entry = self._state.get(key)
        if entry is None:
            return self._capacity
        tokens, at = entry
        return min(self._capacity, tokens + max(0.0, now - at) * self._rate)
