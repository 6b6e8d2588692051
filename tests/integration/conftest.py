"""Fixtures for tests that run a real csms on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.harness import RunningCsms, running_csms, settings_for


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningCsms]:
    """A csms with security profile 1, unknown stations rejected, and a fresh database."""
    async with running_csms(settings_for(tmp_path)) as running:
        yield running
