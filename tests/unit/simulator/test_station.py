"""The simulated station's state machine and answers, per version, without sockets."""

from __future__ import annotations

from typing import Any

import pytest

from csms.messages import MessageValidator
from csms.rpc.versions import OcppVersion
from csms.simulator.dialect import (
    Progress,
    Reboot,
    SendStatus,
    StartCharging,
    StopCharging,
    StopReason,
)
from csms.simulator.state import Status
from csms.simulator.station import SimStation, StationSpec
from tests.unit.simulator.samples import PEM

V2 = [OcppVersion.V201, OcppVersion.V21]


def station(version: OcppVersion) -> SimStation:
    return SimStation(StationSpec("CP-1", version, evses=2))


def answer(sim: SimStation, action: str, payload: dict[str, Any]) -> Any:
    result = sim.answer(action, payload)
    sim.validator.validate_response(action, result.payload)
    return result


def test_16_remote_start_and_stop() -> None:
    sim = station(OcppVersion.V16)
    started = answer(sim, "RemoteStartTransaction", {"idTag": "TAG", "connectorId": 2})
    assert started.payload == {"status": "Accepted"}
    assert started.then == (StartCharging(2, "TAG"),)
    evse = sim.state.evses[2]
    tx = sim.begin_transaction(evse, "TAG", 0.0)
    tx.csms_id = 42
    assert answer(sim, "RemoteStartTransaction", {"idTag": "X", "connectorId": 2}).payload == {
        "status": "Rejected"
    }
    assert (
        answer(sim, "RemoteStopTransaction", {"transactionId": 7}).payload["status"] == "Rejected"
    )
    stop = answer(sim, "RemoteStopTransaction", {"transactionId": 42})
    assert stop.payload == {"status": "Accepted"}
    assert stop.then == (StopCharging(2, StopReason.REMOTE),)


def test_16_change_availability_is_scheduled_during_a_transaction() -> None:
    sim = station(OcppVersion.V16)
    evse = sim.state.evses[1]
    sim.begin_transaction(evse, "TAG", 0.0)
    result = answer(sim, "ChangeAvailability", {"connectorId": 1, "type": "Inoperative"})
    assert result.payload == {"status": "Scheduled"}
    assert evse.operative
    sim.end_transaction(evse, 1.0)
    assert not sim.state.evses[1].operative
    sim.settle(evse)
    assert evse.status is Status.UNAVAILABLE
    result = answer(sim, "ChangeAvailability", {"connectorId": 0, "type": "Operative"})
    assert result.payload == {"status": "Accepted"}
    assert result.then == (SendStatus(1), SendStatus(2))
    assert sim.state.evses[1].status is Status.AVAILABLE


def test_16_configuration_keys() -> None:
    sim = station(OcppVersion.V16)
    got = answer(sim, "GetConfiguration", {"key": ["HeartbeatInterval", "Nope"]}).payload
    assert got["configurationKey"] == [
        {"key": "HeartbeatInterval", "readonly": False, "value": "60.0"}
    ]
    assert got["unknownKey"] == ["Nope"]
    assert answer(sim, "GetConfiguration", {}).payload["configurationKey"]
    change = "ChangeConfiguration"
    assert answer(sim, change, {"key": "HeartbeatInterval", "value": "120"}).payload == {
        "status": "Accepted"
    }
    assert sim.heartbeat_interval == 120.0
    assert answer(sim, change, {"key": "NumberOfConnectors", "value": "9"}).payload == {
        "status": "Rejected"
    }
    assert answer(sim, change, {"key": "HeartbeatInterval", "value": "soon"}).payload == {
        "status": "Rejected"
    }
    assert answer(sim, change, {"key": "Teleport", "value": "1"}).payload == {
        "status": "NotSupported"
    }


@pytest.mark.parametrize("version", V2, ids=lambda v: v.value)
def test_2x_get_and_set_variables(version: OcppVersion) -> None:
    sim = station(version)
    comm = {"name": "OCPPCommCtrlr"}
    result = answer(
        sim,
        "SetVariables",
        {
            "setVariableData": [
                {
                    "component": comm,
                    "variable": {"name": "HeartbeatInterval"},
                    "attributeValue": "30",
                },
                {"component": comm, "variable": {"name": "Nope"}, "attributeValue": "1"},
                {"component": {"name": "Nope"}, "variable": {"name": "X"}, "attributeValue": "1"},
                {
                    "component": {"name": "SecurityCtrlr"},
                    "variable": {"name": "Identity"},
                    "attributeValue": "evil",
                },
            ]
        },
    )
    statuses = [r["attributeStatus"] for r in result.payload["setVariableResult"]]
    assert statuses == ["Accepted", "UnknownVariable", "UnknownComponent", "Rejected"]
    assert sim.heartbeat_interval == 30.0
    got = answer(
        sim,
        "GetVariables",
        {
            "getVariableData": [
                {"component": comm, "variable": {"name": "HeartbeatInterval"}},
                {
                    "component": comm,
                    "variable": {"name": "MessageAttempts", "instance": "TransactionEvent"},
                },
            ]
        },
    ).payload["getVariableResult"]
    assert [(g["attributeStatus"], g.get("attributeValue")) for g in got] == [
        ("Accepted", "30"),
        ("Accepted", "3"),
    ]
    report = answer(sim, "GetBaseReport", {"requestId": 5, "reportBase": "FullInventory"})
    (notify,) = report.then
    sim.validator.validate_request("NotifyReport", notify.payload)


