"""OCPP 2.0.1 Part 6 §3.3, B Provisioning: the CSMS test cases, the OCTT's side played over a
real WebSocket against a running csms."""

from __future__ import annotations

from typing import Any

import pytest

from csms.blocks.provisioning.commands import Reset
from csms.blocks.provisioning.device_model import get_variables, set_variables
from csms.blocks.provisioning.network_profile import SetNetworkProfile, SetNetworkProfileStatus
from csms.blocks.provisioning.report_commands import GetBaseReport
from csms.domain.commands import ChangeStatus, ResetType, VariableRef
from csms.domain.devicemodel import DeviceModelStatus, ReportBase
from csms.domain.model import RegistrationStatus
from csms.storage.tables import transactions
from tests.integration.conformance.octt import (
    STATION,
    VALID_TOKEN,
    Octt,
    background,
    connected,
    operator,
    timestamp,
)
from tests.integration.harness import RunningCsms
from tests.unit.storage.db import fetch

Payload = dict[str, Any]

OFFLINE_THRESHOLD = VariableRef("OCPPCommCtrlr", "OfflineThreshold")
AUTHORIZE_REMOTE_START = VariableRef("AuthCtrlr", "AuthorizeRemoteStart")


def _store(server: RunningCsms) -> Any:
    assert server.csms.store is not None
    return server.csms.store


async def _device_model(server: RunningCsms, component: str) -> dict[str, str | None]:
    """What an operator sees of ``component`` through the HTTP API: variable → Actual value."""
    async with server.api() as api:
        response = await api.get(
            f"/api/v1/stations/{STATION}/device-model", params={"component": component}
        )
    assert response.status_code == 200, response.text
    return {
        row["variable"]: row["value"]
        for row in response.json()
        if row["attribute_type"] == "Actual"
    }


def _variables_result(request: Payload, values: dict[str, str]) -> Payload:
    return {
        "getVariableResult": [
            {
                "attributeStatus": "Accepted",
                "attributeValue": values[entry["variable"]["name"]],
                "component": entry["component"],
                "variable": entry["variable"],
            }
            for entry in request["getVariableData"]
        ]
    }


async def _set_registration(server: RunningCsms, status: RegistrationStatus) -> None:
    await _store(server).stations.set_registration(STATION, status)


async def test_TC_B_01_CSMS_cold_boot_accepted(server: RunningCsms) -> None:
    async with connected(server) as octt:
        response = await octt.booted()
        await octt.nothing_sent()  # an Accepted station is left alone
    assert response["interval"] > 0
    assert response["currentTime"].endswith("Z")


async def test_TC_B_02_CSMS_cold_boot_pending(server: RunningCsms) -> None:
    """Pending first. During the interval the CSMS may retrieve information (B06-B08): here a
    GetBaseReport, whose NotifyReport the Pending station may send (B02; TC_B_30's description).
    Then the operator accepts the station (HTTP API), which csms follows with a
    TriggerMessage(BootNotification) the OCTT answers; the next BootNotification is Accepted."""
    await _set_registration(server, RegistrationStatus.PENDING)
    async with connected(server) as octt:
        pending = await octt.boot()
        assert pending["status"] == "Pending"
        assert pending["interval"] > 0
        task = operator(server, GetBaseReport(request_id=1))
        request = await octt.answer("GetBaseReport", {"status": "Accepted"})
        assert (await task).status is DeviceModelStatus.ACCEPTED
        report = {
            "requestId": request["requestId"],
            "generatedAt": timestamp(),
            "seqNo": 0,
            "reportData": [_report_entry("OCPPCommCtrlr", "OfflineThreshold", "60")],
        }
        assert await octt.call("NotifyReport", report) == {}
        # Only what was asked for: a StatusNotification still gets SecurityError.
        status = octt.status_notification(1, 1, "Available")
        assert await octt.refused("StatusNotification", status) == "SecurityError"
        async with server.api() as api:
            accepted = await api.patch(
                f"/api/v1/stations/{STATION}", json={"registration_status": "Accepted"}
            )
        assert accepted.status_code == 200, accepted.text
        trigger = await octt.answer("TriggerMessage", {"status": "Accepted"})
        assert trigger["requestedMessage"] == "BootNotification"
        assert (await octt.boot("PowerUp"))["status"] == "Accepted"
        await octt.connector_status(1, 1, "Available")


@pytest.mark.parametrize("status", [RegistrationStatus.PENDING, RegistrationStatus.REJECTED])
async def test_TC_B_30_CSMS_pending_or_rejected_security_error(
    server: RunningCsms, status: RegistrationStatus
) -> None:
    await _set_registration(server, status)
    async with connected(server) as octt:
        assert (await octt.boot())["status"] == status.value
        connector = {"name": "Connector", "evse": {"id": 1, "connectorId": 1}}
        for action, payload in (
            ("StatusNotification", octt.status_notification(1, 1, "Available")),
            ("NotifyEvent", octt.notify_event(connector, "AvailabilityState", "Available")),
        ):
            assert await octt.refused(action, payload) == "SecurityError"


