"""The simulated station's NotifyEvent (G05 AvailabilityState, N07 monitors), without sockets;
every request is checked against the version's official schema."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from csms.rpc.versions import OcppVersion
from csms.simulator.dialect import Send
from csms.simulator.events import availability_event
from csms.simulator.state import Status
from csms.simulator.station import SimStation, StationSpec

V2 = [OcppVersion.V201, OcppVersion.V21]
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def station(version: OcppVersion) -> SimStation:
    return SimStation(StationSpec("CP-1", version, evses=2), clock=lambda: NOW)


def events_of(sim: SimStation, sent: tuple[str, dict[str, Any]] | None) -> list[dict[str, Any]]:
    assert sent is not None
    action, payload = sent
    assert action == "NotifyEvent"
    sim.validator.validate_request(action, payload)
    assert (payload["seqNo"], payload["generatedAt"]) == (0, "2026-12-06T12:00:00.000Z")
    return list(payload["eventData"])


@pytest.mark.parametrize("version", V2)
def test_availability_state_is_notified_when_it_changes(version: OcppVersion) -> None:
    sim = station(version)
    evse = sim.state.evses[2]
    [first] = events_of(sim, availability_event(sim, evse, NOW))
    assert first == {
        "eventId": 1,
        "timestamp": "2026-12-06T12:00:00.000Z",
        "trigger": "Delta",
        "actualValue": "Available",
        "eventNotificationType": "HardWiredNotification",
        "component": {"name": "Connector", "evse": {"id": 2, "connectorId": 1}},
        "variable": {"name": "AvailabilityState"},
    }
    assert availability_event(sim, evse, NOW) is None  # unchanged: StatusNotification only
    tx = sim.begin_transaction(evse, "TAG", 0.0)
    [occupied] = events_of(sim, availability_event(sim, evse, NOW))
    assert (occupied["eventId"], occupied["actualValue"]) == (2, "Occupied")
    assert occupied["transactionId"] == tx.transaction_id
    evse.status = Status.FINISHING  # still Occupied on the 2.x wire
    assert availability_event(sim, evse, NOW) is None
    sim.fault(evse, "GroundFailure")
    [faulted] = events_of(sim, availability_event(sim, evse, NOW))
    assert faulted["actualValue"] == "Faulted"


def test_16_station_sends_no_notify_event() -> None:
    sim = station(OcppVersion.V16)
    assert availability_event(sim, sim.state.evses[1], NOW) is None


def _set(sim: SimStation, name: str, value: str) -> list[dict[str, Any]]:
    data = {
        "setVariableData": [
            {
                "component": {"name": "OCPPCommCtrlr"},
                "variable": {"name": name},
                "attributeValue": value,
            }
        ]
    }
    answer = sim.answer("SetVariables", data)
    sim.validator.validate_response("SetVariables", answer.payload)
    assert answer.payload["setVariableResult"][0]["attributeStatus"] == "Accepted"
    if not answer.then:
        return []
    [send] = answer.then
    assert isinstance(send, Send)
    return events_of(sim, (send.action, send.payload))


def _monitor(sim: SimStation, name: str, kind: str, value: float, **extra: Any) -> int:
    item = {
        "value": value,
        "type": kind,
        "severity": 4,
        "component": {"name": "OCPPCommCtrlr"},
        "variable": {"name": name},
        **extra,
    }
    answer = sim.answer("SetVariableMonitoring", {"setMonitoringData": [item]})
    [result] = answer.payload["setMonitoringResult"]
    assert result["status"] == "Accepted"
    return int(result["id"])


@pytest.mark.parametrize("version", V2)
def test_monitors_trip_when_set_variables_changes_their_variable(version: OcppVersion) -> None:
    sim = station(version)  # HeartbeatInterval "60.0", OfflineThreshold "60"
    delta = _monitor(sim, "HeartbeatInterval", "Delta", 10)
    upper = _monitor(sim, "OfflineThreshold", "UpperThreshold", 100)
    _monitor(sim, "ResetRetries", "Delta", 1, transaction=True)

    assert _set(sim, "HeartbeatInterval", "65") == []  # 5 from the value it was set at
    [tripped] = _set(sim, "HeartbeatInterval", "71")  # 11 from 60
    assert {k: v for k, v in tripped.items() if k not in ("eventId", "timestamp")} == {
        "trigger": "Delta",
        "actualValue": "71",
        "cleared": False,
        "variableMonitoringId": delta,
        "eventNotificationType": "CustomMonitor",
        "component": {"name": "OCPPCommCtrlr"},
        "variable": {"name": "HeartbeatInterval"},
        **({"severity": 4} if version is OcppVersion.V21 else {}),
    }
    assert _set(sim, "HeartbeatInterval", "75") == []  # 4 from 71, where it last tripped

    [alert] = _set(sim, "OfflineThreshold", "200")
    assert (alert["trigger"], alert["cleared"], alert["variableMonitoringId"]) == (
        "Alerting",
        False,
        upper,
    )
    assert _set(sim, "OfflineThreshold", "300") == []  # still above: no new alert
    [back] = _set(sim, "OfflineThreshold", "50")
    assert (back["trigger"], back["cleared"], back["actualValue"]) == ("Alerting", True, "50")

    assert _set(sim, "ResetRetries", "5") == []  # transaction monitor, no transaction running
    sim.begin_transaction(sim.state.evses[1], "TAG", 0.0)
    [during] = _set(sim, "ResetRetries", "9")
    assert during["actualValue"] == "9"
