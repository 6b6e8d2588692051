"""The checks every CALL passes (blocks/dispatch.py) and the first handlers, with in-memory ports."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from csms.blocks.availability import AvailabilityBlock
from csms.blocks.context import CallContext
from csms.blocks.dispatch import Dispatcher
from csms.blocks.provisioning import ProvisioningBlock
from csms.blocks.routing import Router
from csms.blocks.transactions import TransactionsBlock
from csms.domain.errors import CommandNotAllowed, InvalidPayload
from csms.domain.model import RegistrationStatus, Station
from csms.messages import MessageValidator
from csms.rpc import ALL_VERSIONS, CallErrorReply, ErrorCode, OcppVersion
from tests.unit.blocks.fakes import MemoryStations, MemoryTransactions

NOW = datetime(2026, 11, 25, 12, 0, 0, 123456, tzinfo=UTC)
BOOT16 = {"chargePointVendor": "V", "chargePointModel": "M", "chargeBoxSerialNumber": "S1"}
BOOT2 = {
    "chargingStation": {"vendorName": "V", "model": "M", "modem": {"iccid": "I"}},
    "reason": "PowerUp",
}


def make(
    status: RegistrationStatus = RegistrationStatus.ACCEPTED,
) -> tuple[Dispatcher, MemoryStations, MemoryTransactions]:
    stations = MemoryStations(Station(id="CS1", registration_status=status))
    transactions = MemoryTransactions()
    router = Router.from_blocks(
        ProvisioningBlock(
            stations, clock=lambda: NOW, heartbeat_interval=300, boot_retry_interval=60
        ),
        AvailabilityBlock(stations, clock=lambda: NOW),
        TransactionsBlock(transactions),
    )
    validators = {v: MessageValidator(v) for v in ALL_VERSIONS}
    return Dispatcher(router, validators), stations, transactions


def ctx(
    version: OcppVersion, registration: RegistrationStatus | None = None, lenient: bool = False
) -> CallContext:
    return CallContext(
        station_id="CS1", version=version, registration=registration, lenient=lenient
    )


async def expect_error(
    dispatcher: Dispatcher, c: CallContext, action: str, payload: dict[str, Any]
) -> ErrorCode:
    with pytest.raises(CallErrorReply) as caught:
        await dispatcher.handle_call(c, action, payload)
    return caught.value.code


async def test_boot_v16_accepted_stores_and_opens_the_gate() -> None:
    """1.6 §4.2: Accepted with the heartbeat interval; afterwards other CALLs are allowed."""
    dispatcher, stations, _ = make()
    c = ctx(OcppVersion.V16)
    assert await expect_error(dispatcher, c, "Heartbeat", {}) is ErrorCode.SECURITY_ERROR
    reply = await dispatcher.handle_call(c, "BootNotification", BOOT16)
    assert reply == {
        "status": "Accepted",
        "currentTime": "2026-11-25T12:00:00.123Z",
        "interval": 300,
    }
    assert stations.boots[0][1].serial_number == "S1"
    assert await dispatcher.handle_call(c, "Heartbeat", {}) == {
        "currentTime": "2026-11-25T12:00:00.123Z"
    }
    assert stations.touched == ["CS1"]


@pytest.mark.parametrize("version", [OcppVersion.V201, OcppVersion.V21])
@pytest.mark.parametrize("status", [RegistrationStatus.PENDING, RegistrationStatus.REJECTED])
async def test_boot_v2_pending_or_rejected_keeps_the_gate_closed(
    version: OcppVersion, status: RegistrationStatus
) -> None:
    """TC_B_30_CSMS: while Pending/Rejected any other CALL gets SecurityError."""
    dispatcher, stations, _ = make(status)
    c = ctx(version)
    reply = await dispatcher.handle_call(c, "BootNotification", BOOT2)
    assert reply["status"] == status.value and reply["interval"] == 60
    assert stations.boots[0][1].iccid == "I"
    payload = {
        "timestamp": "2026-01-01T00:00:00Z",
        "evseId": 1,
        "connectorId": 1,
        "connectorStatus": "Available",
    }
    assert (
        await expect_error(dispatcher, c, "StatusNotification", payload) is ErrorCode.SECURITY_ERROR
    )


async def test_unknown_unsupported_and_wrong_direction() -> None:
    """1.6 Table 7: unknown → NotImplemented; known but not handled/wrong direction → NotSupported."""
    dispatcher, _, _ = make()
    c = ctx(OcppVersion.V16, RegistrationStatus.ACCEPTED)
    assert await expect_error(dispatcher, c, "FooBar", {}) is ErrorCode.NOT_IMPLEMENTED
    assert await expect_error(dispatcher, c, "Reset", {"type": "Hard"}) is ErrorCode.NOT_SUPPORTED
    assert (
        await expect_error(dispatcher, c, "DiagnosticsStatusNotification", {"status": "Idle"})
        is ErrorCode.NOT_SUPPORTED
    )


async def test_unknown_action_is_not_implemented_even_before_boot() -> None:
    dispatcher, _, _ = make()
    assert (
        await expect_error(dispatcher, ctx(OcppVersion.V201), "FooBar", {})
        is ErrorCode.NOT_IMPLEMENTED
    )


async def test_status_notification_v16_maps_connector_to_evse() -> None:
    """1.6 connectorId N is EVSE N, connector 1; 0 is the charge point; missing timestamp → now."""
    dispatcher, stations, _ = make()
    c = ctx(OcppVersion.V16, RegistrationStatus.ACCEPTED)
    await dispatcher.handle_call(
        c, "StatusNotification", {"connectorId": 0, "errorCode": "NoError", "status": "Available"}
    )
    await dispatcher.handle_call(
        c,
        "StatusNotification",
        {
            "connectorId": 2,
            "errorCode": "GroundFailure",
            "status": "Faulted",
            "timestamp": "2026-01-01T01:00:00+01:00",
            "vendorErrorCode": "E42",
        },
    )
    first, second = stations.statuses
    assert (first.evse_id, first.connector_id, first.timestamp) == (0, 0, NOW)
    assert (second.evse_id, second.connector_id, second.status) == (2, 1, "Faulted")
    assert second.timestamp == datetime(2026, 1, 1, tzinfo=UTC)
    assert second.vendor_error_code == "E42"


async def test_lenient_station_schema_violation_is_counted_and_handled() -> None:
    dispatcher, stations, _ = make()
    c = ctx(OcppVersion.V16, RegistrationStatus.ACCEPTED, lenient=True)
    payload = {"connectorId": 1, "errorCode": "NoError", "status": "Available", "unexpected": True}
    assert await dispatcher.handle_call(c, "StatusNotification", payload) == {}
    assert c.schema_violations == 1 and len(stations.statuses) == 1
    strict = ctx(OcppVersion.V16, RegistrationStatus.ACCEPTED)
    assert (
        await expect_error(dispatcher, strict, "StatusNotification", payload)
        is ErrorCode.FORMAT_VIOLATION
    )


async def test_meter_values_v16_are_normalised() -> None:
    """1.6 §7.45 SampledValue defaults are stored explicitly; signed data kept verbatim."""
    dispatcher, _, transactions = make()
    c = ctx(OcppVersion.V16, RegistrationStatus.ACCEPTED)
    payload = {
        "connectorId": 1,
        "transactionId": 7,
        "meterValue": [
            {
                "timestamp": "2026-01-01T00:00:00Z",
                "sampledValue": [
                    {"value": "1234.5"},
                    {
                        "value": "7.2",
                        "measurand": "Power.Active.Import",
                        "unit": "kW",
                        "phase": "L1",
                    },
                    {"value": "AbC==", "format": "SignedData", "context": "Transaction.End"},
                ],
            }
        ],
    }
    assert await dispatcher.handle_call(c, "MeterValues", payload) == {}
    report = transactions.meter_values[0]
    assert report.transaction_id == "7" and report.evse_id == 1
    energy, power, signed = report.samples
    assert (energy.value, energy.unit, energy.measurand, energy.context, energy.location) == (
        1234.5,
        "Wh",
        "Energy.Active.Import.Register",
        "Sample.Periodic",
        "Outlet",
    )
    assert (power.value, power.unit, power.phase) == (7.2, "kW", "L1")
    assert (signed.value, signed.signed_data, signed.raw_value) == (None, "AbC==", "AbC==")


async def test_transaction_event_is_stored_once() -> None:
    """ocpp-rules.md §6 test 57: the same (transactionId, seqNo) twice → acknowledged, stored once."""
    dispatcher, _, transactions = make()
    c = ctx(OcppVersion.V201, RegistrationStatus.ACCEPTED)
    payload = {
        "eventType": "Updated",
        "timestamp": "2026-01-01T00:00:00Z",
        "triggerReason": "MeterValuePeriodic",
        "seqNo": 3,
        "transactionInfo": {"transactionId": "tx-1", "chargingState": "Charging"},
        "evse": {"id": 1, "connectorId": 1},
        "meterValue": [
            {
                "timestamp": "2026-01-01T00:00:00Z",
                "sampledValue": [
                    {"value": 12.5, "unitOfMeasure": {"unit": "kWh", "multiplier": 3}}
                ],
            }
        ],
    }
    assert await dispatcher.handle_call(c, "TransactionEvent", payload) == {}
    assert await dispatcher.handle_call(c, "TransactionEvent", payload) == {}
    assert len(transactions.events) == 1
    sample = transactions.events[("CS1", "tx-1", 3)].samples[0]
    assert (sample.value, sample.unit) == (12500.0, "kWh")


def test_outbound_checks() -> None:
    """1.6 §4.2: no RemoteStart while Pending; nothing while Rejected but 2.x TriggerMessage(Boot)."""
    dispatcher, _, _ = make()
    pending = ctx(OcppVersion.V16, RegistrationStatus.PENDING)
    dispatcher.check_outbound(pending, "GetConfiguration", {})
    with pytest.raises(CommandNotAllowed):
        dispatcher.check_outbound(pending, "RemoteStartTransaction", {"idTag": "T"})
    with pytest.raises(InvalidPayload):
        dispatcher.check_outbound(pending, "Reset", {"type": "Warm"})
    with pytest.raises(InvalidPayload):
        dispatcher.check_outbound(pending, "Heartbeat", {})  # a station-to-CSMS action
    rejected = ctx(OcppVersion.V201, RegistrationStatus.REJECTED)
    dispatcher.check_outbound(rejected, "TriggerMessage", {"requestedMessage": "BootNotification"})
    with pytest.raises(CommandNotAllowed):
        dispatcher.check_outbound(rejected, "Reset", {"type": "Immediate"})


def test_router_refuses_two_handlers_for_one_action() -> None:
    stations, transactions = MemoryStations(), MemoryTransactions()
    block = AvailabilityBlock(stations, clock=lambda: NOW)
    with pytest.raises(ValueError, match="two handlers"):
        Router.from_blocks(block, AvailabilityBlock(stations, clock=lambda: NOW))
    assert (OcppVersion.V16, "StatusNotification") in Router.from_blocks(
        block, TransactionsBlock(transactions)
    ).handled_actions()


@pytest.mark.parametrize(
    ("version", "action", "payload"),
    [
        (OcppVersion.V16, "ChangeConfiguration", {"key": "AuthorizationKey", "value": "x" * 16}),
        (OcppVersion.V16, "ChangeConfiguration", {"key": "authorizationKEY", "value": "x" * 16}),
        (
            OcppVersion.V201,
            "SetVariables",
            {
                "setVariableData": [
                    {
                        "component": {"name": "SecurityCtrlr", "evse": {"id": 1}},
                        "variable": {"name": "BasicAuthPassword", "instance": "a"},
                        "attributeValue": "x" * 16,
                    }
                ]
            },
        ),
    ],
)
def test_outbound_password_writes_are_refused_but_for_the_rotation(
    version: OcppVersion, action: str, payload: dict[str, Any]
) -> None:
    """Issue 7 finding 6: the guard sits where every outbound CALL passes, typed or generic."""
    dispatcher, _, _ = make()
    accepted = ctx(version, RegistrationStatus.ACCEPTED)
    with pytest.raises(CommandNotAllowed, match="authorization-key"):
        dispatcher.check_outbound(accepted, action, payload)
    dispatcher.check_outbound(accepted, action, payload, password_rotation=True)