@pytest.mark.parametrize("status", [RegistrationStatus.PENDING, RegistrationStatus.REJECTED])
async def test_TC_B_31_CSMS_pending_or_rejected_trigger_message(
    server: RunningCsms, status: RegistrationStatus
) -> None:
    await _set_registration(server, status)
    async with connected(server) as octt:
        assert (await octt.boot())["status"] == status.value
        async with server.api() as api:
            accepted = await api.patch(
                f"/api/v1/stations/{STATION}", json={"registration_status": "Accepted"}
            )
        assert accepted.status_code == 200, accepted.text
        trigger = await octt.answer("TriggerMessage", {"status": "Accepted"})
        assert trigger["requestedMessage"] == "BootNotification"
        assert (await octt.boot("Triggered"))["status"] == "Accepted"
        await octt.connector_status(1, 1, "Available")


async def test_TC_B_06_CSMS_get_variables_single_value(server: RunningCsms) -> None:
    store = _store(server)
    async with connected(server) as octt:
        await octt.booted()
        task = background(
            get_variables(
                server.csms.registry,
                store.device_model,
                STATION,
                [OFFLINE_THRESHOLD],
                clock=server.csms.clock,
            )
        )
        request = await octt.expect("GetVariables")
        [entry] = request[1]["getVariableData"]
        assert entry.get("attributeType", "Actual") in ("Actual", "Target", "MinSet", "MaxSet")
        assert (entry["component"]["name"], entry["variable"]["name"]) == (
            "OCPPCommCtrlr",
            "OfflineThreshold",
        )
        await octt.reply(request[0], _variables_result(request[1], {"OfflineThreshold": "60"}))
        [result] = await task
    assert (result.status, result.value) == ("Accepted", "60")
    assert (await _device_model(server, "OCPPCommCtrlr"))["OfflineThreshold"] == "60"


async def test_TC_B_07_CSMS_get_variables_multiple_values(server: RunningCsms) -> None:
    store = _store(server)
    async with connected(server) as octt:
        await octt.booted()
        task = background(
            get_variables(
                server.csms.registry,
                store.device_model,
                STATION,
                [OFFLINE_THRESHOLD, AUTHORIZE_REMOTE_START],
                clock=server.csms.clock,
            )
        )
        message_id, request = await octt.expect("GetVariables")
        asked = {
            (e["component"]["name"], e["variable"]["name"]): e.get("attributeType", "Actual")
            for e in request["getVariableData"]
        }
        assert asked == {
            ("OCPPCommCtrlr", "OfflineThreshold"): "Actual",
            ("AuthCtrlr", "AuthorizeRemoteStart"): "Actual",
        }
        values = {"OfflineThreshold": "60", "AuthorizeRemoteStart": "true"}
        await octt.reply(message_id, _variables_result(request, values))
        results = await task
    assert {(r.ref.variable, r.value) for r in results} == set(values.items())
    assert (await _device_model(server, "OCPPCommCtrlr"))["OfflineThreshold"] == "60"
    assert (await _device_model(server, "AuthCtrlr"))["AuthorizeRemoteStart"] == "true"


async def _set_variables(
    server: RunningCsms, octt: Octt, values: list[tuple[VariableRef, str]]
) -> Payload:
    task = background(
        set_variables(
            server.csms.registry,
            _store(server).device_model,
            STATION,
            values,
            clock=server.csms.clock,
        )
    )
    message_id, request = await octt.expect("SetVariables")
    await octt.reply(
        message_id,
        {
            "setVariableResult": [
                {
                    "attributeStatus": "Accepted",
                    "component": e["component"],
                    "variable": e["variable"],
                }
                for e in request["setVariableData"]
            ]
        },
    )
    assert {r.status for r in await task} == {"Accepted"}
    return request


async def test_TC_B_09_CSMS_set_variables_single_value(server: RunningCsms) -> None:
    async with connected(server) as octt:
        await octt.booted()
        request = await _set_variables(server, octt, [(OFFLINE_THRESHOLD, "123")])
    [entry] = request["setVariableData"]
    assert entry.get("attributeType", "Actual") == "Actual"
    assert (entry["component"]["name"], entry["variable"]["name"], entry["attributeValue"]) == (
        "OCPPCommCtrlr",
        "OfflineThreshold",
        "123",
    )
    assert (await _device_model(server, "OCPPCommCtrlr"))["OfflineThreshold"] == "123"


