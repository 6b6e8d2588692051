"""While Pending, a station may send what csms asked for with a TriggerMessage, and nothing else
(1.6 §4.2; 2.0.1 B02; OCTT TC_B_31_CSMS)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from csms.blocks.availability import AvailabilityBlock
from csms.blocks.context import CallContext
from csms.blocks.dispatch import Dispatcher
from csms.blocks.provisioning import ProvisioningBlock
from csms.blocks.routing import Router
from csms.domain.model import RegistrationStatus, Station
from csms.messages import MessageValidator
from csms.rpc import ALL_VERSIONS, CallErrorReply, ErrorCode, OcppVersion
from tests.unit.blocks.fakes import MemoryStations

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
STATUS16 = {"connectorId": 1, "errorCode": "NoError", "status": "Available"}
STATUS2 = {
    "timestamp": "2026-12-01T12:00:00Z",
    "connectorStatus": "Available",
    "evseId": 1,
    "connectorId": 1,
}
BOOT16 = {"chargePointVendor": "V", "chargePointModel": "M"}


def make() -> tuple[Dispatcher, MemoryStations]:
    stations = MemoryStations(Station(id="CS1", registration_status=RegistrationStatus.PENDING))
    router = Router.from_blocks(
        ProvisioningBlock(
            stations, clock=lambda: NOW, heartbeat_interval=300, boot_retry_interval=60
        ),
        AvailabilityBlock(stations, clock=lambda: NOW),
    )
    return Dispatcher(router, {v: MessageValidator(v) for v in ALL_VERSIONS}), stations


async def _security_error(
    dispatcher: Dispatcher, ctx: CallContext, action: str, payload: dict[str, Any]
) -> None:
    with pytest.raises(CallErrorReply) as caught:
        await dispatcher.handle_call(ctx, action, payload)
    assert caught.value.code is ErrorCode.SECURITY_ERROR


async def test_v16_pending_station_may_send_the_triggered_message_only() -> None:
    dispatcher, stations = make()
    ctx = CallContext("CS1", OcppVersion.V16, RegistrationStatus.PENDING)
    await _security_error(dispatcher, ctx, "StatusNotification", STATUS16)
    dispatcher.check_outbound(
        ctx, "TriggerMessage", {"requestedMessage": "StatusNotification", "connectorId": 1}
    )
    assert await dispatcher.handle_call(ctx, "StatusNotification", STATUS16) == {}
    assert await dispatcher.handle_call(ctx, "StatusNotification", STATUS16) == {}  # per connector
    await _security_error(dispatcher, ctx, "Heartbeat", {})
    dispatcher.check_outbound(ctx, "ExtendedTriggerMessage", {"requestedMessage": "Heartbeat"})
    assert "currentTime" in await dispatcher.handle_call(ctx, "Heartbeat", {})
    assert len(stations.statuses) == 2
    # A new BootNotification (still Pending) starts over: nothing is triggered any more.
    assert (await dispatcher.handle_call(ctx, "BootNotification", BOOT16))["status"] == "Pending"
    await _security_error(dispatcher, ctx, "StatusNotification", STATUS16)


@pytest.mark.parametrize("version", [OcppVersion.V201, OcppVersion.V21])
async def test_v2_pending_station_may_send_the_triggered_message_only(version: OcppVersion) -> None:
    dispatcher, _ = make()
    ctx = CallContext("CS1", version, RegistrationStatus.PENDING)
    await _security_error(dispatcher, ctx, "StatusNotification", STATUS2)
    dispatcher.check_outbound(ctx, "TriggerMessage", {"requestedMessage": "StatusNotification"})
    assert await dispatcher.handle_call(ctx, "StatusNotification", STATUS2) == {}


async def test_rejected_station_gains_nothing_from_a_trigger() -> None:
    dispatcher, _ = make()
    ctx = CallContext("CS1", OcppVersion.V201, RegistrationStatus.REJECTED)
    dispatcher.check_outbound(ctx, "TriggerMessage", {"requestedMessage": "BootNotification"})
    await _security_error(dispatcher, ctx, "StatusNotification", STATUS2)
    assert ctx.triggered is None


@pytest.mark.parametrize("version", [OcppVersion.V201, OcppVersion.V21])
@pytest.mark.parametrize(
    ("request_action", "payload"),
    [
        ("GetBaseReport", {"requestId": 1, "reportBase": "FullInventory"}),
        ("GetReport", {"requestId": 2}),
    ],
)
def test_v2_pending_station_may_send_the_report_csms_asked_for(
    version: OcppVersion, request_action: str, payload: dict[str, Any]
) -> None:
    """2.0.1 B02 (OCTT TC_B_02_CSMS, TC_B_30_CSMS): a GetBaseReport/GetReport lets a Pending
    station send its NotifyReport, and nothing else."""
    dispatcher, _ = make()
    ctx = CallContext("CS1", version, RegistrationStatus.PENDING)
    dispatcher.check_outbound(ctx, request_action, payload)
    assert ctx.triggered == frozenset({"NotifyReport"})
