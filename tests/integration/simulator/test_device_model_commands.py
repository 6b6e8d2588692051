"""The typed 2.x device-model, monitoring, display-message and report commands against csms's
simulated station, end to end: each answer is typed, and what the station sends afterwards
(NotifyReport, NotifyMonitoringReport, NotifyDisplayMessages, NotifyCustomerInformation) is stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from csms.blocks.diagnostics.monitoring_commands import (
    CustomerInformation,
    GetMonitoringReport,
    clear_variable_monitoring,
    set_variable_monitoring,
)
from csms.blocks.displaymessage.commands import GetDisplayMessages, SetDisplayMessage
from csms.blocks.outbound import send
from csms.blocks.provisioning.report_commands import GetBaseReport
from csms.blocks.smartcharging.report_commands import GetChargingProfiles, GetChargingProfileStatus
from csms.blocks.tariff import CostUpdated
from csms.blocks.transactions.status_command import GetTransactionStatus, TransactionStatus
from csms.domain.devicemodel import (
    ClearMonitoringStatus,
    CustomerInformationStatus,
    DeviceModelStatus,
    MonitorSetting,
    SetMonitoringStatus,
    VariableKey,
)
from csms.domain.displaymessages import DisplayMessage, DisplayMessageStatus
from csms.rpc.versions import OcppVersion
from tests.integration.harness import RunningCsms
from tests.integration.simulator.helpers import make_agent, running


async def _eventually(check: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
    """Poll the database until ``check`` holds (the station's report arrives after its answer)."""
    async with asyncio.timeout(timeout):
        while not await check():  # noqa: ASYNC110 - polling storage, which has no event to await
            await asyncio.sleep(0.05)


@pytest.mark.parametrize("version", [OcppVersion.V201, OcppVersion.V21])
async def test_device_model_commands_reach_the_simulator_and_its_reports_are_stored(
    server: RunningCsms, version: OcppVersion
) -> None:
    store = server.csms.store
    assert store is not None
    sid = f"SIM-DM-{version.value}"
    await server.add_station(sid)
    gw, model, clock = server.csms.registry, store.device_model, server.csms.clock
    agent = make_agent(server.ocpp_url, sid, version, charge_time=30.0)
    async with running(agent):
        base = await send(gw, sid, GetBaseReport(101))
        assert base.status is DeviceModelStatus.ACCEPTED

        async def report_complete() -> bool:
            return any(r.request_id == 101 and r.complete for r in await model.reports(sid))

        await _eventually(report_complete)
        interval = await model.attributes(
            sid, component="OCPPCommCtrlr", variable="HeartbeatInterval"
        )
        assert [a.attribute.value for a in interval] == ["0.5"]

        key = VariableKey("OCPPCommCtrlr", "HeartbeatInterval")
        set_results = await set_variable_monitoring(
            gw, model, sid, [MonitorSetting(key, "Delta", 1.0, severity=7)], clock=clock
        )
        assert set_results[0].status is SetMonitoringStatus.ACCEPTED
        monitor_id = set_results[0].monitor_id
        assert [m.monitor_id for m in await model.monitors(sid)] == [monitor_id]
        assert (await send(gw, sid, GetMonitoringReport(102))).status is DeviceModelStatus.ACCEPTED

        async def monitors_reported() -> bool:
            return any(
                r.request_id == 102 and r.kind == "monitors" for r in await model.reports(sid)
            )

        await _eventually(monitors_reported)
        assert monitor_id is not None
        cleared = await clear_variable_monitoring(gw, model, sid, [monitor_id])
        assert cleared == ((monitor_id, ClearMonitoringStatus.ACCEPTED),)
        assert await model.monitors(sid) == []

        shown = await send(gw, sid, SetDisplayMessage(DisplayMessage(5, "Welcome")))
        assert shown.status is DisplayMessageStatus.ACCEPTED
        await send(gw, sid, GetDisplayMessages(103))
        info = await send(gw, sid, CustomerInformation(104, True, False, customer_identifier="c-1"))
        assert info.status is CustomerInformationStatus.ACCEPTED

        async def notified(action: str, request_id: int) -> bool:
            return bool(await store.notifications.list(sid, action=action, request_id=request_id))

        await _eventually(lambda: notified("NotifyDisplayMessages", 103))
        await _eventually(lambda: notified("NotifyCustomerInformation", 104))
        [display] = await store.notifications.list(sid, action="NotifyDisplayMessages")
        assert display.payload["messageInfo"][0]["message"]["content"] == "Welcome"

        profiles = await send(gw, sid, GetChargingProfiles(105))
        assert profiles.status is GetChargingProfileStatus.NO_PROFILES
        status = await send(gw, sid, GetTransactionStatus("no-such-tx"))
        assert status == TransactionStatus(messages_in_queue=False, ongoing=False)
        assert await send(gw, sid, CostUpdated("no-such-tx", 1.25)) is None
