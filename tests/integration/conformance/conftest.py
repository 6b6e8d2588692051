"""A csms for the Part 6 cases with the OCTT's station registered.

On SQLite by default; a module whose cases are about what csms stores (J MeterValues) overrides
:func:`database` with the ``database_url`` fixture to run on PostgreSQL too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.conformance.octt import prepare
from tests.integration.harness import RunningCsms, running_csms, settings_for


@pytest.fixture
def database(tmp_path: Path) -> str:
    """The database URL csms runs on: a fresh SQLite file."""
    return f"sqlite+aiosqlite:///{tmp_path / 'csms.db'}"


@pytest.fixture
async def server(database: str, tmp_path: Path) -> AsyncIterator[RunningCsms]:
    """csms with short intervals (nothing in these tests waits for one) and the OCTT's station
    and valid id token registered."""
    # concurrent_transactions: Part 6's reusable states start every EVSE with the one
    # <Configured valid_idtoken> and expect Accepted (e.g. TC_F_14 "for all EVSE").
    settings = settings_for(
        tmp_path, heartbeat_interval=10, boot_retry_interval=2, concurrent_transactions=True
    )
    settings = dataclasses.replace(
        settings, database=dataclasses.replace(settings.database, url=database)
    )
    async with running_csms(settings) as running:
        await prepare(running)
        yield running
