"""Create the async engine: SQLite (aiosqlite) by default, PostgreSQL (asyncpg) in production.

SQLite is set up for durability first: "nothing acknowledged to a station is ever lost"
(ocpp-rules §3.3), so every commit is fsynced (``synchronous=FULL``) and the write-ahead log lets
readers run while the committer writes. pysqlite's own transaction handling is switched off so
that SQLAlchemy emits ``BEGIN`` itself (transactional DDL, repeatable reads; see SQLAlchemy's
"Transactions with SQLite" docs); write transactions start with ``BEGIN IMMEDIATE`` so they take
the write lock up front instead of failing to upgrade a read lock.
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import Pool, QueuePool

__all__ = [
    "SINGLE_READ",
    "WRITE",
    "PoolSizing",
    "SqliteSynchronous",
    "create_engine",
    "is_sqlite",
    "single_reads",
    "sqlite_writer_engine",
    "write_transaction",
    "writers",
]

# Execution option marking a connection that will write (SQLite: BEGIN IMMEDIATE).
WRITE = "csms_write"
# Execution option marking a connection that runs one SELECT only (SQLite: no BEGIN, as one
# statement is atomic by itself; saves two round trips to SQLite's thread).
SINGLE_READ = "csms_single_read"
# Engine execution option holding a SQLite file engine's PRAGMAs, so that the committer's
# synchronous writer connection (:func:`sqlite_writer_engine`) is set up exactly the same way.
_SQLITE_PRAGMAS = "csms_sqlite_pragmas"


class SqliteSynchronous(enum.StrEnum):
    """SQLite ``PRAGMA synchronous`` levels that are safe with WAL."""

    FULL = "FULL"  # fsync on every commit: survives power loss
    NORMAL = "NORMAL"  # survives a process crash; a power loss may drop the last commits


@dataclass(frozen=True, slots=True)
class PoolSizing:
    """One process's database pool (CSMS_DATABASE_POOL_SIZE, _MAX_OVERFLOW, _POOL_TIMEOUT);
    None keeps the default of :func:`create_engine`."""

    size: int | None = None
    max_overflow: int | None = None
    timeout: float | None = None


def is_sqlite(url: str | URL) -> bool:
    """Tell whether ``url`` names a SQLite database."""
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(
    url: str | URL,
    *,
    sqlite_synchronous: SqliteSynchronous = SqliteSynchronous.FULL,
    sqlite_busy_timeout_ms: int = 5000,
    poolclass: type[Pool] | None = None,
    echo: bool = False,
    pool_size: int | None = None,
    max_overflow: int | None = None,
    pool_timeout: float | None = None,
) -> AsyncEngine:
    """Create an :class:`AsyncEngine` for ``url`` (``sqlite+aiosqlite://`` or
    ``postgresql+asyncpg://``).

    For a SQLite file the parent directory is created. ``poolclass`` overrides SQLAlchemy's
    default pool (migrations use ``NullPool``). ``pool_size``, ``max_overflow`` and
    ``pool_timeout`` (CSMS_DATABASE_POOL_*; None: the defaults below) size this process's pool:
    each `csms serve --workers` worker has its own, so PostgreSQL's ``max_connections`` must hold
    workers x (size + overflow), twice over during a restart (docs/deployment.md).
    """
    url = make_url(url)
    # hide_parameters: errors and logs must not carry station data or password hashes.
    options: dict[str, Any] = {"echo": echo, "hide_parameters": True}
    if poolclass is not None:
        options["poolclass"] = poolclass
    sizing = {
        name: value
        for name, value in (
            ("pool_size", pool_size),
            ("max_overflow", max_overflow),
            ("pool_timeout", pool_timeout),
        )
        if value is not None and poolclass is None
    }
    if not is_sqlite(url):
        # A connection the server dropped (restart, failover) is replaced before a batch uses it.
        return create_async_engine(url, pool_pre_ping=True, **options, **sizing)
    if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    if poolclass is None:
        # A fixed set of connections (each is a thread in aiosqlite): overflow connections
        # would be opened and closed again under a reconnect storm, a thread and the PRAGMAs
        # each time.
        options.update(pool_size=8, max_overflow=0, pool_timeout=60)
        options.update(sizing)
    pragmas = (
        "PRAGMA journal_mode=WAL",
        f"PRAGMA synchronous={SqliteSynchronous(sqlite_synchronous).value}",
        "PRAGMA foreign_keys=ON",
        f"PRAGMA busy_timeout={int(sqlite_busy_timeout_ms)}",
    )
    if url.database and url.database != ":memory:":
        options["execution_options"] = {_SQLITE_PRAGMAS: pragmas}
    engine = create_async_engine(url, **options)
    _set_up_sqlite(engine.sync_engine, pragmas)
    return engine


def _set_up_sqlite(engine: Engine, pragmas: tuple[str, ...]) -> None:
    _set_up_sqlite_connections(engine, pragmas)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        options = conn.get_execution_options()
        if options.get(WRITE, False):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif not options.get(SINGLE_READ, False):
            conn.exec_driver_sql("BEGIN")


def _set_up_sqlite_connections(engine: Engine, pragmas: tuple[str, ...]) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN, not pysqlite
        cursor = dbapi_connection.cursor()
        try:
            for pragma in pragmas:
                cursor.execute(pragma)
        finally:
            cursor.close()


def sqlite_writer_engine(engine: AsyncEngine) -> Engine | None:
    """Return a synchronous (pysqlite) engine on the same SQLite file as ``engine``, with the same
    PRAGMAs, whose connections write (``BEGIN IMMEDIATE``); None unless ``engine`` is a SQLite
    file engine made by :func:`create_engine` (an in-memory database is private to one
    connection, so it keeps the async path).

    The pool holds one connection, kept open: the committer uses it from one thread only. The
    engine shares ``engine``'s connection events (``begin``, ``commit``, cursor events, present
    and future), as SQLAlchemy's own ``execution_options()`` engines do, so that what listens to
    the store's engine still sees every write.
    """
    pragmas = engine.get_execution_options().get(_SQLITE_PRAGMAS)
    if pragmas is None or not is_sqlite(engine.url):
        return None
    sync = create_sync_engine(
        engine.url.set(drivername="sqlite+pysqlite"),
        poolclass=QueuePool,
        pool_size=1,
        max_overflow=0,
        hide_parameters=True,
        echo=engine.echo,
        execution_options={WRITE: True},
    )
    _set_up_sqlite_connections(sync, pragmas)  # pool events are the pool's own, not shared
    sync.dispatch = sync.dispatch._join(engine.sync_engine.dispatch)
    sync._has_events = True  # check the shared listeners at each event point
    return sync


def single_reads(engine: AsyncEngine) -> AsyncEngine:
    """Return ``engine`` (same pool) for connections that each run a single SELECT."""
    return engine.execution_options(**{SINGLE_READ: True})


def writers(engine: AsyncEngine) -> AsyncEngine:
    """Return ``engine`` (same pool) for connections that write (see :func:`write_transaction`)."""
    return engine.execution_options(**{WRITE: True})


@contextlib.asynccontextmanager
async def write_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """Yield a connection inside a write transaction; commit on normal exit, else roll back.

    Pass :func:`writers` of the engine to save setting the option on every connection.
    """
    marked = engine.get_execution_options().get(WRITE, False)
    async with engine.connect() as conn:
        writer = conn if marked else await conn.execution_options(**{WRITE: True})
        async with writer.begin():
            yield writer
