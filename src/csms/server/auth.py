"""HTTP Basic auth of stations before the WebSocket upgrade (security profiles 1 and 2).

OCPP-J 1.6 §6.2.2 / 1.6 security whitepaper A00.FR.202–204 / 2.0.1 A00: the username is the identity
from the URL and the password is checked before upgrading; a mismatch is answered 401. The password
is whatever follows ``identity:`` in the decoded credentials, as raw bytes: 1.6 keys may be binary and
2.x passwords may contain ':' (ocpp-rules.md §2.2). Failed attempts are limited per source address and
per (address, identity), so a guesser is throttled while the real station, connecting from elsewhere,
still gets in (CWE-307).
"""

from __future__ import annotations

import base64
import binascii
import time
from collections import deque
from collections.abc import Callable


def basic_auth_password(header: str | None, identity: str) -> bytes | None:
    """Return the password of a Basic auth header whose username is ``identity``, else None."""
    if not header:
        return None
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    prefix = identity.encode("utf-8") + b":"
    if not decoded.startswith(prefix):
        return None
    return decoded[len(prefix) :]


class FailureLimiter:
    """Sliding-window count of failed handshakes per address and per (address, identity).

    Memory is bounded: at most ``max_keys`` keys are tracked; the oldest are forgotten first.
    """

    def __init__(
        self,
        *,
        per_address: int,
        per_identity: int,
        window: float,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self._limits = (per_address, per_identity)
        self._window = window
        self._clock = clock
        self._max_keys = max_keys
        self._failures: dict[tuple[str, str | None], deque[float]] = {}

    def blocked(self, address: str, identity: str) -> bool:
        """True if this address, or this address for this identity, failed too often recently."""
        now = self._clock()
        return self._count((address, None), now) >= self._limits[0] or (
            self._count((address, identity), now) >= self._limits[1]
        )

    def record_failure(self, address: str, identity: str) -> None:
        """Count one failed handshake."""
        now = self._clock()
        for key in ((address, None), (address, identity)):
            times = self._failures.get(key)
            if times is None:
                if len(self._failures) >= self._max_keys:
                    self._failures.pop(next(iter(self._failures)))
                times = self._failures[key] = deque(maxlen=max(self._limits) + 1)
            times.append(now)

    def _count(self, key: tuple[str, str | None], now: float) -> int:
        times = self._failures.get(key)
        if not times:
            return 0
        while times and times[0] <= now - self._window:
            times.popleft()
        if not times:
            del self._failures[key]
            return 0
        return len(times)
