"""The packaged Alembic migrations build exactly the schema of ``csms.storage.tables``."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from csms.storage import create_engine, upgrade
from csms.storage.migrate import alembic_config
from csms.storage.tables import metadata


def _differences(conn: Connection) -> list[object]:
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


def _state(conn: Connection) -> tuple[str | None, set[str]]:
    revision = MigrationContext.configure(conn).get_current_revision()
    return revision, set(inspect(conn).get_table_names())


async def test_upgrade_head_matches_the_table_definitions(database_url: str) -> None:
    await upgrade(database_url)
    await upgrade(database_url)  # idempotent: a restart migrates nothing
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(_differences) == []
            revision, tables = await conn.run_sync(_state)
    finally:
        await engine.dispose()
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert revision == head
    assert tables == set(metadata.tables) | {"alembic_version"}


async def test_downgrade_to_base_removes_every_table(database_url: str) -> None:
    await upgrade(database_url)
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda c: command.downgrade(alembic_config(c), "base"))
        async with engine.connect() as conn:
            assert await conn.run_sync(_state) == (None, {"alembic_version"})
    finally:
        await engine.dispose()
