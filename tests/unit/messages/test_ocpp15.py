"""OCPP 1.5 over JSON: schemas derived from the 1.5 WSDLs' XML Schema, and the 1.5 ↔ 1.6 mapping."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from csms.messages import MessageValidator
from csms.messages.ocpp15 import Ocpp15Json, Ocpp15Schemas
from csms.messages.ocpp15.mapping import to_15, to_16
from csms.messages.ocpp15.schemas import CENTRAL_SYSTEM_WSDL, CHARGE_POINT_WSDL, wsdl_text
from csms.messages.schemas import SchemaKind
from csms.rpc import CallErrorReply, ErrorCode, OcppVersion

REQUEST, RESPONSE = SchemaKind.REQUEST, SchemaKind.RESPONSE
T = "2024-05-01T12:00:00Z"
SPEC = Path(__file__).resolve().parents[4] / "shared" / "spec" / "soap"


@pytest.fixture(scope="module")
def schemas() -> Ocpp15Schemas:
    return Ocpp15Schemas()


@pytest.fixture(scope="module")
def dialect(schemas: Ocpp15Schemas) -> Ocpp15Json:
    return Ocpp15Json(schemas)


def test_every_operation_of_both_wsdls_with_its_direction(schemas: Ocpp15Schemas) -> None:
    from_station = {a for a, m in schemas.messages.items() if m.direction.value == "CS→CSMS"}
    to_station = {a for a, m in schemas.messages.items() if m.direction.value == "CSMS→CS"}
    assert from_station == {
        "Authorize",
        "BootNotification",
        "DiagnosticsStatusNotification",
        "FirmwareStatusNotification",
        "Heartbeat",
        "MeterValues",
        "StartTransaction",
        "StatusNotification",
        "StopTransaction",
    }
    assert len(to_station) == 14 and {"GetConfiguration", "UnlockConnector"} <= to_station
    assert schemas.direction("DataTransfer") is not None
    assert schemas.direction("DataTransfer").value == "both"  # type: ignore[union-attr]
    assert not schemas.knows("TriggerMessage")  # 1.6 only
    assert "Amp" in schemas.enumerations["UnitOfMeasure"]


@pytest.mark.skipif(not SPEC.is_dir(), reason="the spec checkout is not next to the repository")
def test_the_wsdls_read_are_the_official_files_unmodified() -> None:
    for name in (CENTRAL_SYSTEM_WSDL, CHARGE_POINT_WSDL):
        shipped = hashlib.sha256(wsdl_text(name)).hexdigest()
        assert shipped == hashlib.sha256((SPEC / name).read_bytes()).hexdigest()


def test_schemas_follow_the_xsd_types(schemas: Ocpp15Schemas) -> None:
    boot = schemas.schema("BootNotification", REQUEST)
    assert boot["required"] == ["chargePointVendor", "chargePointModel"]
    assert boot["properties"]["chargePointVendor"] == {"type": "string", "maxLength": 20}
    assert boot["additionalProperties"] is False
    stop = schemas.schema("StopTransaction", REQUEST)["properties"]
    assert stop["transactionData"]["type"] == "array"  # maxOccurs="unbounded"
    assert stop["transactionId"] == {"type": "integer", "minimum": -(2**31), "maximum": 2**31 - 1}
    sample = schemas.schema("MeterValues", REQUEST)["properties"]["values"]["items"]
    value = sample["properties"]["value"]
    assert value["minItems"] == 1  # minOccurs="1" maxOccurs="unbounded"
    assert set(value["items"]["properties"]) == {
        "value",
        "context",
        "format",
        "measurand",
        "location",
        "unit",
    }
    assert value["items"]["required"] == ["value"]  # the simple content; attributes optional
    assert schemas.schema("GetConfiguration", RESPONSE)["properties"]["configurationKey"]["items"][
        "properties"
    ]["readonly"] == {"type": "boolean"}


GOOD_REQUESTS: list[tuple[str, dict[str, Any]]] = [
    ("BootNotification", {"chargePointVendor": "V", "chargePointModel": "M", "iccid": "1"}),
    ("Authorize", {"idTag": "TAG"}),
    ("Heartbeat", {}),
    ("StartTransaction", {"connectorId": 1, "idTag": "T", "timestamp": T, "meterStart": 0}),
    (
        "StopTransaction",
        {
            "transactionId": 5,
            "timestamp": T,
            "meterStop": 10,
            "transactionData": [{"values": [{"timestamp": T, "value": [{"value": "10"}]}]}],
        },
    ),
    (
        "MeterValues",
        {
            "connectorId": 1,
            "transactionId": 5,
            "values": [
                {
                    "timestamp": T,
                    "value": [
                        {"value": "1234", "unit": "Wh", "context": "Sample.Periodic"},
                        {"value": "16", "unit": "Amp", "measurand": "Current.Import"},
                    ],
                }
            ],
        },
    ),
    ("StatusNotification", {"connectorId": 1, "status": "Occupied", "errorCode": "Mode3Error"}),
    ("DataTransfer", {"vendorId": "acme", "messageId": "x", "data": "y"}),
    ("DiagnosticsStatusNotification", {"status": "Uploaded"}),
    ("FirmwareStatusNotification", {"status": "Installed"}),
]


@pytest.mark.parametrize(("action", "payload"), GOOD_REQUESTS, ids=[a for a, _ in GOOD_REQUESTS])
def test_good_15_requests_pass_and_map_to_valid_16(
    dialect: Ocpp15Json, action: str, payload: dict[str, Any]
) -> None:
    dialect.check_call(action, from_station=True)
    mapped = dialect.inbound(action, REQUEST, payload)
    MessageValidator(OcppVersion.V16).validate_request(action, mapped)


BAD_REQUESTS: list[tuple[str, dict[str, Any], ErrorCode, str]] = [
    ("Authorize", {"idTag": 5}, ErrorCode.TYPE_CONSTRAINT_VIOLATION, "$.idTag"),
    ("Authorize", {"idTag": "X" * 21}, ErrorCode.PROPERTY_CONSTRAINT_VIOLATION, "$.idTag"),
    ("Authorize", {}, ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION, "$.idTag"),
    ("Authorize", {"idTag": "T", "extra": 1}, ErrorCode.FORMAT_VIOLATION, "$.extra"),
    (
        "StartTransaction",
        {"connectorId": 2**31, "idTag": "T", "timestamp": T, "meterStart": 0},
        ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,  # xs:int is 32-bit
        "$.connectorId",
    ),
    (
        "StartTransaction",
        {"connectorId": 1, "idTag": "T", "timestamp": "yesterday", "meterStart": 0},
        ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
        "$.timestamp",
    ),
    (
        "StatusNotification",
        {"connectorId": 1, "status": "Charging", "errorCode": "NoError"},  # 1.6 status
        ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
        "$.status",
    ),
    (
        "MeterValues",  # the 1.6 shape is not 1.5
        {"connectorId": 1, "meterValue": [{"timestamp": T, "sampledValue": [{"value": "1"}]}]},
        ErrorCode.FORMAT_VIOLATION,
        "$.meterValue",
    ),
    (
        "MeterValues",
        {"connectorId": 1, "values": [{"timestamp": T, "value": []}]},
        ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION,
        "$.values[0].value",
    ),
    (
        "MeterValues",
        {"connectorId": 1, "values": [{"timestamp": T, "value": [{"value": "1", "unit": "A"}]}]},
        ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,  # 1.5 says Amp
        "$.values[0].value[0].unit",
    ),
]


@pytest.mark.parametrize(
    ("action", "payload", "code", "path"), BAD_REQUESTS, ids=[b[3] for b in BAD_REQUESTS]
)
def test_bad_15_requests_get_the_ocpp_j_error_code(
    dialect: Ocpp15Json, action: str, payload: dict[str, Any], code: ErrorCode, path: str
) -> None:
    with pytest.raises(CallErrorReply) as caught:
        dialect.inbound(action, REQUEST, payload)
    assert caught.value.code is code
    assert path in caught.value.description
    assert code.wire(OcppVersion.V16) in {
        "TypeConstraintViolation",
        "PropertyConstraintViolation",
        "OccurenceConstraintViolation",  # 1.6 spelling
        "FormationViolation",
    }


def test_unknown_and_wrong_direction_actions(dialect: Ocpp15Json) -> None:
    with pytest.raises(CallErrorReply) as unknown:
        dialect.check_call("SecurityEventNotification", from_station=True)
    assert unknown.value.code is ErrorCode.NOT_IMPLEMENTED
    with pytest.raises(CallErrorReply) as backwards:
        dialect.check_call("Reset", from_station=True)
    assert backwards.value.code is ErrorCode.NOT_SUPPORTED
    with pytest.raises(CallErrorReply) as trigger:
        dialect.check_call("TriggerMessage", from_station=False)
    assert "not supported by OCPP 1.5" in trigger.value.description
    dialect.check_call("DataTransfer", from_station=True)
    dialect.check_call("DataTransfer", from_station=False)


def test_inbound_mapping_onto_16(dialect: Ocpp15Json) -> None:
    meter = dialect.inbound("MeterValues", REQUEST, dict(GOOD_REQUESTS[5][1]))
    assert meter["meterValue"][0]["sampledValue"] == [
        {"value": "1234", "unit": "Wh", "context": "Sample.Periodic"},
        {"value": "16", "unit": "A", "measurand": "Current.Import"},
    ]
    stop = dialect.inbound("StopTransaction", REQUEST, dict(GOOD_REQUESTS[4][1]))
    assert stop["transactionData"] == [{"timestamp": T, "sampledValue": [{"value": "10"}]}]
    status = dialect.inbound("StatusNotification", REQUEST, dict(GOOD_REQUESTS[6][1]))
    assert (status["status"], status["errorCode"]) == ("Charging", "EVCommunicationError")
    unlock = dialect.inbound("UnlockConnector", RESPONSE, {"status": "Rejected"})
    assert unlock == {"status": "UnlockFailed"}
    hashed = dialect.inbound("SendLocalList", RESPONSE, {"status": "HashError"})
    assert hashed == {"status": "Failed"}


def test_outbound_mapping_to_15(dialect: Ocpp15Json) -> None:
    boot = {"status": "Pending", "currentTime": T, "interval": 30}
    assert dialect.outbound("BootNotification", RESPONSE, boot) == {
        "status": "Rejected",  # 1.5 has no Pending
        "currentTime": T,
        "heartbeatInterval": 30,
    }
    local = {"listVersion": 2, "updateType": "Full", "localAuthorizationList": [{"idTag": "A"}]}
    assert dialect.outbound("SendLocalList", REQUEST, local)["localAuthorisationList"] == [
        {"idTag": "A"}
    ]
    with pytest.raises(CallErrorReply) as profile:
        dialect.outbound(
            "RemoteStartTransaction", REQUEST, {"idTag": "A", "chargingProfile": {"x": 1}}
        )
    assert profile.value.code is ErrorCode.NOT_SUPPORTED
    assert "not supported by OCPP 1.5" in profile.value.description
    with pytest.raises(CallErrorReply) as too_big:  # valid 1.6 (no bound), not xs:int
        dialect.outbound("UnlockConnector", REQUEST, {"connectorId": 2**31})
    assert too_big.value.code is ErrorCode.PROPERTY_CONSTRAINT_VIOLATION


def test_station_side_mapping_round_trips(schemas: Ocpp15Schemas) -> None:
    """What the simulator sends as a 1.5J station comes back to the same 1.6 facts."""
    meter16 = {
        "connectorId": 1,
        "transactionId": 3,
        "meterValue": [
            {
                "timestamp": T,
                "sampledValue": [
                    {"value": "5", "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
                    {"value": "6", "measurand": "Current.Import", "unit": "A", "phase": "L1"},
                    {"value": "80", "measurand": "SoC", "unit": "Percent"},  # not in 1.5
                ],
            }
        ],
    }
    sent = to_15("MeterValues", REQUEST, meter16, schemas.enumerations)
    schemas.validate("MeterValues", REQUEST, sent)
    assert to_16("MeterValues", REQUEST, sent)["meterValue"][0]["sampledValue"] == [
        {"value": "5", "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
        {"value": "6", "measurand": "Current.Import", "unit": "A"},
    ]
    status = to_15(
        "StatusNotification",
        REQUEST,
        {"connectorId": 1, "status": "SuspendedEV", "errorCode": "InternalError"},
        schemas.enumerations,
    )
    assert (status["status"], status["errorCode"]) == ("Occupied", "OtherError")
    stop = to_15(
        "StopTransaction",
        REQUEST,
        {"transactionId": 1, "meterStop": 2, "timestamp": T, "reason": "Remote"},
        schemas.enumerations,
    )
    assert "reason" not in stop
    schemas.validate("StopTransaction", REQUEST, stop)
    with pytest.raises(CallErrorReply):
        to_15(
            "FirmwareStatusNotification", REQUEST, {"status": "Downloading"}, schemas.enumerations
        )
    assert to_15("UnlockConnector", RESPONSE, {"status": "NotSupported"}) == {"status": "Rejected"}
    assert to_15("ChangeConfiguration", RESPONSE, {"status": "RebootRequired"}) == {
        "status": "Accepted"
    }
    assert to_16("BootNotification", RESPONSE, {"heartbeatInterval": 9})["interval"] == 9


def test_soap_decoded_samples_map_the_same(schemas: Ocpp15Schemas) -> None:
    """The SOAP gateway's decoder spells text "$" and attributes "@name": one mapping for both."""
    soap = {"connectorId": 1, "values": [{"timestamp": T, "value": [{"$": "7", "@unit": "Volt"}]}]}
    json = {
        "connectorId": 1,
        "values": [{"timestamp": T, "value": [{"value": "7", "unit": "Volt"}]}],
    }
    assert to_16("MeterValues", REQUEST, soap) == to_16("MeterValues", REQUEST, json)
