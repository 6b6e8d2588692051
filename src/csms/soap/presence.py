"""Which SOAP stations are online: a station is while it keeps calling.

A SOAP station has no connection to watch, so it is online while its last call is at most
``timeout`` seconds old (CSMS_HEARTBEAT_INTERVAL + CSMS_SOAP_PRESENCE_GRACE; a Heartbeat at least
every interval keeps it online, 1.6 §4.6). Each online station keeps its :class:`CallContext`
(registration state, counters) between calls, and the latest WS-Addressing From address: the
ChargePointService endpoint csms will call, which the station may change from call to call. The
table holds authenticated, registered stations only, so it is bounded by the station registry;
:meth:`PresenceTable.expire` drops the silent ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from csms.blocks.context import CallContext
from csms.domain.ports import SoapSession


@dataclass(slots=True)
class Presence:
    """One online SOAP station."""

    ctx: CallContext
    ocpp_version: str  # "1.5" or "1.6"
    endpoint: str | None
    last_call: float  # monotonic seconds
    last_call_at: datetime


class PresenceTable:
    """Online SOAP stations by identity; implements :class:`csms.domain.ports.SoapPresence`."""

    def __init__(self, *, timeout: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._timeout = timeout
        self._clock = clock
        self._online: dict[str, Presence] = {}

    def __len__(self) -> int:
        return len(self._online)

    def get(self, station_id: str) -> Presence | None:
        """The station's presence while online."""
        entry = self._online.get(station_id)
        if entry is None or self._clock() - entry.last_call > self._timeout:
            return None
        return entry

    def seen(
        self,
        station_id: str,
        ctx: CallContext,
        *,
        ocpp_version: str,
        endpoint: str | None,
        now: datetime,
    ) -> bool:
        """Note a call of an authenticated station; True if it was offline until now.

        A new From address replaces the stored one; a call without one keeps it.
        """
        entry = self.get(station_id)
        mono = self._clock()
        if entry is None or entry.ocpp_version != ocpp_version:
            self._online[station_id] = Presence(ctx, ocpp_version, endpoint, mono, now)
            return True
        entry.last_call, entry.last_call_at = mono, now
        if endpoint is not None:
            entry.endpoint = endpoint
        return False

    def expire(self) -> list[tuple[str, str]]:
        """Forget the stations silent for longer than the timeout; return (identity, version)."""
        now = self._clock()
        gone = [
            (sid, e.ocpp_version)
            for sid, e in self._online.items()
            if now - e.last_call > self._timeout
        ]
        for sid, _ in gone:
            del self._online[sid]
        return gone

    def soap_session(self, station_id: str) -> SoapSession | None:
        """The station's SOAP session while online (the API shows it as ``transport: soap``)."""
        entry = self.get(station_id)
        if entry is None:
            return None
        return SoapSession(entry.ocpp_version, entry.endpoint, entry.last_call_at)
