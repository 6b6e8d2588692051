"""The few statements that differ between SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = ["dialect_insert"]


def dialect_insert(
    conn: AsyncConnection | Dialect, table: Table
) -> postgresql.Insert | sqlite.Insert:
    """Return an INSERT with ``ON CONFLICT`` support (both backends spell it the same way)."""
    name = conn.dialect.name if isinstance(conn, AsyncConnection) else conn.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"unsupported database backend {name!r}")
