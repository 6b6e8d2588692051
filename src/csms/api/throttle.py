"""Refusals are logged at a bounded rate: a client hammering the API cannot fill the disk."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

# At most this many lines per interval per throttle; the rest are counted and summarised.
LINES_PER_INTERVAL = 10
INTERVAL = 60.0  # seconds


class LogThrottle:
    """Log up to :data:`LINES_PER_INTERVAL` lines per :data:`INTERVAL`, then one summary."""

    def __init__(self, logger: logging.Logger, *, clock: Callable[[], float] = time.monotonic):
        self._logger = logger
        self._clock = clock
        self._window_start = float("-inf")
        self._logged = 0
        self._suppressed = 0

    def info(self, message: str, *args: object) -> None:
        self.log(logging.INFO, message, *args)

    def warning(self, message: str, *args: object) -> None:
        self.log(logging.WARNING, message, *args)

    def log(self, level: int, message: str, *args: object) -> None:
        now = self._clock()
        if now - self._window_start >= INTERVAL:
            if self._suppressed:
                self._logger.log(
                    level,
                    "... %d more such refusals in the last %.0f s",
                    self._suppressed,
                    INTERVAL,
                )
            self._window_start, self._logged, self._suppressed = now, 0, 0
        if self._logged < LINES_PER_INTERVAL:
            self._logged += 1
            self._logger.log(level, message, *args)
        else:
            self._suppressed += 1
