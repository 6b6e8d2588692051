"""``gc.freeze()`` after a burst of connections, so full collections stop walking the fleet.

Each live session keeps ~80 objects the garbage collector tracks, and a full (generation 2)
collection walks all of them with the event loop stopped: ~0.66 µs per object, ~1 s at 19,000
stations (docs/performance.md, "Scale: 19,000 stations"). Sessions live for hours, so once a
burst of connections is over their objects are moved to the permanent generation (``gc.freeze``)
like the start-up objects (``csms serve``, ``CSMS_GC_FREEZE``): later collections skip them.
Reference counting still frees a frozen session that ends; only its reference cycles wait. When
a quarter of the frozen sessions have ended, the frozen objects are given back, collected once,
and the survivors frozen again, so churn cannot grow the process without bound. Only sessions
that were frozen count (``ConnectionRegistry.ended_frozen``): in a reconnect storm most sessions
that end (timed out, replaced) never were, and counting them thawed and collected everything
every few seconds (9 % of a storm's CPU, a py-spy profile of 10,000 stations on 2 workers).
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)

# Seconds between two looks at the number of sessions.
FREEZE_CHECK_INTERVAL = 5.0
# New sessions since the last freeze that make a burst worth freezing.
FREEZE_MIN_SESSIONS = 500


class SessionFreezer:
    """Decides, once per check, whether to freeze the sessions' objects or to thaw and collect.

    ``sessions`` is the number of live sessions and ``ended`` the number ended so far
    (:class:`~csms.server.registry.ConnectionRegistry`); the gc functions are injectable for tests.
    """

    __slots__ = (
        "_collect",
        "_ended",
        "_ended_at_freeze",
        "_freeze",
        "_frozen_sessions",
        "_last",
        "_min_sessions",
        "_sessions",
        "_unfreeze",
    )

    def __init__(
        self,
        sessions: Callable[[], int],
        ended: Callable[[], int],
        *,
        min_sessions: int = FREEZE_MIN_SESSIONS,
        freeze: Callable[[], None] = gc.freeze,
        unfreeze: Callable[[], None] = gc.unfreeze,
        collect: Callable[[int], int] = gc.collect,
    ) -> None:
        self._sessions = sessions
        self._ended = ended
        self._min_sessions = min_sessions
        self._freeze = freeze
        self._unfreeze = unfreeze
        self._collect = collect
        self._frozen_sessions = 0  # live sessions at the last freeze
        self._ended_at_freeze = ended()
        self._last = sessions()

    def check(self) -> str | None:
        """Freeze after a burst, thaw-collect-freeze after churn; returns what was done."""
        live, ended = self._sessions(), self._ended()
        growing = live - self._last
        self._last = live
        churned = ended - self._ended_at_freeze
        if self._frozen_sessions and churned >= max(self._min_sessions, self._frozen_sessions / 4):
            # The ended sessions' cycles are in the permanent generation: one full collection.
            self._unfreeze()
            self._collect(2)
            self._freeze()
            self._mark(live, ended)
            logger.info("garbage collector: %d ended sessions collected, %d frozen", churned, live)
            return "collected"
        grown = live - self._frozen_sessions
        # A burst is over when it has added enough sessions and has (nearly) stopped.
        if grown >= self._min_sessions and growing <= max(grown // 20, 1):
            self._collect(1)  # the young generations' garbage is not frozen with the sessions
            self._freeze()
            self._mark(live, ended)
            logger.info("garbage collector: %d sessions' objects frozen", live)
            return "frozen"
        return None

    def _mark(self, live: int, ended: int) -> None:
        self._frozen_sessions = live
        self._ended_at_freeze = ended
