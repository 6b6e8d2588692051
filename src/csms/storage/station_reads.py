"""The station read of a handshake without the async engine's per-call layers (issue 11, item 5).

Every reconnect reads its station row once. Through SQLAlchemy's async engine that read costs a
pool checkout (on PostgreSQL with a pre-ping round trip), a greenlet switch, on SQLite a hop to
aiosqlite's thread and back, and result processing: about 40 % of the CPU of a reconnect+boot
(docs/performance.md, "Reconnect+boot CPU per station"). These readers run the same one-row
primary-key SELECT straight on the driver:

* SQLite file: a dedicated read-only ``sqlite3`` connection, synchronously on the event loop (a
  few microseconds of C once the pages are cached). It never waits there: no busy timeout, so a
  busy database is a fallback, not a stall.
* PostgreSQL: one connection of the engine's pool kept checked out, queried through asyncpg
  directly (one round trip, asyncpg's own prepared statement). One read at a time: a read that
  finds it busy goes through the engine instead of queueing behind it.

They are *read paths*, not caches: every call reads the committed row (autocommit, a snapshot per
statement), so a password changed, a station rejected or deleted by any process (API node, other
worker, ``csms`` command) takes effect at the next handshake. Whenever a reader cannot answer
(busy, connection lost, any driver error) it says :data:`FALLBACK` and the repository reads
through the async engine as before; a failed connection is dropped and reopened at the next read.
"""

from __future__ import annotations

import enum
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final, Protocol

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from csms.storage import rows
from csms.storage.tables import stations

__all__ = [
    "FALLBACK",
    "Fallback",
    "PostgresStationReader",
    "SqliteStationReader",
    "StationReader",
    "direct_reader",
    "sqlite_file",
]


class Fallback(enum.Enum):
    """The reader could not answer: read through the async engine instead."""

    FALLBACK = "fallback"


FALLBACK: Final = Fallback.FALLBACK

_SELECT = select(*(stations.c[name] for name in rows.STATION_FIELDS)).where(
    stations.c.id == bindparam("b_id")
)
_SQLITE_SQL: Final = str(_SELECT.compile(dialect=sqlite_dialect.dialect()))
# After its connection failed, the PostgreSQL reader leaves the reads to the engine this long (an
# outage: one connection attempt per handshake, the engine's, not two).
RETRY_AFTER: Final = 1.0  # seconds
_POSTGRES_SQL: Final = str(_SELECT.compile(dialect=asyncpg_dialect.dialect()))  # type: ignore[no-untyped-call]


class StationReader(Protocol):
    """A direct read of one ``stations`` row (``STATION_FIELDS`` order, the driver's values)."""

    async def fetch(self, station_id: str) -> Sequence[Any] | Fallback | None:
        """The row, None if there is none, or :data:`FALLBACK` when it cannot answer now."""
        ...

    async def aclose(self) -> None:
        """Release the connection (idempotent); a later :meth:`fetch` opens a new one."""
        ...


def sqlite_file(url: URL) -> Path | None:
    """The database file of a SQLite ``url``; None for in-memory and ``file:`` URI databases."""
    database = url.database
    if url.get_backend_name() != "sqlite" or not database:
        return None
    if database == ":memory:" or database.startswith("file:") or url.query.get("uri"):
        return None
    return Path(database).expanduser()


def direct_reader(engine: AsyncEngine) -> StationReader | None:
    """The direct reader for ``engine``'s database, None where there is none (in-memory SQLite)."""
    if engine.dialect.name == "postgresql" and engine.dialect.driver == "asyncpg":
        return PostgresStationReader(engine)
    path = sqlite_file(engine.url)
    return SqliteStationReader(path) if path is not None else None


class SqliteStationReader:
    """One read-only connection of the event loop's thread to a SQLite file; opened on first use."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._conn: sqlite3.Connection | None = None

    async def fetch(self, station_id: str) -> Sequence[Any] | Fallback | None:
        try:
            conn = self._conn if self._conn is not None else self._open()
            found = conn.execute(_SQLITE_SQL, (station_id,)).fetchall()
        except sqlite3.Error:
            self._close()  # reopened at the next read: a replaced file, a transient error
            return FALLBACK
        return found[0] if found else None

    def _open(self) -> sqlite3.Connection:
        uri = f"{self._path.resolve().as_uri()}?mode=ro"
        # check_same_thread=False: opened and used on the event loop's thread, closed by the
        # store, possibly from another thread at interpreter shutdown.
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA busy_timeout=0")  # never block the event loop: fall back
            conn.execute("PRAGMA query_only=ON")
        except sqlite3.Error:
            conn.close()
            raise
        self._conn = conn
        return conn

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    async def aclose(self) -> None:
        self._close()


class PostgresStationReader:
    """One pooled connection kept checked out, read through asyncpg itself; one read at a time."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._conn: AsyncConnection | None = None
        self._driver: Any = None  # asyncpg.Connection (asyncpg ships no type hints)
        self._busy = False
        self._retry_at = 0.0  # time.monotonic() before which the engine reads (see RETRY_AFTER)

    async def fetch(self, station_id: str) -> Sequence[Any] | Fallback | None:
        if self._busy:  # another handshake's read is on the wire: do not queue behind it
            return FALLBACK
        if self._driver is None and time.monotonic() < self._retry_at:
            return FALLBACK
        self._busy = True
        try:
            driver = self._driver if self._driver is not None else await self._open()
            found = await driver.fetchrow(_POSTGRES_SQL, station_id)
        except Exception:  # any driver failure: drop it, the engine answers for a while
            self._retry_at = time.monotonic() + RETRY_AFTER
            await self._drop()
            return FALLBACK
        except BaseException:  # cancelled mid-query: its state is unknown, never reuse it
            self._abandon()
            raise
        finally:
            self._busy = False
        return None if found is None else tuple(found)

    async def _open(self) -> Any:
        if self._conn is not None:  # abandoned by a cancelled read
            await self._drop()
        conn = await self._engine.connect()
        try:
            raw = await conn.get_raw_connection()
        except BaseException:
            await conn.close()
            raise
        self._conn, self._driver = conn, raw.driver_connection
        return self._driver

    def _abandon(self) -> None:
        """Close the driver's socket at once (no await: we are being cancelled); the pooled
        connection is invalidated by the next read or :meth:`aclose`."""
        driver, self._driver = self._driver, None
        if driver is not None:
            driver.terminate()

    async def _drop(self) -> None:
        """Invalidate the connection (it may be broken), so the pool never hands it out again."""
        conn, self._conn, self._driver = self._conn, None, None
        if conn is not None:
            try:
                await conn.invalidate()
                await conn.close()
            except Exception:  # already unusable: nothing more to release
                pass

    async def aclose(self) -> None:
        if self._driver is None:
            await self._drop()
            return
        conn, self._conn, self._driver = self._conn, None, None
        if conn is not None:
            await conn.close()
