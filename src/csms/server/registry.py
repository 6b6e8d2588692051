"""Live sessions by station identity; implements :class:`csms.domain.ports.StationGateway`.

There is never more than one live session per identity: :meth:`ConnectionRegistry.register` closes
a previous session before the new one takes its place, so a command can only reach the newest one
and never a stale socket.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from csms.domain.errors import StationNotConnected
from csms.domain.ports import SessionCounters
from csms.log import LogLimiter
from csms.server.connection import CLOSE_POLICY_VIOLATION, StationConnection

logger = logging.getLogger(__name__)


class ConnectionRegistry:
    """Maps station identities to their live :class:`StationConnection`."""

    def __init__(self, *, log_limiter: LogLimiter | None = None) -> None:
        self._limiter = log_limiter if log_limiter is not None else LogLimiter()
        self._live: dict[str, StationConnection] = {}
        self._closing: set[asyncio.Task[None]] = set()
        # Sessions ended so far, and of those the ones whose objects were frozen (alive at a
        # ``gc.freeze``): the freezer thaws and collects only for the latter, since a session that
        # ended before any freeze is collected by the ordinary generations (a storm's refused or
        # timed-out sessions would otherwise trigger a full collection every few seconds).
        self.ended = 0
        self.ended_frozen = 0
        # Incremented at each freeze; a session remembers the value it registered under.
        self.freeze_epoch = 0
        # The cluster (issue 11) announces each session cluster-wide: called after a session is
        # registered and after it is unregistered. None in one process.
        self.on_register: Callable[[StationConnection], None] | None = None
        self.on_unregister: Callable[[StationConnection], None] | None = None

    def __len__(self) -> int:
        return len(self._live)

    def get(self, station_id: str) -> StationConnection | None:
        """Return the live session of ``station_id``, if any."""
        return self._live.get(station_id)

    def register(self, conn: StationConnection) -> None:
        """Make ``conn`` the live session of its station, closing any previous one."""
        old = self._live.get(conn.station_id)
        self._live[conn.station_id] = conn
        conn.freeze_epoch = self.freeze_epoch
        if self.on_register is not None:
            self.on_register(conn)
        if old is not None and old is not conn:
            self._limiter.log(
                logger,
                logging.WARNING,
                conn.station_id,
                "session replaced",
                "[%s] security: a new authenticated session replaces the previous one",
                conn.station_id,
            )
            task = asyncio.create_task(
                old.close(CLOSE_POLICY_VIOLATION, "replaced by a new session")
            )
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    def unregister(self, conn: StationConnection) -> bool:
        """Forget ``conn`` if it is still the live session; return whether it was."""
        if self._live.get(conn.station_id) is conn:
            del self._live[conn.station_id]
            self.ended += 1
            if conn.freeze_epoch < self.freeze_epoch:
                self.ended_frozen += 1
            if self.on_unregister is not None:
                self.on_unregister(conn)
            return True
        return False

    def frozen(self) -> None:
        """The live sessions' objects were just frozen (:mod:`csms.server.gcfreeze`)."""
        self.freeze_epoch += 1

    def connections(self) -> list[StationConnection]:
        """Every live session."""
        return list(self._live.values())

    def by_version(self) -> dict[str, int]:
        """Live sessions per negotiated OCPP version (for /metrics; 1.5J counts as "1.5")."""
        counts: dict[str, int] = {}
        for conn in self._live.values():
            counts[conn.protocol] = counts.get(conn.protocol, 0) + 1
        return counts

    # ---------------------------------------------------------------- StationGateway

    def is_connected(self, station_id: str) -> bool:
        """True while the station has a live session."""
        return station_id in self._live

    def ocpp_version(self, station_id: str) -> str | None:
        """The version commands are spelled in for the live session (1.6 for a 1.5J station,
        whose payloads the connection maps; the API shows the negotiated 1.5 from storage)."""
        conn = self._live.get(station_id)
        return None if conn is None else conn.version.value

    def session_counters(self, station_id: str) -> SessionCounters | None:
        """Protocol violations, lenient schema violations and held-back log lines of the session."""
        conn = self._live.get(station_id)
        if conn is None:
            return None
        ctx = conn.ctx
        return SessionCounters(
            protocol_violations=ctx.protocol_violations,
            schema_violations=ctx.schema_violations,
            suppressed_log_lines=ctx.suppressed_log_lines,
        )

    async def call(
        self,
        station_id: str,
        action: str,
        payload: dict[str, Any],
        *,
        timeout: float | None = None,
        password_rotation: bool = False,
    ) -> dict[str, Any]:
        """Send a CALL to a connected station (see :meth:`StationConnection.call`)."""
        conn = self._live.get(station_id)
        if conn is None:
            raise StationNotConnected(f"station {station_id!r} is not connected")
        return await conn.call(
            action, payload, timeout=timeout, password_rotation=password_rotation
        )
