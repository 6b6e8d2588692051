"""SQLite is opened for durability: WAL, synchronous=FULL, foreign keys, busy timeout."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import event, text

from csms.storage import SqliteSynchronous, create_engine
from csms.storage.engine import is_sqlite, write_transaction


async def _pragmas(
    url: str,
    synchronous: SqliteSynchronous = SqliteSynchronous.FULL,
    busy_timeout_ms: int = 5000,
) -> dict[str, object]:
    engine = create_engine(
        url, sqlite_synchronous=synchronous, sqlite_busy_timeout_ms=busy_timeout_ms
    )
    try:
        async with engine.connect() as conn:
            return {
                name: (await conn.execute(text(f"PRAGMA {name}"))).scalar_one()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            }
    finally:
        await engine.dispose()


async def test_sqlite_defaults_favour_durability(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'a' / 'b' / 'csms.db'}"
    assert await _pragmas(url) == {
        "journal_mode": "wal",
        "synchronous": 2,  # FULL
        "foreign_keys": 1,
        "busy_timeout": 5000,
    }
    assert (tmp_path / "a" / "b").is_dir()


async def test_sqlite_options_are_applied(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'csms.db'}"
    pragmas = await _pragmas(url, SqliteSynchronous.NORMAL, 250)
    assert (pragmas["synchronous"], pragmas["busy_timeout"]) == (1, 250)


async def test_a_write_transaction_takes_the_write_lock_at_begin(tmp_path: Path) -> None:
    path = tmp_path / "csms.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with write_transaction(engine):
            other = sqlite3.connect(path, timeout=0)
            try:
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("BEGIN IMMEDIATE")
            finally:
                other.close()
    finally:
        await engine.dispose()


def test_is_sqlite() -> None:
    assert is_sqlite("sqlite+aiosqlite:///./csms.db")
    assert not is_sqlite("postgresql+asyncpg://u@h/db")


async def test_a_burst_of_reads_reuses_a_fixed_set_of_sqlite_connections(tmp_path: Path) -> None:
    """A reconnect storm must not open (a thread and) a SQLite connection per overflow read."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'csms.db'}")
    opened: list[object] = []
    event.listen(engine.sync_engine, "connect", lambda dbapi, _record: opened.append(dbapi))

    async def read() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            await asyncio.sleep(0.01)

    try:
        for _ in range(3):
            await asyncio.gather(*(read() for _ in range(40)))
    finally:
        await engine.dispose()
    assert 1 <= len(opened) <= 8
