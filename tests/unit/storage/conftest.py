"""Storage fixtures; ``database_url`` (SQLite and PostgreSQL) comes from ``tests/postgres.py``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from csms.storage import Store, open_store
from tests.unit.storage.builders import a_station


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    """A started store over a freshly migrated database, with station CS1 registered."""
    store = await open_store(database_url)
    try:
        await store.stations.add(a_station("CS1"))
        yield store
    finally:
        await store.aclose()
