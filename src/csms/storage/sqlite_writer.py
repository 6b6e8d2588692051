"""The SQLite fast path: a whole batch in one hop to a dedicated writer thread.

With aiosqlite every statement of a batch is a round trip to aiosqlite's thread (a queue put, a
``call_soon_threadsafe`` back, a greenlet switch in SQLAlchemy's async layer), and BEGIN and
COMMIT are two more. For SQLite, where the work is all in-process, those hops cost more CPU than
the statements themselves (docs/performance.md, "Why the 10x targets are missed"). So
:class:`SqliteWriter` runs the same :func:`~csms.storage.writes.apply_batch` (one code path for
both databases) on one thread of its own that holds a synchronous pysqlite connection, with
the same PRAGMAs (WAL, ``synchronous``, foreign keys, busy timeout) and ``BEGIN IMMEDIATE``: the
loop hands over a batch once and is called back once, when it is committed or rolled back.

The batch steps are coroutines written against :class:`AsyncConnection`; on the writer thread they
get :class:`_ImmediateConnection`, an :class:`AsyncConnection` whose ``execute`` and
``exec_driver_sql`` run on the synchronous connection and return before their first ``await``
could suspend, so :func:`_run_to_completion` drives the whole coroutine with one ``send``. A step
that awaited anything else would suspend, and is refused with :class:`RuntimeError`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.engine import Connection, CursorResult, Engine
from sqlalchemy.engine.interfaces import (
    CoreExecuteOptionsParameter,
    _CoreAnyExecuteParams,
    _DBAPIAnyExecuteParams,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.base import Executable

from csms.storage.engine import sqlite_writer_engine
from csms.storage.writes import Write, apply_batch

__all__ = ["SqliteWriter"]

T = TypeVar("T")


class SqliteWriter:
    """Apply batches on one dedicated thread with a synchronous SQLite connection."""

    def __init__(self, engine: AsyncEngine, sync_engine: Engine) -> None:
        self._engine = engine
        self._sync_engine = sync_engine
        # One thread, for ever the same: pysqlite connections belong to the thread that made them.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="csms-sqlite-writer")

    @classmethod
    def for_engine(cls, engine: AsyncEngine) -> SqliteWriter | None:
        """Return a writer for a SQLite file ``engine``, else None (PostgreSQL keeps asyncpg)."""
        sync_engine = sqlite_writer_engine(engine)
        return None if sync_engine is None else cls(engine, sync_engine)

    async def apply(
        self, writes: list[Write[object]], touches: Mapping[str, datetime]
    ) -> list[object]:
        """Apply ``writes`` and ``touches`` in one transaction on the writer thread and commit;
        roll back and raise what the database raised otherwise."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._transaction, writes, touches)

    def _transaction(
        self, writes: Sequence[Write[object]], touches: Mapping[str, datetime]
    ) -> list[object]:
        with self._sync_engine.connect() as sync_conn, sync_conn.begin():
            conn = _ImmediateConnection(self._engine, sync_conn)
            return _run_to_completion(apply_batch(conn, writes, touches))

    def close(self) -> None:
        """Wait for the batch in progress (if any), stop the thread, close the connection."""
        self._executor.submit(self._sync_engine.dispose).result()
        self._executor.shutdown(wait=True)


def _run_to_completion(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro``, which must never suspend, to its end in the calling thread."""
    try:
        coro.send(None)
    except StopIteration as stop:
        result: T = stop.value
        return result
    coro.close()
    raise RuntimeError("a batch step awaited something other than its connection")


class _ImmediateConnection(AsyncConnection):
    """An :class:`AsyncConnection` on a synchronous connection whose statements complete at once.

    Only what batch steps use is overridden; anything else would suspend (and is refused by
    :func:`_run_to_completion`).
    """

    __slots__ = ()

    def __init__(self, engine: AsyncEngine, sync_connection: Connection) -> None:
        super().__init__(engine, sync_connection)

    async def execute(
        self,
        statement: Executable,
        parameters: _CoreAnyExecuteParams | None = None,
        *,
        execution_options: CoreExecuteOptionsParameter | None = None,
    ) -> CursorResult[Any]:
        return self._proxied.execute(statement, parameters, execution_options=execution_options)

    async def exec_driver_sql(
        self,
        statement: str,
        parameters: _DBAPIAnyExecuteParams | None = None,
        execution_options: CoreExecuteOptionsParameter | None = None,
    ) -> CursorResult[Any]:
        return self._proxied.exec_driver_sql(statement, parameters, execution_options)
