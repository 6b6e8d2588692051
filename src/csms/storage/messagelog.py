"""SQL implementation of :class:`csms.domain.messagelog.MessageLogRepository`.

One row per exchange (a CALL and its answer, see :class:`~csms.domain.messagelog.LoggedExchange`).
Written by the recorder's one task in batches, off the stations' hot path. A batch rides in the
group committer's next transaction (:class:`AppendMessages`, one ``executemany``) rather than a
transaction of its own: on SQLite a second writer would take the write lock between the
committer's batches and make them wait in SQLite's busy handler (sleeps of up to 100 ms), and it
would cost a second fsync. A station never waits for a log write: the recorder does.

Pruning deletes the oldest rows in chunks of :data:`PRUNE_CHUNK`, each its own short transaction,
so a large prune never holds SQLite's write lock for long.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import and_, delete, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql import Select

from csms.domain.messagelog import (
    CALL,
    INVALID,
    MAX_EXCHANGE_SECONDS,
    LoggedExchange,
    MessageQuery,
    Retention,
)
from csms.storage.committer import GroupCommitter
from csms.storage.direct import reading, writing
from csms.storage.statements import Prepared
from csms.storage.tables_messagelog import ocpp_messages as table
from csms.storage.writes import BatchWrite

__all__ = ["PRUNE_CHUNK", "SqlMessageLog"]

_COLUMNS = (
    "station_id",
    "at",
    "direction",
    "message_type",
    "message_id",
    "action",
    "size",
    "frame",
    "response_type",
    "latency_ms",
    "error_code",
    "response_size",
    "response_frame",
)
# A row's time is its CALL's, written up to MAX_EXCHANGE_SECONDS later (when answered or given
# up): ids follow the writes, so a time window widened by this much is a safe id range.
_WRITE_DELAY = MAX_EXCHANGE_SECONDS + 10.0
# Tuples straight to the driver (csms.storage.statements): no per-row SQLAlchemy processing.
_INSERT = Prepared(lambda _: insert(table), _COLUMNS, column_keys=_COLUMNS)


@dataclass(frozen=True, slots=True)
class AppendMessages(BatchWrite[None]):
    """A batch of log entries for the group committer (after the stations' own writes)."""

    exchanges: Sequence[LoggedExchange]
    batch_order: ClassVar[int] = 100

    @classmethod
    async def apply_all(cls, conn: AsyncConnection, writes: list[Any]) -> Sequence[object]:
        width = len(_COLUMNS)  # LoggedExchange starts with the stored columns, in their order
        await _INSERT.executemany(conn, [e[:width] for write in writes for e in write.exchanges])
        return [None] * len(writes)


PRUNE_CHUNK = 10_000
# Rows whose mean size estimates the bytes of the whole log.
SIZE_SAMPLE = 1000


class SqlMessageLog:
    """Implements :class:`csms.domain.messagelog.MessageLogRepository`."""

    def __init__(self, engine: AsyncEngine, committer: GroupCommitter) -> None:
        self._engine = engine
        self._committer = committer

    async def append(self, exchanges: Sequence[LoggedExchange]) -> None:
        if exchanges:
            await self._committer.submit(AppendMessages(exchanges))

    async def search(self, query: MessageQuery, limit: int) -> Sequence[LoggedExchange]:
        stmt = _filtered(select(table), query).order_by(table.c.id.desc()).limit(limit)
        async with reading(self._engine) as conn:
            # A time window as an id range too, so the walk from the newest id stops at once.
            if query.since is not None:
                first = await _first_id_at(conn, query.since.timestamp() - _WRITE_DELAY)
                stmt = stmt.where(table.c.id >= first)
            if query.until is not None:
                last = await _first_id_at(conn, query.until.timestamp() + _WRITE_DELAY)
                stmt = stmt.where(table.c.id < last)
            rows = (await conn.execute(stmt)).all()
        return [LoggedExchange._make((*r[1:], r[0])) for r in rows]  # id is first, stored last

    async def prune(self, retention: Retention, now: datetime) -> int:
        keep_from = await self._first_kept(retention, now)
        if keep_from is None:
            return 0
        deleted = 0
        while True:
            chunk = (
                select(table.c.id)
                .where(table.c.id < keep_from)
                .order_by(table.c.id)
                .limit(PRUNE_CHUNK)
                .scalar_subquery()
            )
            async with writing(self._engine) as conn:
                result = await conn.execute(delete(table).where(table.c.id.in_(chunk)))
            count = int(result.rowcount or 0)
            deleted += count
            if count < PRUNE_CHUNK:
                return deleted

    async def _first_kept(self, retention: Retention, now: datetime) -> int | None:
        """The lowest id ``retention`` keeps, or None when nothing is to go.

        Cheap on a large log: ids grow with time (one writer), so the rows too old are the lowest
        ids (found by walking the primary key from the oldest, as far as there is something to
        delete); the row count is the id span (an upper bound where PostgreSQL's sequence left
        gaps) and the bytes are that times the mean size of the newest :data:`SIZE_SAMPLE` rows.
        """
        cutoff = now.timestamp() - retention.max_age
        c = table.c
        async with reading(self._engine) as conn:
            oldest, newest = (await conn.execute(select(func.min(c.id), func.max(c.id)))).one()
            if newest is None:
                return None
            young = (
                await conn.execute(select(c.id).where(c.at >= cutoff).order_by(c.id).limit(1))
            ).scalar()
            recent = (
                select((c.size + func.coalesce(c.response_size, 0)).label("size"))
                .order_by(c.id.desc())
                .limit(SIZE_SAMPLE)
                .subquery()
            )
            mean = (await conn.execute(select(func.avg(recent.c.size)))).scalar() or 0
        keep_from = int(young) if young is not None else newest + 1
        rows = newest - oldest + 1
        keep = retention.max_rows
        if mean and rows * float(mean) > retention.max_bytes:
            keep = min(keep, int(retention.max_bytes / float(mean)))
        if rows > keep:
            keep_from = max(keep_from, newest - keep + 1)
        return keep_from if keep_from > oldest else None


async def _first_id_at(conn: AsyncConnection, at: float) -> int:
    """An id such that rows before it are older than ``at`` + :data:`_WRITE_DELAY`` and rows
    from it on are at least ``at`` - :data:`_WRITE_DELAY` old (one past the newest if none),
    found by bisecting the ids with primary-key lookups. Callers pass a time already widened by
    the delay: a row's time is its CALL's, at most that much before its write, and ids follow
    the writes (one writer, in order), so the range holds every row of the window."""
    c = table.c
    oldest, newest = (await conn.execute(select(func.min(c.id), func.max(c.id)))).one()
    if newest is None:
        return 0
    low, high = int(oldest), int(newest) + 1  # the answer is in [low, high]
    while low < high:
        middle = (low + high) // 2
        found = (
            await conn.execute(select(c.id, c.at).where(c.id >= middle).order_by(c.id).limit(1))
        ).one()
        if found.at < at:
            low = int(found.id) + 1
        else:
            high = middle
    return low


def _filtered(stmt: Select[tuple[object, ...]], query: MessageQuery) -> Select[tuple[object, ...]]:
    c = table.c
    if query.station_id is not None:
        stmt = stmt.where(c.station_id == query.station_id)
    if query.action is not None:
        stmt = stmt.where(c.action == query.action)
    if query.direction is not None:
        stmt = stmt.where(c.direction == query.direction)
    if query.since is not None:
        stmt = stmt.where(c.at >= query.since.timestamp())
    if query.until is not None:
        stmt = stmt.where(c.at < query.until.timestamp())
    if query.errors_only:
        stmt = stmt.where(
            or_(
                c.error_code.is_not(None),
                c.message_type == INVALID,
                and_(c.message_type == CALL, c.response_type.is_(None)),
            )
        )
    if query.before_id is not None:
        stmt = stmt.where(c.id < query.before_id)
    return stmt
