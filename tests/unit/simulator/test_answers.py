"""Every CSMS-initiated action of every version gets a schema-valid answer from the station."""

from __future__ import annotations

import pytest

from csms.messages import MessageValidator, actions
from csms.rpc.errors import CallErrorReply
from csms.rpc.versions import OcppVersion
from csms.simulator.station import SimStation, StationSpec
from tests.unit.simulator.samples import minimal_request

CASES = [
    (version, name)
    for version in OcppVersion
    for name, info in actions(version).items()
    if info.direction.to_station
]


@pytest.mark.parametrize(("version", "action"), CASES, ids=[f"{v}-{a}" for v, a in CASES])
def test_every_csms_command_gets_a_schema_valid_answer(version: OcppVersion, action: str) -> None:
    validator = MessageValidator(version)
    station = SimStation(StationSpec("CP-1", version), validator=validator)
    request = minimal_request(version, action)
    validator.validate_request(action, request)  # the generated request itself is valid
    answer = station.answer(action, request)
    validator.validate_response(action, answer.payload)
    for followup in answer.then:
        payload = getattr(followup, "payload", None)
        if payload is not None:
            validator.validate_request(followup.action, payload)  # type: ignore[union-attr]
        for step in getattr(followup, "payloads", ()):
            validator.validate_request(followup.action, step)  # type: ignore[union-attr]


def test_station_initiated_actions_are_refused_with_not_supported() -> None:
    station = SimStation(StationSpec("CP-1", OcppVersion.V201))
    with pytest.raises(CallErrorReply) as raised:
        station.answer("BootNotification", {})
    assert raised.value.code.name == "NOT_SUPPORTED"


def test_unknown_action_is_not_implemented_and_bad_payload_a_violation() -> None:
    station = SimStation(StationSpec("CP-1", OcppVersion.V16))
    with pytest.raises(CallErrorReply) as unknown:
        station.answer("Teleport", {})
    assert unknown.value.code.name == "NOT_IMPLEMENTED"
    with pytest.raises(CallErrorReply) as bad:
        station.answer("Reset", {"type": "Sideways"})
    assert bad.value.code.name in ("PROPERTY_CONSTRAINT_VIOLATION", "FORMATION_VIOLATION")


@pytest.mark.parametrize("version", [OcppVersion.V201, OcppVersion.V21])
def test_customer_information_reports_only_when_asked(version: OcppVersion) -> None:
    """N09/N10 (Part 6 TC_N_32): a clear without report is answered, and nothing follows it."""
    station = SimStation(StationSpec("CP-1", version))
    base = {"requestId": 1, "customerIdentifier": "c-1"}
    clear_only = station.answer("CustomerInformation", {**base, "report": False, "clear": True})
    assert (clear_only.payload["status"], clear_only.then) == ("Accepted", ())
    reported = station.answer("CustomerInformation", {**base, "report": True, "clear": True})
    assert [f.action for f in reported.then] == ["NotifyCustomerInformation"]  # type: ignore[union-attr]
