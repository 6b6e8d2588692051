"""The SQLite fast path: each batch is applied on the committer's writer thread, in one hop.

The committer's own rules (isolation of a bad write, outage, backpressure, aclose) are tested in
test_committer.py, which on SQLite now runs them on this path.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import StaticPool

from csms.domain.errors import StorageError
from csms.storage import Store, create_engine, upgrade
from csms.storage.engine import sqlite_writer_engine
from csms.storage.sqlite_writer import _run_to_completion
from csms.storage.tables import status_history
from tests.unit.storage.builders import a_station, a_status
from tests.unit.storage.db import fetch


@pytest.fixture
async def migrated_url(tmp_path: Path) -> AsyncIterator[str]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'csms.db'}"
    await upgrade(url)
    yield url


class _Commits:
    """The threads that committed on the store's engine (its events are shared with the writer)."""

    def __init__(self, store: Store) -> None:
        self.threads: list[str] = []
        self.statements: list[str] = []
        self._engine = store.engine.sync_engine
        event.listen(self._engine, "commit", self._on_commit)
        event.listen(self._engine, "before_cursor_execute", self._on_statement)

    def _on_commit(self, _conn: Connection) -> None:
        self.threads.append(threading.current_thread().name)

    def _on_statement(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self.statements.append(statement)

    def close(self) -> None:
        event.remove(self._engine, "commit", self._on_commit)
        event.remove(self._engine, "before_cursor_execute", self._on_statement)


@pytest.mark.parametrize("fast_path", [True, False])
async def test_a_batch_commits_on_the_writer_thread_and_readers_see_it(
    migrated_url: str, fast_path: bool
) -> None:
    store = Store(create_engine(migrated_url), sqlite_writer_thread=fast_path)
    await store.start()
    try:
        await store.stations.add(a_station("CS1"))
        commits = _Commits(store)
        await asyncio.gather(
            *(store.stations.record_status(a_status(connector_id=i)) for i in range(50))
        )
        commits.close()
        on_writer = [name.startswith("csms-sqlite-writer") for name in commits.threads]
        assert commits.threads and all(on_writer) is fast_path and any(on_writer) is fast_path
        assert "BEGIN IMMEDIATE" in commits.statements
        observer = sqlite3.connect(migrated_url.removeprefix("sqlite+aiosqlite:///"))
        try:
            [(count,)] = observer.execute("SELECT count(*) FROM status_history").fetchall()
        finally:
            observer.close()
        assert count == 50
    finally:
        await store.aclose()


async def test_the_writer_connection_has_the_engine_pragmas(migrated_url: str) -> None:
    engine = create_engine(migrated_url, sqlite_busy_timeout_ms=1234)
    writer = sqlite_writer_engine(engine)
    assert writer is not None
    try:
        with writer.connect() as conn:
            values = [
                conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            ]
        assert values == ["wal", 2, 1, 1234]  # synchronous=2: FULL
    finally:
        writer.dispose()
        await engine.dispose()


async def test_an_in_memory_or_postgresql_engine_keeps_the_async_path() -> None:
    memory = create_engine("sqlite+aiosqlite:///:memory:", poolclass=StaticPool)
    postgresql = create_engine("postgresql+asyncpg://csms:csms@127.0.0.1:9/csms")
    try:
        assert sqlite_writer_engine(memory) is None
        assert sqlite_writer_engine(postgresql) is None
    finally:
        await memory.dispose()
        await postgresql.dispose()


async def test_a_refused_write_is_isolated_and_the_writer_goes_on(migrated_url: str) -> None:
    store = Store(create_engine(migrated_url))
    await store.start()
    try:
        await store.stations.add(a_station("CS1"))
        results = await asyncio.gather(
            store.stations.add(a_station("CS1")),  # duplicate key
            *(store.stations.record_status(a_status(connector_id=i)) for i in range(10)),
            return_exceptions=True,
        )
        assert isinstance(results[0], StorageError)
        assert isinstance(results[0].__cause__, IntegrityError)
        assert results[1:] == [None] * 10
        assert len(await fetch(store.engine, status_history)) == 10
    finally:
        await store.aclose()


async def test_aclose_stops_the_writer_thread(migrated_url: str) -> None:
    store = Store(create_engine(migrated_url))
    await store.start()
    await store.stations.add(a_station("CS1"))
    assert any(t.name.startswith("csms-sqlite-writer") for t in threading.enumerate())
    await store.aclose()
    assert not any(t.name.startswith("csms-sqlite-writer") for t in threading.enumerate())


def test_a_step_that_suspends_is_refused() -> None:
    async def completes() -> int:
        return 7

    async def suspends() -> None:
        await asyncio.sleep(0)

    assert _run_to_completion(completes()) == 7
    with pytest.raises(RuntimeError, match="awaited something"):
        _run_to_completion(suspends())
