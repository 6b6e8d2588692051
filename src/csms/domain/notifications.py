"""Station notifications kept as received: the reports a station sends that csms stores whole.

Some station-initiated 2.x messages describe state csms does not model row by row yet (the charging
profiles a station reports, external charging limits, an EV's charging needs, display messages,
customer information, firmware publication status). They must still be answered schema-valid
and never lost (ocpp-rules §3.3): each is stored whole, with its action, the request it answers
(``requestId`` when it has one) and the time it arrived, and is readable through the API.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

__all__ = ["NotificationLog", "StationNotification"]


@dataclass(frozen=True, slots=True)
class StationNotification:
    """One station-initiated message as received (payload as validated, not rewritten)."""

    station_id: str
    action: str
    payload: dict[str, Any]
    received_at: datetime
    request_id: int | None = None
    evse_id: int | None = None
    id: int | None = None  # storage id, set when read back


class NotificationLog(Protocol):
    """Where whole station notifications are kept (committed before the answer is sent)."""

    async def record(self, notification: StationNotification) -> None:
        """Store one notification."""

    async def list(
        self,
        station_id: str,
        *,
        action: str | None = None,
        request_id: int | None = None,
        limit: int = 100,
        before_id: int | None = None,
    ) -> Sequence[StationNotification]:
        """The station's notifications, newest first, optionally of one action / request."""
        ...