@pytest.mark.parametrize("version", V2, ids=lambda v: v.value)
def test_2x_reservation_blocks_other_drivers(version: OcppVersion) -> None:
    sim = station(version)
    token = {"idToken": "MINE", "type": "ISO14443"}
    reserve = {"id": 9, "expiryDateTime": "2030-01-01T00:00:00Z", "idToken": token, "evseId": 1}
    assert answer(sim, "ReserveNow", reserve).payload == {"status": "Accepted"}
    assert sim.dialect.wire_status(sim.state.evses[1]) == "Reserved"
    assert answer(sim, "ReserveNow", reserve).payload == {"status": "Occupied"}
    other = {"idToken": {"idToken": "OTHER", "type": "ISO14443"}, "remoteStartId": 1, "evseId": 1}
    assert answer(sim, "RequestStartTransaction", other).payload == {"status": "Rejected"}
    mine = {"idToken": token, "remoteStartId": 2, "evseId": 1}
    assert answer(sim, "RequestStartTransaction", mine).then == (StartCharging(1, "MINE", 2),)
    assert answer(sim, "CancelReservation", {"reservationId": 9}).payload == {"status": "Accepted"}
    assert answer(sim, "CancelReservation", {"reservationId": 9}).payload == {"status": "Rejected"}
    assert sim.state.evses[1].status is Status.AVAILABLE


@pytest.mark.parametrize("version", V2, ids=lambda v: v.value)
def test_2x_local_list_versions(version: OcppVersion) -> None:
    sim = station(version)
    entry = {"idToken": {"idToken": "A", "type": "ISO14443"}, "idTokenInfo": {"status": "Accepted"}}
    full = {"versionNumber": 3, "updateType": "Full", "localAuthorizationList": [entry]}
    assert answer(sim, "SendLocalList", full).payload == {"status": "Accepted"}
    assert answer(sim, "GetLocalListVersion", {}).payload == {"versionNumber": 3}
    stale = {"versionNumber": 2, "updateType": "Differential", "localAuthorizationList": [entry]}
    assert answer(sim, "SendLocalList", stale).payload == {"status": "VersionMismatch"}


@pytest.mark.parametrize("version", V2, ids=lambda v: v.value)
def test_2x_charging_profile_changes_power_and_composite_schedule(version: OcppVersion) -> None:
    sim = station(version)
    evse = sim.state.evses[1]
    sim.begin_transaction(evse, "TAG", 0.0)
    profile = {
        "id": 5,
        "stackLevel": 0,
        "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Absolute",
        "chargingSchedule": [
            {
                "id": 1,
                "startSchedule": "2030-01-01T00:00:00Z",
                "chargingRateUnit": "A",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 10.0}],
            }
        ],
    }
    assert answer(sim, "SetChargingProfile", {"evseId": 1, "chargingProfile": profile}).payload == {
        "status": "Accepted"
    }
    assert evse.meter.power_w == 10 * 230 * 3
    composite = answer(sim, "GetCompositeSchedule", {"duration": 60, "evseId": 1}).payload
    assert composite["schedule"]["chargingSchedulePeriod"] == [{"startPeriod": 0, "limit": 6900.0}]
    listed = answer(
        sim, "GetChargingProfiles", {"requestId": 1, "chargingProfile": {"stackLevel": 0}}
    )
    assert listed.payload == {"status": "Accepted"}
    assert answer(sim, "ClearChargingProfile", {"chargingProfileId": 5}).payload == {
        "status": "Accepted"
    }
    assert answer(sim, "ClearChargingProfile", {"chargingProfileId": 5}).payload == {
        "status": "Unknown"
    }
    assert evse.effective_power() == evse.max_power_w


