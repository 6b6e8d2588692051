"""Apply the Alembic migrations shipped inside the package, from async code."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

from csms.storage.engine import create_engine, write_transaction
from csms.storage.opening import opening

__all__ = ["alembic_config", "upgrade"]

logger = logging.getLogger(__name__)

_SCRIPT_LOCATION = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    """Return an Alembic config for the packaged migrations, bound to ``connection`` if given."""
    config = Config()
    # ConfigParser interpolates "%", which may appear in an install path.
    config.set_main_option("script_location", str(_SCRIPT_LOCATION).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


async def upgrade(database_url: str, *, revision: str = "head") -> None:
    """Migrate the database at ``database_url`` to ``revision`` (``alembic upgrade head``).

    Runs in one transaction (transactional DDL on PostgreSQL and, with our engine, on SQLite), so
    a failed migration leaves the schema as it was. A database that cannot be opened raises
    :class:`~csms.storage.opening.DatabaseUnavailable`.
    """
    async with opening(database_url):
        engine = create_engine(database_url, poolclass=NullPool)
        try:
            async with write_transaction(engine) as conn:
                await conn.run_sync(_upgrade, revision)
        finally:
            await engine.dispose()
    logger.info("database schema upgraded to %s", revision)


def _upgrade(connection: Connection, revision: str) -> None:
    command.upgrade(alembic_config(connection), revision)
