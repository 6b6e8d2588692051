"""Boot pacing: spread a reconnect storm the OCPP way, with BootNotification Pending.

When a whole fleet reconnects at once (a CSMS restart, a network outage), every station sends its
BootNotification within seconds, and a CSMS that tries to accept them all answers late: stations
time out, retry, and multiply the load (docs/performance.md, "Reconnect storm"). OCPP gives the
CSMS a pacing tool: a BootNotification answered ``Pending`` with an ``interval`` tells the station
to send a new BootNotification after that many seconds, and nothing else meanwhile (1.6 §4.2 and
§6.2 "BootNotification.conf"; 2.0.1 B02 "Cold Boot Charging Station – Pending", B02.FR.01/02).

:class:`BootPacer` admits at most ``rate`` boots per second (a token bucket holding one second's
worth); each boot beyond that is answered Pending with an interval proportional to the number of
stations already told to wait (which drains at ``rate`` per second), randomised by ±50 % so that
they come back spread out rather than together. Off unless configured
(``CSMS_BOOT_PACING_RATE``); an idle CSMS never defers anyone.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable


class BootPacer:
    """Token bucket of accepted boots plus an estimate of the stations told to come back."""

    def __init__(
        self,
        rate: float,
        *,
        min_interval: int = 5,
        max_interval: int = 600,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ) -> None:
        if rate <= 0 or not 1 <= min_interval <= max_interval:
            raise ValueError("need rate > 0 and 1 <= min_interval <= max_interval")
        self._rate = rate
        self._burst = max(1.0, rate)
        self._min = min_interval
        self._max = max_interval
        self._clock = clock
        self._rng = rng
        self._tokens = self._burst
        self._waiting = 0.0
        self._last = clock()

    @property
    def waiting(self) -> float:
        """Estimated stations told to wait that have not come back yet."""
        return self._waiting

    def defer(self) -> int | None:
        """None: handle this BootNotification now. Else: the Pending interval in seconds."""
        now = self._clock()
        elapsed = max(0.0, now - self._last)
        self._last = now
        self._tokens = min(self._burst, self._tokens + elapsed * self._rate)
        self._waiting = max(0.0, self._waiting - elapsed * self._rate)
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return None
        self._waiting += 1.0
        backlog = self._waiting / self._rate
        interval = backlog * (0.5 + self._rng())
        return max(self._min, min(self._max, math.ceil(interval)))
