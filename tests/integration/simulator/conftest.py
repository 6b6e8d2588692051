"""The simulator tests' csms: the shared ``server`` fixture with the test RFID tags registered."""

from __future__ import annotations

import pytest

from tests.integration.harness import RunningCsms
from tests.integration.simulator.helpers import allow_tags


@pytest.fixture
async def server(server: RunningCsms) -> RunningCsms:
    """The integration ``server`` fixture, knowing the tags of :data:`helpers.SIM_TAGS`."""
    await allow_tags(server)
    return server
