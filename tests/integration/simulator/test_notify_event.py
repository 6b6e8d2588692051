"""csms's simulated 2.0.1 and 2.1 stations send NotifyEvent as real firmware does (G05/N07): each
connector's AvailabilityState alongside its StatusNotification, and a monitor set through
SetVariableMonitoring tripping after SetVariables. csms stores the events and keeps the
AvailabilityState Actual value of its stored device model current.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from csms.blocks.diagnostics.monitoring_commands import set_variable_monitoring
from csms.blocks.provisioning.device_model import set_variables
from csms.domain.commands import VariableRef
from csms.domain.devicemodel import MonitorSetting, SetMonitoringStatus, VariableKey
from csms.rpc.versions import OcppVersion
from csms.simulator.dialect import StopReason
from tests.integration.harness import RunningCsms
from tests.integration.simulator.helpers import SIM_TAGS, make_agent, running


async def _eventually(check: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not await check():  # noqa: ASYNC110 - polling storage, which has no event to await
            await asyncio.sleep(0.05)


@pytest.mark.parametrize("version", [OcppVersion.V201, OcppVersion.V21])
async def test_simulated_station_notifies_availability_and_monitor_events(
    server: RunningCsms, version: OcppVersion
) -> None:
    store = server.csms.store
    assert store is not None
    model, gw, clock = store.device_model, server.csms.registry, server.csms.clock
    sid = f"SIM-EV-{version.value}"
    await server.add_station(sid)
    agent = make_agent(server.ocpp_url, sid, version, charge_time=30.0)

    async def availability() -> dict[int | None, str]:
        found = await model.attributes(sid, component="Connector", variable="AvailabilityState")
        return {a.key.evse_id: a.attribute.value for a in found}

    def follows(expected: dict[int | None, str]) -> Callable[[], Awaitable[bool]]:
        async def check() -> bool:
            return await availability() == expected

        return check

    async with running(agent):
        await _eventually(follows({1: "Available", 2: "Available"}))
        evse = agent.station.state.evses[1]
        tx = await agent.start_session(evse, SIM_TAGS[0])
        assert tx is not None
        await _eventually(follows({1: "Occupied", 2: "Available"}))
        await agent.stop_session(evse, StopReason.LOCAL)
        await agent.leave(evse)
        await _eventually(follows({1: "Available", 2: "Available"}))

        events = [e for _, e in await model.events(sid)]
        on_connector_1 = [e for e in reversed(events) if e.key.evse_id == 1]
        assert [e.actual_value for e in on_connector_1] == ["Available", "Occupied", "Available"]
        occupied = on_connector_1[1]
        assert (occupied.key.component, occupied.key.variable, occupied.key.connector_id) == (
            "Connector",
            "AvailabilityState",
            1,
        )
        assert (occupied.trigger, occupied.notification_type) == ("Delta", "HardWiredNotification")
        assert occupied.transaction_id is None  # plugged in: Occupied before the transaction

        key = VariableKey("OCPPCommCtrlr", "HeartbeatInterval")
        [monitor] = await set_variable_monitoring(
            gw, model, sid, [MonitorSetting(key, "Delta", 1.0, severity=7)], clock=clock
        )
        assert monitor.status is SetMonitoringStatus.ACCEPTED
        await set_variables(
            gw, model, sid, [(VariableRef("OCPPCommCtrlr", "HeartbeatInterval"), "5")], clock=clock
        )

        async def tripped() -> bool:
            return any(
                e.variable_monitoring_id == monitor.monitor_id for _, e in await model.events(sid)
            )

        await _eventually(tripped)
        [alert] = [e for _, e in await model.events(sid) if e.variable_monitoring_id is not None]
        assert (alert.key, alert.trigger, alert.actual_value) == (key, "Delta", "5")
        assert (alert.notification_type, alert.cleared) == ("CustomMonitor", False)
        assert alert.severity == 7  # 2.1 sends it; for 2.0.1 csms takes the monitor's
