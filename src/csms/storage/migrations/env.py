"""Alembic environment for the csms schema.

Two ways in: :func:`csms.storage.migrate.upgrade` hands over an open connection in
``config.attributes["connection"]`` (the normal path, also used by ``csms db upgrade``); the
``alembic`` command line (for writing new revisions) passes the URL with ``-x url=...``.
``render_as_batch`` lets future ALTERs work on SQLite, which cannot alter most columns in place.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

from csms.storage.engine import create_engine, write_transaction
from csms.storage.tables import metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_from_url(url: str) -> None:
    engine = create_engine(url, poolclass=NullPool)
    try:
        async with write_transaction(engine) as conn:
            await conn.run_sync(_configure)
    finally:
        await engine.dispose()


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url")
    url = url or context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL: pass -x url=sqlite+aiosqlite:///path/to/csms.db")
    return url


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    shared: Connection | None = context.config.attributes.get("connection")
    if shared is not None:
        _configure(shared)
    else:
        asyncio.run(_run_from_url(_url()))
