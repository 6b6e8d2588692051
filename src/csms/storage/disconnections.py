"""The disconnects of a stopping process, written in a few statements for all its stations.

A normal disconnect is one :class:`~csms.storage.writes.RecordConnection` per station (the
station row's online flag and ``disconnected_at``, and a ``connection_events`` row). A worker
that stops with 14,000 sessions used to submit 14,000 of them from 14,000 session teardowns
while closing the sockets (docs/performance.md, "100,000 stations across 7 processes"); this
write stores the same facts for all of them at once, after the sockets are closed: an UPDATE per
chunk of station ids and negotiated version, and one multi-row INSERT per chunk of history rows.

A station that has connected again since the stop began (through another node of the cluster)
has a newer ``connected_at`` and is left online: its new session is the truth.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import func, insert, or_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from csms.domain.connections import Disconnection
from csms.storage.tables import connection_events, stations
from csms.storage.writes import BatchWrite

__all__ = ["CHUNK", "RecordDisconnections"]

# Station ids per UPDATE (well under SQLite's 32,766 bound parameters) and history rows per
# INSERT; 14,000 stations are 14 UPDATEs per version and 14 INSERTs.
CHUNK = 1000


@dataclass(frozen=True, slots=True)
class RecordDisconnections(BatchWrite[None]):
    """Every session of a stopping process ended; ``at`` is when it began closing them."""

    disconnections: Sequence[Disconnection]
    at: datetime

    batch_order: ClassVar[int] = 0

    @classmethod
    async def apply_all(cls, conn: AsyncConnection, writes: list[Any]) -> Sequence[object]:
        for write in writes:
            assert isinstance(write, RecordDisconnections)
            await _apply(conn, write)
        return [None] * len(writes)


async def _apply(conn: AsyncConnection, write: RecordDisconnections) -> None:
    at = write.at
    by_version: dict[str | None, list[str]] = {}
    for d in write.disconnections:
        by_version.setdefault(d.ocpp_version, []).append(d.station_id)
    for version, ids in by_version.items():
        for start in range(0, len(ids), CHUNK):
            await conn.execute(
                update(stations)
                .where(
                    stations.c.id.in_(ids[start : start + CHUNK]),
                    or_(stations.c.connected_at.is_(None), stations.c.connected_at <= at),
                )
                .values(
                    online=False,
                    # As a single disconnect: the last negotiated version is kept (ocpp-rules §3.3).
                    ocpp_version=func.coalesce(version, stations.c.ocpp_version),
                    disconnected_at=at,
                )
            )
    rows = [
        {
            "station_id": d.station_id,
            "online": False,
            "ocpp_version": d.ocpp_version,
            "at": at,
            "reason": d.reason,
        }
        for d in write.disconnections
    ]
    for start in range(0, len(rows), CHUNK):
        await conn.execute(insert(connection_events).values(rows[start : start + CHUNK]))
