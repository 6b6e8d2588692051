"""Helpers that look at the database behind a store, bypassing the repositories."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, event, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine


async def fetch(engine: AsyncEngine, table: Table, **where: Any) -> list[dict[str, Any]]:
    """Return the rows of ``table`` matching ``where`` (column=value), in insertion order."""
    stmt = select(table)
    for name, value in where.items():
        stmt = stmt.where(table.c[name] == value)
    order = table.c["id"] if "id" in table.c else table.primary_key.columns.values()[0]
    async with engine.connect() as conn:
        result = await conn.execute(stmt.order_by(order))
        return [dict(row) for row in result.mappings()]


class CommitCounter:
    """Count the transactions committed on an engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.commits = 0
        self._engine = engine.sync_engine
        event.listen(self._engine, "commit", self._on_commit)

    def _on_commit(self, _conn: Connection) -> None:
        self.commits += 1

    def close(self) -> None:
        event.remove(self._engine, "commit", self._on_commit)
