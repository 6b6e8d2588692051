"""The connection history (:mod:`csms.domain.connections`) read from ``connection_events``,
which the group committer writes with every connect and disconnect (storage/writes.py)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from csms.domain.connections import ConnectionEvent
from csms.storage.direct import reading
from csms.storage.tables import connection_events

__all__ = ["SqlConnectionHistory"]


class SqlConnectionHistory:
    """Pages of one station's connection history, newest first (index station_id, id)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def connections(
        self, station_id: str, *, before_id: int | None = None, limit: int = 50
    ) -> Sequence[ConnectionEvent]:
        t = connection_events
        stmt = select(t).where(t.c.station_id == station_id).order_by(t.c.id.desc()).limit(limit)
        if before_id is not None:
            stmt = stmt.where(t.c.id < before_id)
        async with reading(self._engine) as conn:
            result = await conn.execute(stmt)
            return [
                ConnectionEvent(
                    id=row["id"],
                    station_id=row["station_id"],
                    online=bool(row["online"]),
                    at=row["at"],
                    ocpp_version=row["ocpp_version"],
                    reason=row["reason"],
                )
                for row in result.mappings()
            ]
