"""The disconnects of a stopping process, written in a few statements for all its stations.

A normal disconnect is one :class:`~csms.storage.writes.RecordConnection` per station (the
station row's online flag and ``disconnected_at``, and a ``connection_events`` row). A worker
that stops with 14,000 sessions used to submit 14,000 of them from 14,000 session teardowns
while closing the sockets (docs/performance.md, "100,000 stations across 7 processes"); this
write stores the same facts for all of them at once, after the sockets are closed: an UPDATE per
chunk of stations and one INSERT per chunk of history rows, each compiled once and executed
with the chunk's rows (one DBAPI executemany).

A station that has connected again since the stop began (through another node of the cluster)
has a newer ``connected_at`` and is left online: its new session is the truth.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import String, bindparam, false, func, or_, update
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Update

from csms.domain.connections import Disconnection
from csms.storage.statements import Prepared, codec
from csms.storage.tables import stations
from csms.storage.types import UtcDateTime
from csms.storage.writes import CONNECTION_HISTORY, BatchWrite

__all__ = ["CHUNK", "RecordDisconnections"]

# Stations per executemany: 14,000 stations are 14 UPDATEs and 14 INSERTs.
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


def _offline_update(_dialect: Dialect) -> Update:
    at = bindparam("b_at", type_=UtcDateTime())
    return (
        update(stations)
        .where(
            stations.c.id == bindparam("b_id", type_=stations.c.id.type),
            or_(stations.c.connected_at.is_(None), stations.c.connected_at <= at),
        )
        .values(
            online=false(),
            # As a single disconnect: the last negotiated version is kept (ocpp-rules §3.3).
            ocpp_version=func.coalesce(
                bindparam("b_version", type_=String()), stations.c.ocpp_version
            ),
            disconnected_at=at,
        )
    )


# Compiled once per dialect and run with executemany (asyncpg pipelines the rows in one round
# trip): cheaper than one multi-row statement per chunk, which SQLAlchemy compiles every time.
_OFFLINE = Prepared(_offline_update, ("b_id", "b_version", "b_at"))


async def _apply(conn: AsyncConnection, write: RecordDisconnections) -> None:
    at = codec(conn.dialect).timestamp(write.at)
    ds = write.disconnections
    for start in range(0, len(ds), CHUNK):
        chunk = ds[start : start + CHUNK]
        await _OFFLINE.executemany(conn, [(d.station_id, d.ocpp_version, at) for d in chunk])
        await CONNECTION_HISTORY.executemany(
            conn, [(d.station_id, False, d.ocpp_version, at, d.reason) for d in chunk]
        )
