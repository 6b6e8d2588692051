"""Refused handshakes logged at a bounded rate.

A flood of refusals (a scanner, a guesser, a misconfigured fleet) must not fill the disk: per kind of
refusal, at most ``lines`` messages are written per ``interval``; the rest are counted and reported in
one summary line when the next interval begins (or on :meth:`RefusalLog.flush`). Kinds are a fixed
set of names chosen by the caller, so the state is bounded. Time comes from an injected clock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class _Interval:
    start: float
    level: int
    logged: int = 0
    suppressed: int = 0


class RefusalLog:
    """Writes up to ``lines`` messages per kind per ``interval``, then one summary with a count."""

    def __init__(
        self,
        logger: logging.Logger,
        *,
        lines: int = 10,
        interval: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._lines = lines
        self._interval = interval
        self._clock = clock
        self._kinds: dict[str, _Interval] = {}
        self.totals: dict[str, int] = {}

    def log(self, kind: str, level: int, message: str, *args: object) -> None:
        """Log ``message % args`` unless ``kind`` already used its lines in this interval."""
        now = self._clock()
        self.totals[kind] = self.totals.get(kind, 0) + 1
        current = self._kinds.get(kind)
        if current is None or now - current.start >= self._interval:
            if current is not None:
                self._summarise(kind, current, now)
            current = self._kinds[kind] = _Interval(start=now, level=level)
        if current.logged < self._lines:
            current.logged += 1
            self._logger.log(level, message, *args)
        else:
            current.suppressed += 1

    def flush(self) -> None:
        """Write the summaries of refusals not logged yet (e.g. at shutdown)."""
        now = self._clock()
        for kind, current in self._kinds.items():
            self._summarise(kind, current, now)
        self._kinds.clear()

    def _summarise(self, kind: str, current: _Interval, now: float) -> None:
        if current.suppressed:
            self._logger.log(
                current.level,
                "%s: %d more refused handshakes not logged in the last %.0f s",
                kind,
                current.suppressed,
                now - current.start,
            )