async def test_TC_B_10_CSMS_set_variables_multiple_values(server: RunningCsms) -> None:
    async with connected(server) as octt:
        await octt.booted()
        request = await _set_variables(
            server, octt, [(OFFLINE_THRESHOLD, "123"), (AUTHORIZE_REMOTE_START, "false")]
        )
    sent = {
        (e["component"]["name"], e["variable"]["name"]): e["attributeValue"]
        for e in request["setVariableData"]
        if e.get("attributeType", "Actual") == "Actual"
    }
    assert sent == {
        ("OCPPCommCtrlr", "OfflineThreshold"): "123",
        ("AuthCtrlr", "AuthorizeRemoteStart"): "false",
    }
    assert (await _device_model(server, "OCPPCommCtrlr"))["OfflineThreshold"] == "123"
    assert (await _device_model(server, "AuthCtrlr"))["AuthorizeRemoteStart"] == "false"


def _report_entry(component: str, variable: str, value: str) -> Payload:
    return {
        "component": {"name": component},
        "variable": {"name": variable},
        "variableAttribute": [{"type": "Actual", "value": value, "mutability": "ReadWrite"}],
        "variableCharacteristics": {"dataType": "integer", "supportsMonitoring": False},
    }


async def _base_report(server: RunningCsms, report_base: ReportBase) -> None:
    """GetBaseReport, answered Accepted, then the report in two NotifyReport parts."""
    async with connected(server) as octt:
        await octt.booted()
        task = operator(server, GetBaseReport(request_id=7, report_base=report_base))
        request = await octt.answer("GetBaseReport", {"status": "Accepted"})
        assert isinstance(request["requestId"], int) and request["requestId"] >= 0
        assert request["reportBase"] == report_base.value
        assert (await task).status is DeviceModelStatus.ACCEPTED
        parts = [
            [_report_entry("OCPPCommCtrlr", "OfflineThreshold", "60")],
            [_report_entry("OCPPCommCtrlr", "MessageTimeout", "30")],
        ]
        for seq_no, data in enumerate(parts):
            report = {
                "requestId": request["requestId"],
                "generatedAt": timestamp(),
                "seqNo": seq_no,
                "tbc": seq_no < len(parts) - 1,
                "reportData": data,
            }
            assert await octt.call("NotifyReport", report) == {}
    # Post scenario validation: all parts received, the result shown to an operator.
    async with server.api() as api:
        reports = (await api.get(f"/api/v1/stations/{STATION}/reports")).json()
    [stored] = reports
    assert (stored["request_id"], stored["complete"]) == (7, True)
    assert await _device_model(server, "OCPPCommCtrlr") == {
        "OfflineThreshold": "60",
        "MessageTimeout": "30",
    }


async def test_TC_B_12_CSMS_get_base_report_configuration_inventory(server: RunningCsms) -> None:
    await _base_report(server, ReportBase.CONFIGURATION_INVENTORY)


async def test_TC_B_13_CSMS_get_base_report_full_inventory(server: RunningCsms) -> None:
    await _base_report(server, ReportBase.FULL_INVENTORY)


async def _reboot(server: RunningCsms, reason: str, statuses: dict[tuple[int, int], str]) -> None:
    """The station reboots: a new connection, BootNotification (Accepted), connector states."""
    async with connected(server) as octt:
        assert (await octt.boot(reason))["status"] == "Accepted"
        for (evse_id, connector_id), status in statuses.items():
            await octt.connector_status(evse_id, connector_id, status)


async def _ended(server: RunningCsms, transaction_id: str) -> Payload:
    [row] = await fetch(_store(server).engine, transactions, transaction_id=transaction_id)
    assert row["ended_at"] is not None
    return row


async def test_TC_B_20_CSMS_reset_without_transaction_on_idle(server: RunningCsms) -> None:
    async with connected(server) as octt:
        await octt.booted()
        task = operator(server, Reset(ResetType.ON_IDLE))
        assert await octt.answer("Reset", {"status": "Accepted"}) == {"type": "OnIdle"}
        assert (await task).status is ChangeStatus.ACCEPTED
    await _reboot(server, "RemoteReset", {(1, 1): "Available"})


async def test_TC_B_21_CSMS_reset_with_transaction_on_idle(server: RunningCsms) -> None:
    async with connected(server) as octt:
        await octt.booted()
        tx = octt.transaction()
        await tx.energy_transfer_started()
        task = operator(server, Reset(ResetType.ON_IDLE))
        assert await octt.answer("Reset", {"status": "Scheduled"}) == {"type": "OnIdle"}
        assert (await task).status is ChangeStatus.SCHEDULED
        await tx.event(
            "Updated", "StopAuthorized", charging_state="EVConnected", id_token=VALID_TOKEN
        )
        await tx.event(
            "Ended",
            "EVCommunicationLost",
            charging_state="Idle",
            stopped_reason="EVDisconnected",
        )
    await _reboot(server, "ScheduledReset", {(1, 1): "Available"})
    assert (await _ended(server, tx.transaction_id))["stopped_reason"] == "EVDisconnected"


