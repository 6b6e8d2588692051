"""SQL implementation of :class:`csms.domain.remotestart.RemoteStartLinks`.

Reads ``transactionInfo.remoteStartId`` out of the stored TransactionEvent (``raw``, JSON) with the
dialect's JSON path operator (SQLite ``JSON_EXTRACT``, PostgreSQL ``#>>``), limited to one
station's events: an operator's look-up, not a hot path, and nothing to keep in step on writes.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from csms.domain.remotestart import RemoteStartLink
from csms.storage.direct import reading
from csms.storage.tables import transaction_events as events

__all__ = ["SqlRemoteStartLinks"]

_REMOTE_START_ID = events.c.raw[("transactionInfo", "remoteStartId")].as_integer()


class SqlRemoteStartLinks:
    """Implements :class:`csms.domain.remotestart.RemoteStartLinks`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def events_for(
        self, station_id: str, remote_start_id: int, *, limit: int = 100
    ) -> Sequence[RemoteStartLink]:
        stmt = (
            select(
                events.c.transaction_id,
                events.c.event_type,
                events.c.seq_no,
                events.c.trigger_reason,
                events.c.timestamp,
                events.c.evse_id,
                events.c.connector_id,
                events.c.id_token,
            )
            .where(events.c.station_id == station_id, remote_start_id == _REMOTE_START_ID)
            .order_by(events.c.id)
            .limit(limit)
        )
        async with reading(self._engine) as conn:
            rows = (await conn.execute(stmt)).all()
        return [
            RemoteStartLink(
                transaction_id=row.transaction_id,
                event_type=row.event_type,
                seq_no=int(row.seq_no),
                trigger_reason=row.trigger_reason,
                timestamp=row.timestamp,
                evse_id=row.evse_id,
                connector_id=row.connector_id,
                id_token=row.id_token,
            )
            for row in rows
        ]
