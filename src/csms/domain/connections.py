"""A station's connection history: when it connected (with the OCPP version negotiated) and
when it went away, and why (the WebSocket close code, RFC 6455 §7.4).

The rows are written by the group committer with the station's online flag (one statement per
batch, never on a message's path); this port only reads them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Protocol

__all__ = ["ConnectionEvent", "ConnectionHistory", "Disconnection", "close_reason"]

# RFC 6455 §7.4.1 and the IANA registry: the codes a station's connection usually ends with.
CLOSE_CODES: Final = {
    1000: "normal closure",
    1001: "going away",
    1002: "protocol error",
    1003: "unsupported data",
    1006: "connection lost (no close frame)",
    1007: "invalid payload",
    1008: "policy violation",
    1009: "message too big",
    1011: "server error",
    1012: "service restart",
    1013: "try again later",
}
MAX_REASON: Final = 160  # the column's width


@dataclass(frozen=True, slots=True)
class ConnectionEvent:
    """One connect (``online``) or disconnect of a station."""

    id: int
    station_id: str
    online: bool
    at: datetime
    ocpp_version: str | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class Disconnection:
    """A session that ended while its process stopped; written with the others in bulk."""

    station_id: str
    ocpp_version: str | None
    reason: str


class ConnectionHistory(Protocol):
    """Reads the connection history (newest first)."""

    async def connections(
        self, station_id: str, *, before_id: int | None = None, limit: int = 50
    ) -> Sequence[ConnectionEvent]:
        """The station's connects and disconnects with an id below ``before_id``, newest first."""
        ...


def close_reason(code: int | None, reason: str | None) -> str:
    """A disconnect's reason in words: ``1001 going away``, plus the peer's reason text."""
    if code is None:
        return "connection lost (no close frame)"
    text = f"{code} {CLOSE_CODES.get(code, 'closed')}"
    if reason:
        text = f"{text}: {reason}"
    return text[:MAX_REASON]
