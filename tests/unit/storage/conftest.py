"""Storage fixtures; ``database_url`` and ``migrated_database_url`` (SQLite and PostgreSQL) come from
``tests/postgres.py``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from csms.storage import Store, open_store
from tests.unit.storage.builders import a_station


@pytest.fixture
async def store(migrated_database_url: str) -> AsyncIterator[Store]:
    """A started store over a freshly migrated database, with station CS1 registered."""
    store = await open_store(migrated_database_url)
    try:
        await store.stations.add(a_station("CS1"))
        yield store
    finally:
        await store.aclose()
