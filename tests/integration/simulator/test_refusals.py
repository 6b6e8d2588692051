"""A simulated station says why its driver's tag was refused (issue 7 finding 12): the status the
CSMS answered, at INFO, once a minute per station, and counted."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from csms.rpc.versions import OcppVersion
from tests.integration.harness import running_csms, settings_for
from tests.integration.simulator.helpers import allow_tags, make_agent, running


@pytest.mark.parametrize("version", [OcppVersion.V16, OcppVersion.V201])
async def test_a_refused_tag_is_logged_with_its_status_at_a_bounded_rate(
    tmp_path: Path, version: OcppVersion, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_csms(settings_for(tmp_path)) as server:
        await allow_tags(server, "KNOWN")
        await server.add_station("SIM-R")
        agent = make_agent(server.ocpp_url, "SIM-R", version)
        caplog.set_level(logging.INFO, logger="csms.simulator")
        async with running(agent):
            assert await agent.authorize("KNOWN")
            for _ in range(3):
                assert not await agent.authorize("MADE-UP")
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert refusals == [
        "SIM-R: Authorize for tag MADE-UP refused: Invalid"
        " (an unknown tag: register it in the CSMS, e.g. csms token add)"
    ]
    assert agent.stats.refused == 3
    assert "refused 3" in agent.stats.line()
