"""OCPP 2.0.1 Part 6 §3.15, N Diagnostics: the CSMS test cases, the OCTT's side played over a
real WebSocket against a running csms.

GetLog goes out through the HTTP API (``/stations/{id}/logs``); every LogStatusNotification is
found in the request's status history. CustomerInformation is the typed command; the
NotifyCustomerInformation parts are read back assembled (``/stations/{id}/customer-information/
{requestId}``), on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from csms.blocks.diagnostics.monitoring_commands import (
    CustomerInformation,
    GetMonitoringReport,
    SetMonitoringBase,
    SetMonitoringLevel,
    clear_variable_monitoring,
    set_variable_monitoring,
)
from csms.domain.commands import AcceptStatus
from csms.domain.devicemodel import (
    ClearMonitoringStatus,
    CustomerInformationStatus,
    DeviceModelStatus,
    MonitoringBase,
    MonitorSetting,
    SetMonitoringStatus,
    VariableKey,
)
from tests.integration.conformance.octt import (
    STATION,
    VALID_TOKEN,
    Octt,
    api_get,
    background,
    connected,
    operator,
    timestamp,
)
from tests.integration.harness import RunningCsms

Payload = dict[str, Any]
CUSTOMER = ("OCTT-VALID-1", "ISO14443")  # <Configured valid_idtoken_idtoken> / _type


@pytest.fixture
def database(database_url: str) -> str:
    """The customer information report is assembled from stored parts: SQLite and PostgreSQL."""
    return database_url


# Cases that store nothing this module reads back run on SQLite only (fast).
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


async def _post_log(server: RunningCsms, log_type: str) -> Payload:
    async with server.api() as api:
        response = await api.post(f"/api/v1/stations/{STATION}/logs", json={"log_type": log_type})
    assert response.status_code == 200, response.text
    result: Payload = response.json()
    return result


async def _get_log(server: RunningCsms, octt: Octt, log_type: str, answer: str = "Accepted") -> int:
    """Manual Action: the operator asks for a log; the OCTT answers ``answer``. Returns the
    requestId."""
    task = background(_post_log(server, log_type))
    request = await octt.answer("GetLog", {"status": answer})
    assert request["logType"] == log_type  # tool validation, step 1
    assert request["log"]["remoteLocation"].startswith("http")
    result = await task
    assert (result["status"], result["request"]["id"]) == (answer, request["requestId"])
    return int(request["requestId"])


async def _log_status(octt: Octt, request_id: int, statuses: Sequence[str]) -> None:
    for status in statuses:
        payload = {"status": status, "requestId": request_id}
        assert await octt.call("LogStatusNotification", payload) == {}


async def _file_request(server: RunningCsms, request_id: int) -> Payload:
    async with server.api() as api:
        response = await api.get(f"/api/v1/file-requests/{request_id}")
    assert response.status_code == 200, response.text
    result: Payload = response.json()
    result["statuses"] = [entry["status"] for entry in result["history"]]
    return result


async def _log_success(server: RunningCsms, log_type: str) -> None:
    async with connected(server) as octt:
        await octt.booted()
        request_id = await _get_log(server, octt, log_type)
        await _log_status(octt, request_id, ("Uploading", "Uploaded"))
    found = await _file_request(server, request_id)
    assert found["statuses"] == ["Requested", "Accepted", "Uploading", "Uploaded"]
    assert (found["phase"], found["log_type"]) == ("succeeded", log_type)


@sqlite_only
async def test_TC_N_25_CSMS_retrieve_log_diagnostics_log_success(server: RunningCsms) -> None:
    await _log_success(server, "DiagnosticsLog")


@sqlite_only
async def test_TC_N_35_CSMS_retrieve_log_security_log_success(server: RunningCsms) -> None:
    await _log_success(server, "SecurityLog")


@sqlite_only
async def test_TC_N_34_CSMS_retrieve_log_rejected(server: RunningCsms) -> None:
    async with connected(server) as octt:
        await octt.booted()
        request_id = await _get_log(server, octt, "DiagnosticsLog", "Rejected")
        await octt.nothing_sent()
    assert (await _file_request(server, request_id))["phase"] == "rejected"


@sqlite_only
async def test_TC_N_36_CSMS_retrieve_log_second_request(server: RunningCsms) -> None:
    async with connected(server) as octt:
        await octt.booted()
        first = await _get_log(server, octt, "DiagnosticsLog")
        await _log_status(octt, first, ("Uploading",))
        second = await _get_log(server, octt, "DiagnosticsLog", "AcceptedCanceled")
        await _log_status(octt, first, ("AcceptedCanceled",))
        await _log_status(octt, second, ("Uploading", "Uploaded"))
    # The first upload was canceled for the second (N01): csms files it so, not as still running.
    canceled = await _file_request(server, first)
    assert canceled["phase"] == "canceled"
    assert canceled["statuses"][:3] == ["Requested", "Accepted", "Uploading"]
    assert set(canceled["statuses"][3:]) == {"Canceled"}
    done = await _file_request(server, second)
    assert done["statuses"] == ["Requested", "AcceptedCanceled", "Uploading", "Uploaded"]


async def _customer_information(
    server: RunningCsms,
    octt: Octt,
    command: CustomerInformation,
    answer: str = "Accepted",
) -> Payload:
    task = operator(server, command)
    request = await octt.answer("CustomerInformation", {"status": answer})
    assert (await task).status is CustomerInformationStatus(answer)
    return request


def _by_token(request_id: int, *, clear: bool, report: bool = True) -> CustomerInformation:
    return CustomerInformation(request_id, report=report, clear=clear, id_token=CUSTOMER)


def _asked_for_valid_token(request: Payload, *, clear: bool, report: bool = True) -> None:
    """Tool validation, step 1."""
    assert (request["report"], request["clear"]) == (report, clear)
    assert request["idToken"] == VALID_TOKEN


async def _notify(octt: Octt, request_id: int, parts: Sequence[str]) -> None:
    """The OCTT sends the customer data as NotifyCustomerInformation parts."""
    for seq_no, data in enumerate(parts):
        payload: Payload = {
            "data": data,
            "seqNo": seq_no,
            "generatedAt": timestamp(),
            "requestId": request_id,
        }
        if seq_no < len(parts) - 1:
            payload["tbc"] = True
        assert await octt.call("NotifyCustomerInformation", payload) == {}


async def _report(server: RunningCsms, request_id: int) -> Payload:
    async with server.api() as api:
        response = await api.get(f"/api/v1/stations/{STATION}/customer-information/{request_id}")
    assert response.status_code == 200, response.text
    result: Payload = response.json()
    return result


async def test_TC_N_27_CSMS_get_customer_information_accepted_with_data(
    server: RunningCsms,
) -> None:
    parts = ["idToken OCTT-VALID-1: 3 sessions; ", "last 2026-12-01; ", "cached: yes"]
    async with connected(server) as octt:
        await octt.booted()
        request = await _customer_information(server, octt, _by_token(27, clear=False))
        _asked_for_valid_token(request, clear=False)
        await _notify(octt, 27, parts)
    report = await _report(server, 27)
    assert (report["data"], report["parts"], report["complete"]) == ("".join(parts), 3, True)


async def test_TC_N_28_CSMS_get_customer_information_accepted_no_data(
    server: RunningCsms,
) -> None:
    async with connected(server) as octt:
        await octt.booted()
        request = await _customer_information(server, octt, _by_token(28, clear=False))
        _asked_for_valid_token(request, clear=False)
        await _notify(octt, 28, [""])
    report = await _report(server, 28)
    assert (report["data"], report["parts"], report["complete"]) == ("", 1, True)


async def test_TC_N_29_CSMS_get_customer_information_not_accepted(server: RunningCsms) -> None:
    async with connected(server) as octt:
        await octt.booted()
        command = _by_token(29, clear=False)
        request = await _customer_information(server, octt, command, "Rejected")
        _asked_for_valid_token(request, clear=False)
        await octt.nothing_sent()
    async with server.api() as api:
        response = await api.get(f"/api/v1/stations/{STATION}/customer-information/29")
    assert response.status_code == 404  # nothing came back


async def test_TC_N_30_CSMS_clear_customer_information_clear_and_report_with_data(
    server: RunningCsms,
) -> None:
    async with connected(server) as octt:
        await octt.booted()
        request = await _customer_information(server, octt, _by_token(30, clear=True))
        _asked_for_valid_token(request, clear=True)
        await _notify(octt, 30, ["cleared: idToken OCTT-VALID-1 (2 sessions)"])
    assert (await _report(server, 30))["data"] == "cleared: idToken OCTT-VALID-1 (2 sessions)"


async def test_TC_N_31_CSMS_clear_customer_information_clear_and_report_no_data(
    server: RunningCsms,
) -> None:
    async with connected(server) as octt:
        await octt.booted()
        request = await _customer_information(server, octt, _by_token(31, clear=True))
        _asked_for_valid_token(request, clear=True)
        await _notify(octt, 31, [""])
    assert (await _report(server, 31))["complete"] is True


async def test_TC_N_32_CSMS_clear_customer_information_clear_no_report(
    server: RunningCsms,
) -> None:
    async with connected(server) as octt:
        await octt.booted()
        command = _by_token(32, clear=True, report=False)
        request = await _customer_information(server, octt, command)
        _asked_for_valid_token(request, clear=True, report=False)
        await octt.nothing_sent()


async def test_TC_N_62_CSMS_clear_customer_information_customer_identifier(
    server: RunningCsms,
) -> None:
    async with connected(server) as octt:
        await octt.booted()
        command = CustomerInformation(
            62, report=True, clear=True, customer_identifier="OpenChargeAlliance"
        )
        request = await _customer_information(server, octt, command)
        assert (request["report"], request["clear"]) == (True, True)
        assert request["customerIdentifier"] == "OpenChargeAlliance"
        assert "idToken" not in request
        await _notify(octt, 62, ["OpenChargeAlliance: ", "no data left"])
    assert (await _report(server, 62))["data"] == "OpenChargeAlliance: no data left"


async def test_customer_information_parts_out_of_order_and_repeated(server: RunningCsms) -> None:
    """Parts are joined by seqNo, not arrival; a repeated part counts once; a report is complete
    only when every part up to the one with tbc false is in."""
    async with connected(server) as octt:
        await octt.booted()
        await _customer_information(server, octt, _by_token(7, clear=False))

        async def part(seq_no: int, data: str, *, tbc: bool) -> None:
            payload = {
                "data": data,
                "seqNo": seq_no,
                "tbc": tbc,
                "generatedAt": timestamp(),
                "requestId": 7,
            }
            assert await octt.call("NotifyCustomerInformation", payload) == {}

        await part(2, "C", tbc=False)
        await part(0, "A", tbc=True)
        early = await _report(server, 7)
        assert (early["data"], early["complete"], early["missing_seq_nos"]) == ("AC", False, [1])
        await part(1, "B", tbc=True)
        await part(1, "X", tbc=True)  # the station's retry of part 1 with other data
    report = await _report(server, 7)
    assert (report["data"], report["parts"], report["complete"]) == ("ABC", 3, True)
    assert report["missing_seq_nos"] == []


async def test_monitoring_set_report_event_and_clear(server: RunningCsms) -> None:
    """N03/N05/N04/N02/N07/N06 end to end: the operator sets the monitoring base and level and a
    monitor; the monitor report is stored; the event the monitor triggers is stored with the
    monitor's severity; clearing the monitor forgets it."""
    assert server.csms.store is not None
    model = server.csms.store.device_model
    registry = server.csms.registry
    key = VariableKey("EVSE", "Power", evse_id=1)
    monitor = {"id": 11, "transaction": False, "value": 20000.0, "type": "UpperThreshold"}
    async with connected(server) as octt:
        await octt.booted()
        task = operator(server, SetMonitoringBase(MonitoringBase.HARD_WIRED_ONLY))
        assert await octt.answer("SetMonitoringBase", {"status": "Accepted"}) == {
            "monitoringBase": "HardWiredOnly"
        }
        assert (await task).status is DeviceModelStatus.ACCEPTED
        task = operator(server, SetMonitoringLevel(4))
        assert await octt.answer("SetMonitoringLevel", {"status": "Accepted"}) == {"severity": 4}
        assert (await task).status is AcceptStatus.ACCEPTED

        setting = MonitorSetting(key, "UpperThreshold", 20000.0, severity=2)
        clock = lambda: datetime.now(UTC)  # noqa: E731
        task = background(set_variable_monitoring(registry, model, STATION, [setting], clock=clock))
        request = await octt.answer(
            "SetVariableMonitoring",
            {
                "setMonitoringResult": [
                    {
                        "id": 11,
                        "status": "Accepted",
                        "type": "UpperThreshold",
                        "severity": 2,
                        "component": {"name": "EVSE", "evse": {"id": 1}},
                        "variable": {"name": "Power"},
                    }
                ]
            },
        )
        assert request["setMonitoringData"][0]["value"] == 20000.0
        [result] = await task
        assert (result.status, result.monitor_id) == (SetMonitoringStatus.ACCEPTED, 11)

        task = operator(server, GetMonitoringReport(31))
        assert (await octt.answer("GetMonitoringReport", {"status": "Accepted"}))["requestId"] == 31
        assert (await task).status is DeviceModelStatus.ACCEPTED
        report = {
            "requestId": 31,
            "seqNo": 0,
            "generatedAt": timestamp(),
            "monitor": [
                {
                    "component": {"name": "EVSE", "evse": {"id": 1}},
                    "variable": {"name": "Power"},
                    "variableMonitoring": [{**monitor, "severity": 2}],
                }
            ],
        }
        assert await octt.call("NotifyMonitoringReport", report) == {}

        event = octt.notify_event(
            {"name": "EVSE", "evse": {"id": 1}},
            "Power",
            "22000",
            notification="CustomMonitor",
        )
        event["eventData"][0]["variableMonitoringId"] = 11
        event["eventData"][0]["trigger"] = "Alerting"
        assert await octt.call("NotifyEvent", event) == {}

        [stored_monitor] = await api_get(server, "/monitors")
        assert (stored_monitor["monitor_id"], stored_monitor["severity"]) == (11, 2)
        [stored_report] = [r for r in await api_get(server, "/reports") if r["request_id"] == 31]
        assert (stored_report["kind"], stored_report["complete"]) == ("monitors", True)
        events = await api_get(server, "/events")
        [stored_event] = [e for e in events if e["notification_type"] == "CustomMonitor"]
        assert (stored_event["variable_monitoring_id"], stored_event["severity"]) == (11, 2)
        assert stored_event["notification_type"] == "CustomMonitor"

        task = background(clear_variable_monitoring(registry, model, STATION, [11]))
        request = await octt.answer(
            "ClearVariableMonitoring",
            {"clearMonitoringResult": [{"id": 11, "status": "Accepted"}]},
        )
        assert request == {"id": [11]}
        assert await task == ((11, ClearMonitoringStatus.ACCEPTED),)
    assert await api_get(server, "/monitors") == []
