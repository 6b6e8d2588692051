"""Fixtures for tests that run a real csms on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.harness import RunningCsms, running_csms, settings_for
from tests.postgres import DATABASES, migrated_database


@pytest.fixture(params=DATABASES)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Here the SQLite and PostgreSQL databases come migrated to head (tests/templates.py): every
    integration test starts csms or opens a store, which migrates to head anyway. Tests of the
    migrations themselves, which need an empty database, live in tests/unit/storage."""
    async with migrated_database(request, tmp_path) as url:
        yield url


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningCsms]:
    """A csms with security profile 1, unknown stations rejected, and a fresh database."""
    async with running_csms(settings_for(tmp_path)) as running:
        yield running
