"""The station read of a handshake on SQLite without the async engine (issue 11, item 5).

Every reconnect reads its station row once. Through SQLAlchemy's async engine that read costs a
pool checkout, a greenlet switch, a hop to aiosqlite's thread and back, and result metadata: about
40 % of the CPU of a reconnect+boot (docs/performance.md, "Reconnect+boot CPU per station").
This reader runs the same one-row primary-key SELECT on a dedicated read-only ``sqlite3``
connection, synchronously on the event loop: a few microseconds of C once the pages are cached.

It is a *read path*, not a cache: every call reads the committed row, so a password changed, a
station rejected or deleted by any process (API node, other worker, ``csms`` command) takes
effect at the next handshake. It never waits on the event loop: the connection has no busy
timeout and autocommit, so each SELECT is its own WAL snapshot of the last commit; when SQLite
answers busy or fails in any other way the caller falls back to the async engine (which waits,
in its thread, as before). In-memory databases (one per connection) are not read this way.
"""

from __future__ import annotations

import enum
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import URL

from csms.storage import rows
from csms.storage.tables import stations

__all__ = ["FALLBACK", "Fallback", "SqliteStationReader", "sqlite_file"]


class Fallback(enum.Enum):
    """The reader could not answer: read through the async engine instead."""

    FALLBACK = "fallback"


FALLBACK: Final = Fallback.FALLBACK

_SQL: Final = str(
    select(*(stations.c[name] for name in rows.STATION_FIELDS))
    .where(stations.c.id == bindparam("b_id"))
    .compile(dialect=sqlite_dialect.dialect())
)


def sqlite_file(url: URL) -> Path | None:
    """The database file of a SQLite ``url``; None for in-memory and ``file:`` URI databases."""
    database = url.database
    if url.get_backend_name() != "sqlite" or not database:
        return None
    if database == ":memory:" or database.startswith("file:") or url.query.get("uri"):
        return None
    return Path(database).expanduser()


class SqliteStationReader:
    """One read-only connection of the event loop's thread to a SQLite file; opened on first use."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._conn: sqlite3.Connection | None = None

    def fetch(self, station_id: str) -> Sequence[Any] | Fallback | None:
        """The raw ``stations`` row of ``station_id`` (``STATION_FIELDS`` order), None if there
        is none, or :data:`FALLBACK` when SQLite cannot answer at once (busy, I/O error)."""
        try:
            conn = self._conn if self._conn is not None else self._open()
            found = conn.execute(_SQL, (station_id,)).fetchall()
        except sqlite3.Error:
            self.close()  # reopened at the next read: a replaced file, a transient error
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

    def close(self) -> None:
        """Close the connection (idempotent); the next :meth:`fetch` opens a new one."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
