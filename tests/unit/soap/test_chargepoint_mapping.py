"""The 1.5 spelling of csms's calls to a SOAP station, and its answers read onto the 1.6 model."""

from __future__ import annotations

from csms.messages.soap.service import ServiceDescription
from csms.soap.chargepoint_mapping import request_to_soap, response_to_json

ENTRY = {"idTag": "T1", "idTagInfo": {"status": "Accepted"}}


def test_send_local_list_is_spelled_for_15_and_valid_for_its_schema() -> None:
    payload = {"listVersion": 3, "updateType": "Full", "localAuthorizationList": [ENTRY]}
    body = request_to_soap("1.5", "SendLocalList", payload)
    assert body == {"listVersion": 3, "updateType": "Full", "localAuthorisationList": [ENTRY]}
    ServiceDescription("1.5", charge_point=True).encode("sendLocalListRequest", body)  # valid
    assert request_to_soap("1.6", "SendLocalList", payload) is payload


def test_15_answers_are_read_as_16() -> None:
    unlock = response_to_json("1.5", "UnlockConnector", {"status": "Accepted"})
    assert unlock == {"status": "Unlocked"}
    assert response_to_json("1.5", "UnlockConnector", {"status": "Rejected"}) == {
        "status": "UnlockFailed"
    }
    answer = response_to_json("1.5", "SendLocalList", {"status": "HashError", "hash": "x"})
    assert answer == {"status": "Failed"}
    assert response_to_json("1.5", "Reset", {"status": "Accepted"}) == {"status": "Accepted"}
    assert response_to_json("1.6", "UnlockConnector", {"status": "Unlocked"}) == {
        "status": "Unlocked"
    }
