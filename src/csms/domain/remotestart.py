"""Remote start correlation (2.0.1 F01/F02): which transaction a RequestStartTransaction started.

csms sends a ``remoteStartId`` with every 2.x RequestStartTransaction (the typed command returns
it); the station repeats it as ``transactionInfo.remoteStartId`` in the TransactionEvent that
starts (F02) or continues (F01, cable plugged in first) the transaction (Part 6 TC_F_01..04).
The event is stored whole, so the link is read from the stored events, not kept twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

__all__ = ["RemoteStartLink", "RemoteStartLinks"]


@dataclass(frozen=True, slots=True)
class RemoteStartLink:
    """A stored TransactionEvent that carried the remoteStartId."""

    transaction_id: str
    event_type: str
    seq_no: int
    trigger_reason: str
    timestamp: datetime
    evse_id: int | None = None
    connector_id: int | None = None
    id_token: str | None = None


class RemoteStartLinks(Protocol):
    """Reads the TransactionEvents that answer a remote start."""

    async def events_for(
        self, station_id: str, remote_start_id: int, *, limit: int = 100
    ) -> Sequence[RemoteStartLink]:
        """The station's events carrying ``remote_start_id``, oldest first."""
        ...
