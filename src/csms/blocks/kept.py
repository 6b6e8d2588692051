"""Keep a station notification whole (see :mod:`csms.domain.notifications`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from csms.blocks.context import CallContext
from csms.domain.notifications import NotificationLog, StationNotification

__all__ = ["keep"]


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


async def keep(
    log: NotificationLog, ctx: CallContext, action: str, payload: dict[str, Any], now: datetime
) -> None:
    """Store ``payload`` with its ``requestId`` and ``evseId`` (when it has them), then log it."""
    notification = StationNotification(
        station_id=ctx.station_id,
        action=action,
        payload=payload,
        received_at=now,
        request_id=_int(payload.get("requestId")),
        evse_id=_int(payload.get("evseId")),
    )
    await log.record(notification)
    ctx.log.info(
        "%s stored%s",
        action,
        "" if notification.request_id is None else f" (request {notification.request_id})",
    )
