"""Operator commands: the payload each version gets and the typed result of each answer.

Every CALL goes through :class:`ScriptedGateway`, which validates it against the official schema of
the version, so these tests also prove each mapping is valid OCPP.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from csms.blocks.authorization.cache import ClearCache
from csms.blocks.availability.commands import ChangeAvailability
from csms.blocks.datatransfer.commands import DataTransfer
from csms.blocks.outbound import send, sent_actions
from csms.blocks.provisioning.commands import (
    ChangeConfiguration,
    GetConfiguration,
    GetVariables,
    Reset,
    SetVariables,
    change_configuration,
    get_configuration,
    notify_registration_change,
)
from csms.blocks.remotecontrol.commands import (
    ExtendedTriggerMessage,
    RemoteStartTransaction,
    RemoteStopTransaction,
    TriggerMessage,
    UnlockConnector,
)
from csms.blocks.reservation.commands import CancelReservation, ReserveNow
from csms.container import SENT_BY_COMMANDS
from csms.domain.commands import (
    MASKED,
    AcceptStatus,
    AvailabilityType,
    ChangeStatus,
    ConfigurationKey,
    ConfigurationStatus,
    DataTransferStatus,
    MessageTrigger,
    ResetType,
    StatusInfo,
    TriggerStatus,
    UnlockStatus,
    VariableRef,
)
from csms.domain.errors import (
    CallFailed,
    CommandNotAllowed,
    InvalidPayload,
    StationNotConnected,
)
from csms.domain.model import RegistrationStatus
from csms.domain.reservations import Reservation, ReservationStatus
from csms.rpc import OcppVersion
from tests.unit.blocks.gateway import ScriptedGateway

V16 = OcppVersion.V16
V2 = [OcppVersion.V201, OcppVersion.V21]
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TX_PROFILE_16 = {
    "chargingProfileId": 7,
    "stackLevel": 0,
    "chargingProfilePurpose": "TxProfile",
    "chargingProfileKind": "Relative",
    "chargingSchedule": {
        "chargingRateUnit": "A",
        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}],
    },
}


async def test_change_availability_v16_targets_connector_or_station() -> None:
    gw = ScriptedGateway(V16, {"ChangeAvailability": {"status": "Scheduled"}})
    result = await send(gw, "CS1", ChangeAvailability(AvailabilityType.INOPERATIVE, evse_id=2))
    await send(gw, "CS1", ChangeAvailability(AvailabilityType.OPERATIVE))
    assert result.status is ChangeStatus.SCHEDULED
    assert gw.sent == [
        ("ChangeAvailability", {"connectorId": 2, "type": "Inoperative"}),
        ("ChangeAvailability", {"connectorId": 0, "type": "Operative"}),
    ]
    with pytest.raises(InvalidPayload):
        ChangeAvailability(AvailabilityType.OPERATIVE, evse_id=1, connector_id=2).request(V16)


@pytest.mark.parametrize("version", V2)
async def test_change_availability_v2_uses_evse_and_status_info(version: OcppVersion) -> None:
    answer = {"status": "Rejected", "statusInfo": {"reasonCode": "Busy", "additionalInfo": "tx"}}
    gw = ScriptedGateway(version, {"ChangeAvailability": answer})
    await send(gw, "CS1", ChangeAvailability(AvailabilityType.OPERATIVE))
    result = await send(
        gw, "CS1", ChangeAvailability(AvailabilityType.INOPERATIVE, evse_id=1, connector_id=2)
    )
    assert gw.sent == [
        ("ChangeAvailability", {"operationalStatus": "Operative"}),
        (
            "ChangeAvailability",
            {"operationalStatus": "Inoperative", "evse": {"id": 1, "connectorId": 2}},
        ),
    ]
    assert result.status is ChangeStatus.REJECTED
    assert result.status_info == StatusInfo("Busy", "tx")


@pytest.mark.parametrize("version", [V16, *V2])
async def test_clear_cache(version: OcppVersion) -> None:
    gw = ScriptedGateway(version, {"ClearCache": {"status": "Rejected"}})
    result = await send(gw, "CS1", ClearCache())
    assert gw.sent == [("ClearCache", {})]
    assert result.status is AcceptStatus.REJECTED


async def test_reset_v16() -> None:
    gw = ScriptedGateway(V16, {"Reset": {"status": "Accepted"}})
    for kind in (ResetType.HARD, ResetType.SOFT, ResetType.IMMEDIATE):
        assert (await send(gw, "CS1", Reset(kind))).status is ChangeStatus.ACCEPTED
    assert [payload for _, payload in gw.sent] == [
        {"type": "Hard"},
        {"type": "Soft"},
        {"type": "Hard"},
    ]
    with pytest.raises(InvalidPayload, match=r"does not exist in OCPP 1\.6"):
        Reset(ResetType.ON_IDLE).request(V16)
    with pytest.raises(InvalidPayload):
        Reset(ResetType.HARD, evse_id=1).request(V16)


@pytest.mark.parametrize("version", V2)
async def test_reset_v2(version: OcppVersion) -> None:
    gw = ScriptedGateway(version, {"Reset": {"status": "Scheduled"}})
    result = await send(gw, "CS1", Reset(ResetType.ON_IDLE, evse_id=2))
    await send(gw, "CS1", Reset(ResetType.SOFT))
    await send(gw, "CS1", Reset(ResetType.HARD))
    assert result.status is ChangeStatus.SCHEDULED
    assert [payload for _, payload in gw.sent] == [
        {"type": "OnIdle", "evseId": 2},
        {"type": "Immediate"},
        {"type": "Immediate"},
    ]


async def test_remote_start_v16_passes_the_charging_profile_through() -> None:
    gw = ScriptedGateway(V16, {"RemoteStartTransaction": {"status": "Accepted"}})
    command = RemoteStartTransaction("TAG1", evse_id=1, charging_profile=TX_PROFILE_16)
    result = await send(gw, "CS1", command)
    assert gw.sent == [
        (
            "RemoteStartTransaction",
            {"idTag": "TAG1", "connectorId": 1, "chargingProfile": TX_PROFILE_16},
        )
    ]
    assert result.status is AcceptStatus.ACCEPTED
    assert result.remote_start_id is None


@pytest.mark.parametrize("version", V2)
async def test_request_start_v2_sends_a_remote_start_id(version: OcppVersion) -> None:
    answer = {"status": "Accepted", "transactionId": "tx-9"}
    gw = ScriptedGateway(version, {"RequestStartTransaction": answer})
    result = await send(gw, "CS1", RemoteStartTransaction("TAG1", evse_id=2, remote_start_id=42))
    assert gw.sent == [
        (
            "RequestStartTransaction",
            {"idToken": {"idToken": "TAG1", "type": "Central"}, "remoteStartId": 42, "evseId": 2},
        )
    ]
    assert (result.status, result.remote_start_id, result.transaction_id) == (
        AcceptStatus.ACCEPTED,
        42,
        "tx-9",
    )
    generated = RemoteStartTransaction("TAG1")
    assert generated.request(version)[1]["remoteStartId"] == generated.remote_start_id > 0


def test_remote_start_profile_must_be_a_tx_profile() -> None:
    profile = {**TX_PROFILE_16, "chargingProfilePurpose": "TxDefaultProfile"}
    with pytest.raises(InvalidPayload, match="TxProfile"):
        RemoteStartTransaction("T", charging_profile=profile).request(V16)


@pytest.mark.parametrize("version", [V16, *V2])
async def test_remote_start_and_stop_are_refused_while_pending(version: OcppVersion) -> None:
    gw = ScriptedGateway(version, {}, registration=RegistrationStatus.PENDING)
    with pytest.raises(CommandNotAllowed):
        await send(gw, "CS1", RemoteStartTransaction("T"))
    with pytest.raises(CommandNotAllowed):
        await send(gw, "CS1", RemoteStopTransaction("12"))
    assert gw.sent == []


async def test_remote_stop_maps_the_transaction_id_type() -> None:
    gw16 = ScriptedGateway(V16, {"RemoteStopTransaction": {"status": "Rejected"}})
    assert (await send(gw16, "CS1", RemoteStopTransaction("12"))).status is AcceptStatus.REJECTED
    assert gw16.sent == [("RemoteStopTransaction", {"transactionId": 12})]
    with pytest.raises(InvalidPayload, match="integers"):
        RemoteStopTransaction("abc").request(V16)
    gw2 = ScriptedGateway(OcppVersion.V201, {"RequestStopTransaction": {"status": "Accepted"}})
    await send(gw2, "CS1", RemoteStopTransaction("abc"))
    assert gw2.sent == [("RequestStopTransaction", {"transactionId": "abc"})]


async def test_unlock_connector_per_version() -> None:
    gw16 = ScriptedGateway(V16, {"UnlockConnector": {"status": "NotSupported"}})
    assert (await send(gw16, "CS1", UnlockConnector(2))).status is UnlockStatus.NOT_SUPPORTED
    assert gw16.sent == [("UnlockConnector", {"connectorId": 2})]
    with pytest.raises(InvalidPayload):
        UnlockConnector(1, connector_id=2).request(V16)
    gw2 = ScriptedGateway(OcppVersion.V21, {"UnlockConnector": {"status": "UnknownConnector"}})
    result = await send(gw2, "CS1", UnlockConnector(1, connector_id=2))
    assert result.status is UnlockStatus.UNKNOWN_CONNECTOR
    assert gw2.sent == [("UnlockConnector", {"evseId": 1, "connectorId": 2})]


@pytest.mark.parametrize(("evse_id", "connector_id"), [(-1, None), (0, 1), (1, 0), (-1, 1)])
def test_change_availability_refuses_what_would_address_the_whole_station(
    evse_id: int, connector_id: int | None
) -> None:
    """A 2.x request drops a negative EVSE and a connector without its EVSE: refused instead."""
    with pytest.raises(InvalidPayload):
        ChangeAvailability(AvailabilityType.INOPERATIVE, evse_id, connector_id)


@pytest.mark.parametrize("evse_id", [0, -1])
def test_remote_start_names_an_evse_from_1(evse_id: int) -> None:
    """1.6 RemoteStartTransaction.req: "connectorId SHALL be > 0" (§6.33)."""
    with pytest.raises(InvalidPayload, match="numbered from 1"):
        RemoteStartTransaction("TAG", evse_id=evse_id)


@pytest.mark.parametrize("command", [TriggerMessage, ExtendedTriggerMessage])
def test_trigger_targets(command: type[TriggerMessage] | type[ExtendedTriggerMessage]) -> None:
    status = MessageTrigger.STATUS_NOTIFICATION
    for evse_id, connector_id in ((-1, None), (None, 1), (0, 1), (1, 0)):
        with pytest.raises(InvalidPayload):
            command(status, evse_id, connector_id)
    with pytest.raises(InvalidPayload, match="connector > 0"):  # 1.6 §6.51 connectorId > 0
        command(status, 0).request(V16)
    assert command(status, 0).request(OcppVersion.V201)[1]["evse"] == {"id": 0}


@pytest.mark.parametrize(("evse_id", "connector_id"), [(0, 1), (-1, 1), (1, 0)])
def test_unlock_connector_numbers_from_1(evse_id: int, connector_id: int) -> None:
    """1.6 connectorId > 0 (§6.53); 2.x evseId 0 is the whole station (part 1 §7.1)."""
    with pytest.raises(InvalidPayload, match="numbered from 1"):
        UnlockConnector(evse_id, connector_id)


V16_CORE = [
    MessageTrigger.BOOT_NOTIFICATION,
    MessageTrigger.DIAGNOSTICS_STATUS_NOTIFICATION,
    MessageTrigger.FIRMWARE_STATUS_NOTIFICATION,
    MessageTrigger.HEARTBEAT,
    MessageTrigger.METER_VALUES,
    MessageTrigger.STATUS_NOTIFICATION,
]


@pytest.mark.parametrize("trigger", V16_CORE)
async def test_trigger_message_v16_core(trigger: MessageTrigger) -> None:
    gw = ScriptedGateway(V16, {"TriggerMessage": {"status": "NotImplemented"}})
    result = await send(gw, "CS1", TriggerMessage(trigger, evse_id=1))
    assert gw.sent == [("TriggerMessage", {"requestedMessage": trigger.value, "connectorId": 1})]
    assert result.status is TriggerStatus.NOT_IMPLEMENTED


@pytest.mark.parametrize(
    ("trigger", "wire"),
    [
        (MessageTrigger.BOOT_NOTIFICATION, "BootNotification"),
        (MessageTrigger.LOG_STATUS_NOTIFICATION, "LogStatusNotification"),
        (MessageTrigger.FIRMWARE_STATUS_NOTIFICATION, "FirmwareStatusNotification"),
        (MessageTrigger.HEARTBEAT, "Heartbeat"),
        (MessageTrigger.METER_VALUES, "MeterValues"),
        (MessageTrigger.SIGN_CHARGING_STATION_CERTIFICATE, "SignChargePointCertificate"),
        (MessageTrigger.STATUS_NOTIFICATION, "StatusNotification"),
    ],
)
async def test_extended_trigger_message_v16(trigger: MessageTrigger, wire: str) -> None:
    gw = ScriptedGateway(V16, {"ExtendedTriggerMessage": {"status": "Accepted"}})
    result = await send(gw, "CS1", ExtendedTriggerMessage(trigger))
    assert gw.sent == [("ExtendedTriggerMessage", {"requestedMessage": wire})]
    assert result.status is TriggerStatus.ACCEPTED


async def test_trigger_message_v16_uses_the_extension_for_its_triggers() -> None:
    gw = ScriptedGateway(V16, {"ExtendedTriggerMessage": {"status": "Rejected"}})
    await send(gw, "CS1", TriggerMessage(MessageTrigger.SIGN_CHARGING_STATION_CERTIFICATE))
    assert gw.sent == [
        ("ExtendedTriggerMessage", {"requestedMessage": "SignChargePointCertificate"})
    ]
    for missing in (MessageTrigger.TRANSACTION_EVENT, MessageTrigger.SIGN_V2G_CERTIFICATE):
        with pytest.raises(InvalidPayload):
            TriggerMessage(missing).request(V16)
    with pytest.raises(InvalidPayload):
        ExtendedTriggerMessage(MessageTrigger.DIAGNOSTICS_STATUS_NOTIFICATION).request(V16)


@pytest.mark.parametrize("version", V2)
@pytest.mark.parametrize("command_type", [TriggerMessage, ExtendedTriggerMessage])
async def test_trigger_message_v2(version: OcppVersion, command_type: Any) -> None:
    gw = ScriptedGateway(version, {"TriggerMessage": {"status": "Accepted"}})
    triggers = [
        t for t in MessageTrigger if t is not MessageTrigger.DIAGNOSTICS_STATUS_NOTIFICATION
    ]
    for trigger in triggers:
        await send(gw, "CS1", command_type(trigger, evse_id=1, connector_id=1))
    assert gw.sent == [
        ("TriggerMessage", {"requestedMessage": t.value, "evse": {"id": 1, "connectorId": 1}})
        for t in triggers
    ]
    with pytest.raises(InvalidPayload):
        command_type(MessageTrigger.DIAGNOSTICS_STATUS_NOTIFICATION).request(version)


async def test_get_configuration_masks_the_authorization_key() -> None:
    answer = {
        "configurationKey": [
            {"key": "HeartbeatInterval", "readonly": False, "value": "300"},
            {"key": "AuthorizationKey", "readonly": False, "value": "00112233445566778899"},
            {"key": "NumberOfConnectors", "readonly": True, "value": "2"},
        ],
        "unknownKey": ["Nope"],
    }
    gw = ScriptedGateway(V16, {"GetConfiguration": answer})
    report = await send(gw, "CS1", GetConfiguration(("HeartbeatInterval", "Nope")))
    assert gw.sent == [("GetConfiguration", {"key": ["HeartbeatInterval", "Nope"]})]
    assert report.keys == (
        ConfigurationKey("HeartbeatInterval", "300", readonly=False),
        ConfigurationKey("AuthorizationKey", MASKED, readonly=False),
        ConfigurationKey("NumberOfConnectors", "2", readonly=True),
    )
    assert report.unknown_keys == ("Nope",)
    assert "00112233445566778899" not in repr(report)
    assert GetConfiguration().request(V16) == ("GetConfiguration", {})


@pytest.mark.parametrize("version", V2)
def test_1_6_configuration_commands_do_not_exist_in_2x(version: OcppVersion) -> None:
    with pytest.raises(InvalidPayload):
        GetConfiguration().request(version)
    with pytest.raises(InvalidPayload):
        ChangeConfiguration("HeartbeatInterval", "60").request(version)
    with pytest.raises(InvalidPayload):
        GetVariables((VariableRef("OCPPCommCtrlr", "HeartbeatInterval"),)).request(V16)


def test_change_configuration_refuses_the_authorization_key() -> None:
    with pytest.raises(CommandNotAllowed, match="rotation"):
        ChangeConfiguration("authorizationkey", "0011")
    assert "60" not in repr(ChangeConfiguration("HeartbeatInterval", "60"))


class MemoryConfiguration:
    def __init__(self) -> None:
        self.reads: list[tuple[str, list[ConfigurationKey], list[str]]] = []
        self.changes: list[tuple[str, str, str]] = []

    async def record_read(
        self,
        station_id: str,
        keys: Iterable[ConfigurationKey],
        unknown_keys: Iterable[str],
        now: datetime,
    ) -> None:
        self.reads.append((station_id, list(keys), list(unknown_keys)))

    async def record_change(self, station_id: str, key: str, value: str, now: datetime) -> None:
        self.changes.append((station_id, key, value))

    async def keys(self, station_id: str) -> Sequence[ConfigurationKey]:
        return []


async def test_get_and_change_configuration_store_what_the_station_said() -> None:
    answers: dict[str, Any] = {
        "GetConfiguration": {
            "configurationKey": [{"key": "AuthorizationKey", "readonly": False, "value": "s3cr3t"}],
            "unknownKey": ["X"],
        },
        "ChangeConfiguration": lambda _a, p: {
            "status": "Accepted" if p["key"] == "HeartbeatInterval" else "NotSupported"
        },
    }
    gw = ScriptedGateway(V16, answers)
    store = MemoryConfiguration()
    report = await get_configuration(gw, store, "CS1", clock=lambda: NOW)
    assert report.keys[0].read_at == NOW
    assert store.reads == [("CS1", [ConfigurationKey("AuthorizationKey", MASKED, False)], ["X"])]
    ok = await change_configuration(gw, store, "CS1", "HeartbeatInterval", "60", clock=lambda: NOW)
    refused = await change_configuration(gw, store, "CS1", "Foo", "1", clock=lambda: NOW)
    assert (ok.status, refused.status) == (
        ConfigurationStatus.ACCEPTED,
        ConfigurationStatus.NOT_SUPPORTED,
    )
    assert store.changes == [("CS1", "HeartbeatInterval", "60")]


async def test_get_and_set_variables_v2() -> None:
    ref = VariableRef("OCPPCommCtrlr", "HeartbeatInterval")
    secret = VariableRef("SecurityCtrlr", "BasicAuthPassword")
    evse_ref = VariableRef(
        "Connector", "Available", evse_id=1, connector_id=1, attribute_type="Actual"
    )
    answers: dict[str, Any] = {
        "GetVariables": {
            "getVariableResult": [
                {
                    "attributeStatus": "Accepted",
                    "attributeValue": "300",
                    "component": {"name": "OCPPCommCtrlr"},
                    "variable": {"name": "HeartbeatInterval"},
                },
                {
                    "attributeStatus": "Accepted",
                    "attributeValue": "hunter2hunter2hunter2",
                    "component": {"name": "SecurityCtrlr"},
                    "variable": {"name": "BasicAuthPassword"},
                },
            ]
        },
        "SetVariables": {
            "setVariableResult": [
                {
                    "attributeStatus": "RebootRequired",
                    "component": {"name": "OCPPCommCtrlr"},
                    "variable": {"name": "HeartbeatInterval"},
                }
            ]
        },
    }
    gw = ScriptedGateway(OcppVersion.V201, answers)
    got = await send(gw, "CS1", GetVariables((ref, secret, evse_ref)))
    assert [(r.ref.variable, r.status, r.value) for r in got] == [
        ("HeartbeatInterval", "Accepted", "300"),
        ("BasicAuthPassword", "Accepted", MASKED),
    ]
    assert gw.sent[0][1]["getVariableData"][2] == {
        "component": {"name": "Connector", "evse": {"id": 1, "connectorId": 1}},
        "variable": {"name": "Available"},
        "attributeType": "Actual",
    }
    set_result = await send(gw, "CS1", SetVariables(((ref, "60"),)))
    assert set_result[0].status == "RebootRequired"
    assert gw.sent[1] == (
        "SetVariables",
        {
            "setVariableData": [
                {
                    "attributeValue": "60",
                    "component": {"name": "OCPPCommCtrlr"},
                    "variable": {"name": "HeartbeatInterval"},
                }
            ]
        },
    )
    with pytest.raises(CommandNotAllowed):
        SetVariables(((secret, "x" * 20),))


async def test_data_transfer_to_a_station() -> None:
    gw16 = ScriptedGateway(V16, {"DataTransfer": {"status": "UnknownVendorId"}})
    result = await send(gw16, "CS1", DataTransfer("com.vendor", "Set", {"a": 1}))
    assert gw16.sent == [
        ("DataTransfer", {"vendorId": "com.vendor", "messageId": "Set", "data": '{"a":1}'})
    ]
    assert result.status is DataTransferStatus.UNKNOWN_VENDOR_ID
    gw2 = ScriptedGateway(
        OcppVersion.V201, {"DataTransfer": {"status": "Accepted", "data": {"b": [2]}}}
    )
    result = await send(gw2, "CS1", DataTransfer("com.vendor", data={"a": 1}))
    assert gw2.sent == [("DataTransfer", {"vendorId": "com.vendor", "data": {"a": 1}})]
    assert (result.status, result.data) == (DataTransferStatus.ACCEPTED, {"b": [2]})


async def test_a_command_needs_a_connected_station() -> None:
    with pytest.raises(StationNotConnected):
        await send(ScriptedGateway(None), "CS1", ClearCache())


def test_an_unknown_status_from_a_lenient_station_is_a_failed_call() -> None:
    with pytest.raises(CallFailed, match="unknown status"):
        ClearCache().result(V16, {"status": "Maybe"})


@pytest.mark.parametrize("version", [V16, *V2])
async def test_acceptance_triggers_a_boot_of_a_pending_station(version: OcppVersion) -> None:
    gw = ScriptedGateway(
        version, {"TriggerMessage": {"status": "Accepted"}}, registration=RegistrationStatus.PENDING
    )
    status = await notify_registration_change(
        gw, "CS1", RegistrationStatus.PENDING, RegistrationStatus.ACCEPTED
    )
    assert status is TriggerStatus.ACCEPTED
    assert gw.sent == [("TriggerMessage", {"requestedMessage": "BootNotification"})]
    # Nothing to do: not newly accepted, or not connected.
    assert (
        await notify_registration_change(
            gw, "CS1", RegistrationStatus.ACCEPTED, RegistrationStatus.ACCEPTED
        )
        is None
    )
    assert (
        await notify_registration_change(
            gw, "CS2", RegistrationStatus.PENDING, RegistrationStatus.ACCEPTED
        )
        is None
    )
    assert len(gw.sent) == 1


async def test_acceptance_of_a_rejected_station() -> None:
    """1.6: a Rejected station answers nothing (1.6 §4.2); 2.x may be triggered (B03.FR.08)."""
    rejected = RegistrationStatus.REJECTED
    gw16 = ScriptedGateway(V16, {}, registration=rejected)
    assert (
        await notify_registration_change(gw16, "CS1", rejected, RegistrationStatus.ACCEPTED)
    ) is None
    assert gw16.sent == []
    gw2 = ScriptedGateway(
        OcppVersion.V201, {"TriggerMessage": {"status": "Accepted"}}, registration=rejected
    )
    assert (
        await notify_registration_change(gw2, "CS1", rejected, RegistrationStatus.ACCEPTED)
    ) is TriggerStatus.ACCEPTED


SAMPLES: list[Any] = [
    ChangeAvailability(AvailabilityType.OPERATIVE, evse_id=1),
    ClearCache(),
    DataTransfer("v", "m", "d"),
    Reset(ResetType.HARD),
    Reset(ResetType.ON_IDLE),
    GetConfiguration(),
    ChangeConfiguration("K", "V"),
    GetVariables((VariableRef("C", "V"),)),
    SetVariables(((VariableRef("C", "V"), "1"),)),
    RemoteStartTransaction("T"),
    RemoteStopTransaction("1"),
    UnlockConnector(1),
    *(TriggerMessage(t) for t in MessageTrigger),
    *(ExtendedTriggerMessage(t) for t in MessageTrigger),
    ReserveNow(
        Reservation(1, "CS1", 0, "T", datetime(2030, 1, 1, tzinfo=UTC), ReservationStatus.REQUESTED)
    ),
    CancelReservation(1),
]


@pytest.mark.parametrize("version", [V16, *V2])
def test_commands_send_only_what_they_declare(version: OcppVersion) -> None:
    """The support matrix counts the declared actions; each must be one the command sends."""
    seen: set[tuple[OcppVersion, str]] = set()
    for sample in SAMPLES:
        try:
            action, _ = sample.request(version)
        except InvalidPayload:
            continue  # no equivalent in this version
        assert (version, action) in sent_actions(type(sample)), (sample, version)
        seen.add((version, action))
    declared = {pair for pair in sent_actions(*{type(s) for s in SAMPLES}) if pair[0] is version}
    assert seen == declared
    assert declared <= SENT_BY_COMMANDS
