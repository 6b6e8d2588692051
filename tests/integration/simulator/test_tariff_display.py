"""csms's simulated 2.0.1 and 2.1 stations show the driver what block I sends them: the tariff's
text (idTokenInfo.personalMessage), the running cost (updatedPersonalMessage, CostUpdated) and the
final totalCost, kept in the station's state."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from csms.rpc.versions import OcppVersion
from csms.simulator.dialect import StopReason
from tests.integration.harness import running_csms, settings_for
from tests.integration.simulator.helpers import SIM_TAGS, allow_tags, make_agent, running

TARIFF = {
    "tariff_id": "sim",
    "currency": "EUR",
    "price_per_kwh": "0.30",
    "price_per_hour": "360",  # 0.10 EUR a second: CostUpdated has news every round
    "descriptions": {"en": "0.30 EUR/kWh + 360 EUR/h"},
    "assignments": [{"scope": "default"}],
}


@pytest.mark.parametrize("version", [OcppVersion.V201, OcppVersion.V21])
async def test_simulated_station_shows_tariff_running_and_final_cost(
    tmp_path: Path, version: OcppVersion
) -> None:
    async with running_csms(settings_for(tmp_path, cost_update_interval=0.2)) as server:
        await allow_tags(server)
        sid = f"SIM-COST-{version.value}"
        await server.add_station(sid)
        async with server.api() as api:
            assert (await api.post("/api/v1/tariffs", json=TARIFF)).status_code == 201
        agent = make_agent(server.ocpp_url, sid, version, charge_time=30.0)
        async with running(agent):
            state = agent.station.state
            evse = state.evses[1]
            tx = await agent.start_session(evse, SIM_TAGS[0])
            assert tx is not None
            async with asyncio.timeout(10):
                while not state.cost_updates:  # noqa: ASYNC110 - the state has no event
                    await asyncio.sleep(0.05)
            await agent.stop_session(evse, StopReason.LOCAL)
            await agent.drained()
            await agent.leave(evse)
        assert state.cost_updates[0][0] == tx.transaction_id
        assert "0.30 EUR/kWh + 360 EUR/h" in state.personal_messages
        assert any(m.startswith("Cost so far: ") for m in state.personal_messages)
        assert state.personal_messages[-1].startswith("Total: ")
        final = state.final_costs[tx.transaction_id]
        assert final >= state.cost_updates[0][1] > 0
