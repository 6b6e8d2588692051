"""The station's side of OCPP over SOAP (csms.messages.soap.station, used by the simulator's
SoapLink and the load tester): the envelopes it writes and how it reads csms's. No sockets."""

from __future__ import annotations

import pytest
from lxml import etree

from csms.messages.soap.envelope import (
    SOAP12,
    WSA,
    fault_envelope,
    read_request,
    request_envelope,
    response_envelope,
)
from csms.messages.soap.errors import SoapFault
from csms.messages.soap.service import ServiceDescription
from csms.messages.soap.station import StationCodec
from csms.messages.soap.xml import parse_message
from csms.rpc.errors import CallErrorReply, ErrorCode

CS = {"1.6": "urn://Ocpp/Cs/2015/10/", "1.5": "urn://Ocpp/Cs/2012/06/"}
CP = {"1.6": "urn://Ocpp/Cp/2015/10/", "1.5": "urn://Ocpp/Cp/2012/06/"}
T = "2024-05-01T12:00:00Z"
METER_16 = {
    "connectorId": 1,
    "transactionId": 7,
    "meterValue": [
        {
            "timestamp": T,
            "sampledValue": [
                {"value": "1500", "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
                {"value": "16", "measurand": "Current.Import", "phase": "L1", "unit": "A"},
                {"value": "80", "measurand": "SoC", "unit": "Percent"},  # not in 1.5
            ],
        }
    ],
}


@pytest.fixture(scope="module", params=["1.6", "1.5"])
def codec(request: pytest.FixtureRequest) -> StationCodec:
    return StationCodec(request.param)


def test_a_request_carries_identity_addressing_and_the_versions_namespace(
    codec: StationCodec,
) -> None:
    data = codec.request(
        "Heartbeat",
        {},
        identity="CP-1",
        to="http://csms.example/ocpp",
        from_address="http://127.0.0.1:4711/",
        message_id="urn:uuid:1",
    )
    request = read_request(parse_message(data))
    assert request.body.tag == f"{{{CS[codec.version]}}}heartbeatRequest"
    assert (request.charge_box_identity, request.message_id, request.action, request.to) == (
        "CP-1",
        "urn:uuid:1",
        "/Heartbeat",
        "http://csms.example/ocpp",
    )
    assert request.from_address == "http://127.0.0.1:4711/"  # csms calls the station back here


def test_meter_values_are_spelled_for_the_version(codec: StationCodec) -> None:
    data = codec.request("MeterValues", METER_16, identity="CP-1", to="x", from_address=None)
    body = read_request(parse_message(data)).body
    decoded = ServiceDescription(codec.version).decode(body)  # valid by the official schema
    if codec.version == "1.6":
        assert decoded == METER_16
        return
    # 1.5: ``values`` of ``value`` elements with attributes; Amp for A; SoC (not 1.5) left out.
    ns = CS["1.5"]
    samples = body.findall(f"{{{ns}}}values/{{{ns}}}value")
    assert [(s.text, s.get("unit"), s.get("measurand")) for s in samples] == [
        ("1500", "Wh", "Energy.Active.Import.Register"),
        ("16", "Amp", "Current.Import"),
    ]


def test_a_15_status_is_the_15_enumeration() -> None:
    codec = StationCodec("1.5")
    status = {"connectorId": 1, "errorCode": "NoError", "status": "Charging", "timestamp": T}
    body = read_request(
        parse_message(
            codec.request("StatusNotification", status, identity="C", to="x", from_address=None)
        )
    ).body
    assert body.findtext(f"{{{CS['1.5']}}}status") == "Occupied"


def test_what_the_version_has_no_operation_for_is_refused_before_sending() -> None:
    with pytest.raises(CallErrorReply) as not_in_wsdl:
        StationCodec("1.6").request(
            "SignCertificate", {"csr": "x"}, identity="C", to="x", from_address=None
        )
    assert not_in_wsdl.value.code is ErrorCode.NOT_IMPLEMENTED
    downloading = {"status": "Downloading"}  # 1.5 has no such firmware status
    with pytest.raises(CallErrorReply) as not_in_15:
        StationCodec("1.5").request(
            "FirmwareStatusNotification", downloading, identity="C", to="x", from_address=None
        )
    assert not_in_15.value.code is ErrorCode.NOT_SUPPORTED


def _answer(version: str, element: str, fields: str) -> bytes:
    body = etree.fromstring(f'<{element} xmlns="{CS[version]}">{fields}</{element}>')
    return response_envelope(body, action="/x", relates_to="urn:uuid:1")


def test_an_answer_is_read_onto_the_16_model(codec: StationCodec) -> None:
    interval = "heartbeatInterval" if codec.version == "1.5" else "interval"
    fields = f"<status>Accepted</status><currentTime>{T}</currentTime><{interval}>30</{interval}>"
    answer = codec.read_answer(
        "BootNotification", _answer(codec.version, "bootNotificationResponse", fields)
    )
    assert answer.error is None
    assert answer.payload == {"status": "Accepted", "currentTime": T, "interval": 30}


def test_faults_and_wrong_answers_become_ocpp_errors(codec: StationCodec) -> None:
    handled = fault_envelope("Sender", "NotImplemented: no such thing", relates_to="urn:uuid:1")
    receiver = fault_envelope("Receiver", "storage unavailable; retry later")
    sender = fault_envelope("Sender", "schema violation: bad at /x")
    other = _answer(codec.version, "heartbeatResponse", f"<currentTime>{T}</currentTime>")
    answer = codec.read_answer("Heartbeat", handled)  # csms's gateway: "<OCPP code>: <why>"
    assert (answer.error, answer.description) == ("NotImplemented", "no such thing")
    assert codec.read_answer("Heartbeat", receiver).error == "InternalError"  # retried
    assert codec.read_answer("Heartbeat", sender).error == "FormationViolation"  # dropped
    assert codec.read_answer("Authorize", other).error == "FormationViolation"
    assert codec.read_answer("Heartbeat", b"not xml").error == "FormationViolation"
    assert codec.read_answer("Heartbeat", other).payload == {"currentTime": T}


def _csms_call(
    version: str, element: str, fields: str, *, identity: str = "CP-1", action: str | None = None
) -> bytes:
    body = etree.fromstring(f'<{element} xmlns="{CP[version]}">{fields}</{element}>')
    name = action or "/" + element[0].upper() + element[1:].removesuffix("Request")
    return request_envelope(
        body,
        identity=identity,
        namespace=CP[version],
        action=name,
        to="http://127.0.0.1:1/",
        message_id="urn:uuid:9",
    )


def test_a_csms_call_is_read_and_answered(codec: StationCodec) -> None:
    call = codec.read_call(
        _csms_call(codec.version, "unlockConnectorRequest", "<connectorId>2</connectorId>"),
        identity="CP-1",
    )
    assert (call.message_id, call.action, call.payload) == (
        "urn:uuid:9",
        "UnlockConnector",
        {"connectorId": 2},
    )
    answer = read_request(
        parse_message(
            codec.answer("UnlockConnector", {"status": "Unlocked"}, relates_to="urn:uuid:9")
        )
    )
    ns = CP[codec.version]
    assert answer.body.tag == f"{{{ns}}}unlockConnectorResponse"
    # 1.5 says Accepted where 1.6 says Unlocked (the mapping csms uses the other way round).
    assert answer.body.findtext(f"{{{ns}}}status") == (
        "Accepted" if codec.version == "1.5" else "Unlocked"
    )
    header = parse_message(
        codec.answer("UnlockConnector", {"status": "Unlocked"}, relates_to="urn:uuid:9")
    ).find(f"{{{SOAP12}}}Header")
    assert header is not None
    assert header.findtext(f"{{{WSA}}}RelatesTo") == "urn:uuid:9"
    assert header.findtext(f"{{{WSA}}}Action") == "/UnlockConnectorResponse"


def test_a_csms_call_that_is_not_for_this_station_is_a_sender_fault(codec: StationCodec) -> None:
    other = "1.5" if codec.version == "1.6" else "1.6"
    bad = {
        "another station's identity": _csms_call(
            codec.version, "resetRequest", "<type>Hard</type>", identity="CP-2"
        ),
        "the other version's namespace": _csms_call(other, "resetRequest", "<type>Hard</type>"),
        "an Action that is not the body's": _csms_call(
            codec.version, "resetRequest", "<type>Hard</type>", action="/Heartbeat"
        ),
        "a schema violation": _csms_call(codec.version, "resetRequest", "<type>Sideways</type>"),
        "a CentralSystemService request": request_envelope(
            etree.fromstring(f'<heartbeatRequest xmlns="{CP[codec.version]}"/>'),
            identity="CP-1",
            namespace=CP[codec.version],
            action="/Heartbeat",
            to="x",
            message_id="m",
        ),
    }
    for what, data in bad.items():
        with pytest.raises(SoapFault) as refused:
            codec.read_call(data, identity="CP-1")
        assert refused.value.code == "Sender", what


def test_a_callerror_is_a_fault_the_gateway_would_send() -> None:
    status, data = StationCodec.error(ErrorCode.NOT_SUPPORTED, "no", relates_to="urn:uuid:9")
    internal, _ = StationCodec.error(ErrorCode.INTERNAL_ERROR, "bug", relates_to=None)
    fault = read_request(parse_message(data)).body
    assert (status, internal) == (400, 500)
    assert fault.findtext(f"{{{SOAP12}}}Reason/{{{SOAP12}}}Text") == "NotSupported: no"