async def test_TC_B_22_CSMS_reset_with_transaction_immediate(server: RunningCsms) -> None:
    async with connected(server) as octt:
        await octt.booted(((1, 1), (2, 1)))
        tx = octt.transaction()
        await tx.energy_transfer_started()
        task = operator(server, Reset(ResetType.IMMEDIATE))
        assert await octt.answer("Reset", {"status": "Accepted"}) == {"type": "Immediate"}
        assert (await task).status is ChangeStatus.ACCEPTED
        await tx.event(
            "Ended", "ResetCommand", charging_state="EVConnected", stopped_reason="ImmediateReset"
        )
    await _reboot(server, "RemoteReset", {(1, 1): "Occupied", (2, 1): "Available"})
    assert (await _ended(server, tx.transaction_id))["stopped_reason"] == "ImmediateReset"


async def test_TC_B_25_CSMS_reset_evse_without_transaction(server: RunningCsms) -> None:
    async with connected(server) as octt:
        await octt.booted()
        task = operator(server, Reset(ResetType.ON_IDLE, evse_id=1))
        request = await octt.answer("Reset", {"status": "Accepted"})
        assert request == {"type": "OnIdle", "evseId": 1}
        assert (await task).status is ChangeStatus.ACCEPTED


async def test_TC_B_26_CSMS_reset_evse_with_transaction_on_idle(server: RunningCsms) -> None:
    async with connected(server) as octt:
        await octt.booted()
        tx = octt.transaction()
        await tx.energy_transfer_started()
        task = operator(server, Reset(ResetType.ON_IDLE, evse_id=1))
        request = await octt.answer("Reset", {"status": "Scheduled"})
        assert request == {"type": "OnIdle", "evseId": 1}
        assert (await task).status is ChangeStatus.SCHEDULED
        await tx.event(
            "Updated", "StopAuthorized", charging_state="EVConnected", id_token=VALID_TOKEN
        )
        await tx.event(
            "Ended", "EVCommunicationLost", charging_state="Idle", stopped_reason="EVDisconnected"
        )
    assert (await _ended(server, tx.transaction_id))["stopped_reason"] == "EVDisconnected"


async def test_TC_B_27_CSMS_reset_evse_with_transaction_immediate(server: RunningCsms) -> None:
    async with connected(server) as octt:
        await octt.booted()
        tx = octt.transaction()
        await tx.energy_transfer_started()
        task = operator(server, Reset(ResetType.IMMEDIATE, evse_id=1))
        request = await octt.answer("Reset", {"status": "Accepted"})
        assert request == {"type": "Immediate", "evseId": 1}
        assert (await task).status is ChangeStatus.ACCEPTED
        await tx.event(
            "Ended", "ResetCommand", charging_state="EVConnected", stopped_reason="ImmediateReset"
        )
    assert (await _ended(server, tx.transaction_id))["stopped_reason"] == "ImmediateReset"


# <Configured ocppCsmsUrl>, <Configured messageTimeout>, <Configured ocppInterface>,
# <Configured securityProfile> (csms's own: the harness runs profile 1).
NETWORK_PROFILE = {
    "ocppCsmsUrl": "ws://csms-2.example.com:9000/ocpp/",
    "messageTimeout": 30,
    "ocppInterface": "Wired0",
    "ocppTransport": "JSON",
    "securityProfile": 1,
}


async def _set_network_profile(
    server: RunningCsms, answer: str
) -> tuple[Payload, SetNetworkProfileStatus]:
    async with connected(server) as octt:
        await octt.booted()
        command = SetNetworkProfile(
            1,
            NETWORK_PROFILE,
            required_security_profile=server.csms.settings.server.security_profile,
        )
        task = operator(server, command)
        request = await octt.answer("SetNetworkProfile", {"status": answer})
        return request, (await task).status


async def test_TC_B_42_CSMS_set_network_profile_accepted(server: RunningCsms) -> None:
    request, status = await _set_network_profile(server, "Accepted")
    assert request == {
        "configurationSlot": 1,
        "connectionData": {
            "messageTimeout": 30,
            "ocppCsmsUrl": "ws://csms-2.example.com:9000/ocpp/",
            "ocppInterface": "Wired0",
            "ocppTransport": "JSON",
            "ocppVersion": "OCPP20",
            "securityProfile": 1,
        },
    }
    assert status is SetNetworkProfileStatus.ACCEPTED


async def test_TC_B_44_CSMS_set_network_profile_failed(server: RunningCsms) -> None:
    _, status = await _set_network_profile(server, "Failed")
    assert status is SetNetworkProfileStatus.FAILED
