"""SQL implementation of :class:`csms.domain.notifications.NotificationLog`.

A few notifications per station per hour at most, each committed in its own short transaction
(:mod:`csms.storage.direct`) before the station is answered.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from csms.domain.notifications import StationNotification
from csms.storage.direct import reading, writing
from csms.storage.tables_devicemodel import station_notifications as table

__all__ = ["SqlNotificationLog"]


class SqlNotificationLog:
    """Implements :class:`csms.domain.notifications.NotificationLog`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def record(self, notification: StationNotification) -> None:
        async with writing(self._engine) as conn:
            await conn.execute(
                insert(table).values(
                    station_id=notification.station_id,
                    action=notification.action,
                    request_id=notification.request_id,
                    evse_id=notification.evse_id,
                    payload=notification.payload,
                    received_at=notification.received_at,
                )
            )

    async def list(
        self,
        station_id: str,
        *,
        action: str | None = None,
        request_id: int | None = None,
        limit: int = 100,
        before_id: int | None = None,
    ) -> Sequence[StationNotification]:
        stmt = select(table).where(table.c.station_id == station_id)
        if action is not None:
            stmt = stmt.where(table.c.action == action)
        if request_id is not None:
            stmt = stmt.where(table.c.request_id == request_id)
        if before_id is not None:
            stmt = stmt.where(table.c.id < before_id)
        stmt = stmt.order_by(table.c.id.desc()).limit(limit)
        async with reading(self._engine) as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [
            StationNotification(
                station_id=row["station_id"],
                action=row["action"],
                payload=row["payload"],
                received_at=row["received_at"],
                request_id=row["request_id"],
                evse_id=row["evse_id"],
                id=row["id"],
            )
            for row in rows
        ]