@pytest.mark.parametrize("version", V2, ids=lambda v: v.value)
def test_2x_reset_unlock_and_firmware(version: OcppVersion) -> None:
    sim = station(version)
    evse = sim.state.evses[2]
    sim.begin_transaction(evse, "TAG", 0.0)
    assert answer(sim, "Reset", {"type": "OnIdle"}).payload == {"status": "Scheduled"}
    immediate = answer(sim, "Reset", {"type": "Immediate"})
    assert immediate.then == (StopCharging(2, StopReason.HARD_RESET), Reboot(hard=True))
    unlock = answer(sim, "UnlockConnector", {"evseId": 2, "connectorId": 1})
    assert unlock.payload == {"status": "OngoingAuthorizedTransaction"}
    assert answer(sim, "UnlockConnector", {"evseId": 7, "connectorId": 1}).payload == {
        "status": "UnknownConnector"
    }
    update = {
        "requestId": 3,
        "firmware": {
            "location": "https://example.com/fw.bin",
            "retrieveDateTime": "2030-01-01T00:00:00Z",
        },
    }
    (progress,) = answer(sim, "UpdateFirmware", update).then
    assert isinstance(progress, Progress)
    assert [p["status"] for p in progress.payloads] == [
        "Downloading",
        "Downloaded",
        "Installing",
        "InstallRebooting",
    ]
    assert progress.reboot_after
    assert progress.after_boot == ({"status": "Installed", "requestId": 3},)  # TC_L_01_CSMS
    for step in (*progress.payloads, *progress.after_boot):
        sim.validator.validate_request(progress.action, step)


@pytest.mark.parametrize("version", [OcppVersion.V16, *V2], ids=lambda v: v.value)
def test_certificates_install_list_delete(version: OcppVersion) -> None:
    sim = station(version)
    kind = "CentralSystemRootCertificate" if version is OcppVersion.V16 else "CSMSRootCertificate"
    assert answer(
        sim, "InstallCertificate", {"certificateType": kind, "certificate": PEM}
    ).payload == {"status": "Accepted"}
    assert answer(
        sim, "InstallCertificate", {"certificateType": kind, "certificate": "junk"}
    ).payload == {"status": "Rejected"}
    listed = answer(
        sim,
        "GetInstalledCertificateIds",
        {"certificateType": kind} if version is OcppVersion.V16 else {"certificateType": [kind]},
    ).payload
    hashes = (
        listed["certificateHashData"]
        if version is OcppVersion.V16
        else [c["certificateHashData"] for c in listed["certificateHashDataChain"]]
    )
    assert len(hashes) == 1
    assert answer(sim, "DeleteCertificate", {"certificateHashData": hashes[0]}).payload == {
        "status": "Accepted"
    }
    assert answer(sim, "DeleteCertificate", {"certificateHashData": hashes[0]}).payload == {
        "status": "NotFound"
    }


@pytest.mark.parametrize("version", [OcppVersion.V16, *V2], ids=lambda v: v.value)
def test_transaction_messages_are_schema_valid_and_numbered(version: OcppVersion) -> None:
    sim = station(version)
    validator = MessageValidator(version)
    evse = sim.state.evses[1]
    now = sim.clock()
    sim.plug_in(evse)
    tx = sim.begin_transaction(evse, "TAG", 0.0)
    sim.offline = True
    messages = [
        sim.dialect.started(sim, evse, tx, now, offline=False),
        sim.dialect.updated(sim, evse, tx, now, offline=True),
        sim.dialect.ended(sim, evse, tx, StopReason.POWER_LOSS, now, offline=True),
        sim.dialect.status(sim, evse, now),
        sim.dialect.meter_values(sim, evse, now),
        sim.dialect.authorize("TAG"),
    ]
    for action, payload in messages:
        validator.validate_request(action, payload)
    if version.is_2x:
        events = [p for a, p in messages if a == "TransactionEvent"]
        assert [e["seqNo"] for e in events] == [0, 1, 2]
        assert [e.get("offline", False) for e in events] == [False, True, True]
        assert events[2]["transactionInfo"]["stoppedReason"] == "PowerLoss"
        assert messages[3][1]["connectorStatus"] == "Occupied"
    else:
        assert [a for a, _ in messages[:3]] == [
            "StartTransaction",
            "MeterValues",
            "StopTransaction",
        ]
        assert messages[2][1]["reason"] == "PowerLoss"
        assert messages[3][1]["status"] == "Charging"


def test_data_transfer_knows_only_its_vendor() -> None:
    sim = station(OcppVersion.V201)
    assert answer(sim, "DataTransfer", {"vendorId": "other"}).payload == {
        "status": "UnknownVendorId"
    }
    assert answer(sim, "DataTransfer", {"vendorId": "csms-sim", "data": "ping"}).payload == {
        "status": "Accepted",
        "data": "ping",
    }


def test_triggered_transaction_event_says_trigger() -> None:
    sim = station(OcppVersion.V201)
    evse = sim.state.evses[1]
    tx = sim.begin_transaction(evse, "TAG", 0.0)
    _, periodic = sim.dialect.updated(sim, evse, tx, sim.clock(), offline=False)
    _, triggered = sim.dialect.updated(sim, evse, tx, sim.clock(), offline=False, triggered=True)
    assert (periodic["triggerReason"], triggered["triggerReason"]) == (
        "MeterValuePeriodic",
        "Trigger",
    )
