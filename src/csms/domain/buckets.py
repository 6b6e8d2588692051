"""Token buckets per key, with bounded memory: the arithmetic behind every handshake budget.

A budget of ``capacity`` events per ``window`` seconds is a bucket holding up to ``capacity`` tokens
that refills at ``capacity / window`` tokens per second: a burst of ``capacity`` is allowed, then one
event every ``window / capacity`` seconds. It is kept as the generic cell rate algorithm does: one
float per key, the time at which its bucket would be full again, whatever its history (a sliding
window of timestamps would keep one per event). At most ``max_keys`` keys are kept; the least
recently charged is forgotten first. Forgetting a key refills its bucket, so eviction can only make
a budget more lenient, never lock anyone out. Time comes from an injected clock (no global clock),
so tests are deterministic.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Hashable

DEFAULT_MAX_KEYS = 65_536
_EPSILON = 1e-9  # float rounding must not refuse an event that is due


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
        self._interval = window / capacity  # one token comes back every interval
        self._span = window  # an empty bucket is full again after window
        self._clock = clock
        self._max_keys = max_keys
        # key -> when its bucket is full again; insertion order = least recently charged first.
        self._full_at: dict[Hashable, float] = {}

    def __len__(self) -> int:
        return len(self._full_at)

    def wait(self, key: Hashable) -> float:
        """Seconds until ``key`` has a token; 0.0 if it has one now."""
        now = self._clock()
        full_at = max(self._full_at.get(key, now), now)
        wait = full_at + self._interval - now - self._span
        return wait if wait > _EPSILON else 0.0

    def charge(self, key: Hashable) -> None:
        """Take one token from ``key``'s bucket (it may go below zero: the caller checked wait)."""
        now = self._clock()
        full_at = self._full_at.pop(key, None)
        if full_at is None:
            full_at = now
            if len(self._full_at) >= self._max_keys:
                del self._full_at[next(iter(self._full_at))]
        self._full_at[key] = max(full_at, now) + self._interval

    def take(self, key: Hashable) -> float:
        """Charge ``key`` if it has a token and return 0.0; else charge nothing, return the wait."""
        wait = self.wait(key)
        if wait == 0.0:
            self.charge(key)
        return wait


IPV6_GROUP_MARK = 1 << 64  # marks an IPv6 /64 prefix in a group key, apart from IPv4 addresses


def group_key(address: str) -> int | str:
    """A source address as a compact budget key: IPv4 as is (an int), IPv6 by its /64 prefix
    (an int | 2**64: one subscriber usually owns a whole /64), IPv4-mapped IPv6 as its IPv4."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return int(ip.ipv4_mapped)
        return IPV6_GROUP_MARK | int(ip) >> 64
    return int(ip)
