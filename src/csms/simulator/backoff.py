"""Reconnection back-off (2.0.1 Part 4 §5.3 and §8; 1.6 errata 3.3).

2.x: the first attempt waits RetryBackOffWaitMinimum plus a random value up to
RetryBackOffRandomRange; each failed attempt doubles the wait, at most RetryBackOffRepeatTimes
times, a new random value being added every time. 1.6 only asks for "an appropriate back-off
mechanism"; the simulator uses the same doubling with the whole wait randomised (±50 %), so a
fleet restarted together spreads out.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from csms.rpc.versions import OcppVersion


def backoff_delays(
    version: OcppVersion,
    *,
    wait_minimum: float,
    random_range: float,
    repeat_times: int,
    rng: random.Random,
) -> Iterator[float]:
    """Yield the wait before each reconnection attempt, forever."""
    attempt = 0
    while True:
        base = wait_minimum * 2 ** min(attempt, repeat_times)
        if version is OcppVersion.V16:
            yield base * rng.uniform(0.5, 1.5)
        else:
            yield base + rng.uniform(0.0, random_range)
        attempt += 1
