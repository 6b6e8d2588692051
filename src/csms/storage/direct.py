"""Connections for rare operator-driven reads and writes that bypass the group committer.

The group committer batches the writes of station messages, which arrive by the thousand per
second. Operator commands (local lists, charging profiles) write a few rows per command and need a
read-modify-write in one transaction, so they use their own short transaction: committed when the
``async with`` block ends, before the caller returns (ocpp-rules §3.3). SQLite serialises it with
the committer's transactions (``BEGIN IMMEDIATE`` and the busy timeout).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from csms.domain.errors import StorageError
from csms.storage.engine import write_transaction, writers

__all__ = ["reading", "writing"]


@contextlib.asynccontextmanager
async def reading(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """Yield a connection for reads; database failures become :class:`StorageError`."""
    try:
        async with engine.connect() as conn:
            yield conn
    except (SQLAlchemyError, OSError) as exc:
        raise StorageError("could not read from the database") from exc


@contextlib.asynccontextmanager
async def writing(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """Yield a connection in a write transaction, committed on exit; failures → StorageError."""
    try:
        async with write_transaction(writers(engine)) as conn:
            yield conn
    except (SQLAlchemyError, OSError) as exc:
        raise StorageError("could not write to the database") from exc
