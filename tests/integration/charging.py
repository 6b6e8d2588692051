"""A csms on loopback over a given database URL (SQLite file or PostgreSQL), for the 1.6 core tests."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from csms.storage import Store
from tests.integration.harness import RunningCsms, running_csms, settings_for


@asynccontextmanager
async def csms_on(database_url: str, tmp_path: Path) -> AsyncIterator[RunningCsms]:
    """Start csms with ``database_url`` (migrated on start) and stop it afterwards."""
    settings = settings_for(tmp_path)
    settings = dataclasses.replace(
        settings, database=dataclasses.replace(settings.database, url=database_url)
    )
    async with running_csms(settings) as running:
        yield running


def store_of(server: RunningCsms) -> Store:
    store = server.csms.store
    assert store is not None
    return store
