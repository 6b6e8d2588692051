"""The station side of the 2.x blocks through :meth:`SimStation.answer`, without sockets: device
model reports (B07/B08), monitoring (N02-N06), display messages (O01-O05), certificates (A02,
M03-M05), ISO 15118 smart charging (K15) and the requests the station makes for an ISO 15118 EV
(M02, M06). Every request and follow-up is checked against the version's official schema."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from csms.rpc.versions import OcppVersion
from csms.simulator import certificates, iso15118
from csms.simulator.dialect import Answer, Send, Trigger
from csms.simulator.events import monitor_events
from csms.simulator.station import SimStation, StationSpec

V2 = [OcppVersion.V201, OcppVersion.V21]
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def station(version: OcppVersion) -> SimStation:
    return SimStation(StationSpec("CP-1", version, evses=2), clock=lambda: NOW)


def sent(sim: SimStation, answer: Answer) -> list[tuple[str, dict[str, Any]]]:
    """The Send follow-ups of an answer, each validated against the schema."""
    out = []
    for followup in answer.then:
        if isinstance(followup, Send):
            sim.validator.validate_request(followup.action, followup.payload)
            out.append((followup.action, followup.payload))
    return out


@pytest.mark.parametrize("version", V2)
def test_base_report_and_filtered_report_send_notify_report(version: OcppVersion) -> None:
    sim = station(version)
    [(action, report)] = sent(
        sim, sim.answer("GetBaseReport", {"requestId": 7, "reportBase": "FullInventory"})
    )
    assert action == "NotifyReport" and report["requestId"] == 7 and report["tbc"] is False
    names = {d["component"]["name"] for d in report["reportData"]}
    assert "OCPPCommCtrlr" in names
    asked = {"requestId": 8, "componentVariable": [{"component": {"name": "OCPPCommCtrlr"}}]}
    [(_, filtered)] = sent(sim, sim.answer("GetReport", asked))
    assert {d["component"]["name"] for d in filtered["reportData"]} == {"OCPPCommCtrlr"}


def monitor(severity: int) -> dict[str, Any]:
    return {
        "value": 10,
        "type": "Delta",
        "severity": severity,
        "component": {"name": "OCPPCommCtrlr"},
        "variable": {"name": "HeartbeatInterval"},
    }


@pytest.mark.parametrize("version", V2)
def test_monitoring_level_filters_events_and_base_clears_custom_monitors(
    version: OcppVersion,
) -> None:
    sim = station(version)
    result = sim.answer("SetVariableMonitoring", {"setMonitoringData": [monitor(8)]})
    assert result.payload["setMonitoringResult"][0]["status"] == "Accepted"
    key = ("OCPPCommCtrlr", "HeartbeatInterval", None)
    assert sim.answer("SetMonitoringLevel", {"severity": 5}).payload == {"status": "Accepted"}
    assert monitor_events(sim, key, "60", "300", NOW) == []  # severity 8 > level 5 (N05)
    sim.answer("SetMonitoringLevel", {"severity": 9})
    assert len(monitor_events(sim, key, "300", "600", NOW)) == 1
    [(action, report)] = sent(sim, sim.answer("GetMonitoringReport", {"requestId": 3}))
    assert action == "NotifyMonitoringReport" and len(report["monitor"]) == 1
    assert sim.answer("SetMonitoringBase", {"monitoringBase": "All"}).payload["status"] == (
        "Accepted"
    )
    assert sim.state.monitors
    sim.answer("SetMonitoringBase", {"monitoringBase": "HardWiredOnly"})  # N03
    assert sim.answer("GetMonitoringReport", {"requestId": 4}).payload == {
        "status": "EmptyResultSet"
    }


@pytest.mark.parametrize("version", V2)
def test_display_messages_kept_reported_and_cleared(version: OcppVersion) -> None:
    sim = station(version)
    message = {"id": 5, "priority": "NormalCycle", "message": {"format": "UTF8", "content": "Hi"}}
    assert sim.answer("SetDisplayMessage", {"message": message}).payload == {"status": "Accepted"}
    [(action, note)] = sent(sim, sim.answer("GetDisplayMessages", {"requestId": 2}))
    assert action == "NotifyDisplayMessages" and note["messageInfo"][0]["id"] == 5
    assert sim.answer("ClearDisplayMessage", {"id": 5}).payload == {"status": "Accepted"}
    assert sim.answer("GetDisplayMessages", {"requestId": 3}).payload == {"status": "Unknown"}


@pytest.mark.parametrize("version", V2)
def test_certificates_installed_listed_deleted_and_signing_triggered(
    version: OcppVersion,
) -> None:
    sim = station(version)
    install = {"certificateType": "V2GRootCertificate", "certificate": PEM}
    assert sim.answer("InstallCertificate", install).payload == {"status": "Accepted"}
    listed = sim.answer("GetInstalledCertificateIds", {"certificateType": ["V2GRootCertificate"]})
    [entry] = listed.payload["certificateHashDataChain"]
    hashes = entry["certificateHashData"]
    assert sim.answer("DeleteCertificate", {"certificateHashData": hashes}).payload == {
        "status": "Accepted"
    }
    assert sim.answer("GetInstalledCertificateIds", {}).payload == {"status": "NotFound"}
    trigger = sim.answer("TriggerMessage", {"requestedMessage": "SignV2GCertificate"})
    assert trigger.payload == {"status": "Accepted"}
    assert trigger.then == (Trigger("SignV2GCertificate", None),)
    signed = {"certificateChain": PEM, "certificateType": "V2GCertificate"}
    assert sim.answer("CertificateSigned", signed).payload == {"status": "Accepted"}
    assert [c.certificate_type for c in sim.state.certificates] == ["V2GCertificate"]
    csr = certificates.make_csr("CP-1", "csms-sim")
    sim.validator.validate_request(
        "SignCertificate", {"csr": csr, "certificateType": "V2GCertificate"}
    )


@pytest.mark.parametrize("version", V2)
def test_iso15118_ev_needs_then_adopts_the_tx_profile(version: OcppVersion) -> None:
    sim = station(version)
    evse = sim.state.evses[1]
    tx = sim.begin_transaction(evse, "TAG", 0.0)
    evse.iso15118 = True
    needs = iso15118.charging_needs(sim, evse, NOW)
    sim.validator.validate_request("NotifyEVChargingNeeds", needs)
    assert needs["chargingNeeds"]["departureTime"] == "2026-12-06T16:00:00.000Z"
    profile = {
        "id": 15_118_001,
        "stackLevel": 0,
        "chargingProfilePurpose": "TxProfile",
        "chargingProfileKind": "Absolute",
        "transactionId": tx.transaction_id,
        "chargingSchedule": [
            {
                "id": 1,
                "startSchedule": "2026-12-06T12:00:00Z",
                "duration": 14_400,
                "chargingRateUnit": "A",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 9.7}],
            }
        ],
    }
    answer = sim.answer("SetChargingProfile", {"evseId": 1, "chargingProfile": profile})
    assert answer.payload == {"status": "Accepted"}
    [(action, schedule)] = sent(sim, answer)
    assert action == "NotifyEVChargingSchedule"
    assert schedule["timeBase"] == "2026-12-06T12:00:00Z"
    assert schedule["chargingSchedule"]["chargingSchedulePeriod"] == [
        {"startPeriod": 0, "limit": 9.7}
    ]
    evse.iso15118 = False  # an EV without ISO 15118 reports nothing
    assert (
        sent(sim, sim.answer("SetChargingProfile", {"evseId": 1, "chargingProfile": profile})) == []
    )


@pytest.mark.parametrize("version", V2)
def test_plug_and_charge_requests_are_schema_valid(version: OcppVersion) -> None:
    sim = station(version)
    sim.validator.validate_request("GetCertificateStatus", iso15118.certificate_status_request(sim))
    sim.validator.validate_request("Get15118EVCertificate", iso15118.ev_certificate_request(sim))
