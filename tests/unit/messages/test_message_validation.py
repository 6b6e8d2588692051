"""MessageValidator: real payloads pass, each violation maps to its CALLERROR code.

ocpp-rules.md §1.6 and §6 tests 25-29.
"""

from __future__ import annotations

import copy
from typing import Any, NamedTuple

import pytest

from csms.messages import Direction, MessageValidator
from csms.messages.violations import MAX_DESCRIPTION, json_path
from csms.rpc import CallErrorReply, ErrorCode, OcppVersion

V16, V201, V21 = OcppVersion.V16, OcppVersion.V201, OcppVersion.V21
V2X = (V201, V21)
NOW = "2024-05-01T12:00:00Z"

# -- real-world payloads -------------------------------------------------------------------------

V16_REQUESTS: dict[str, dict[str, Any]] = {
    "BootNotification": {
        "chargePointVendor": "Alfen BV",
        "chargePointModel": "NG920-61001",
        "chargePointSerialNumber": "ACE0123456",
        "firmwareVersion": "6.1.1-4169",
        "iccid": "",
        "imsi": "",
        "meterType": "Inepro PRO380",
    },
    "Heartbeat": {},
    "StatusNotification": {
        "connectorId": 1,
        "errorCode": "NoError",
        "status": "Charging",
        "timestamp": NOW,
        "info": "",
        "vendorErrorCode": "",
    },
    "MeterValues": {
        "connectorId": 1,
        "transactionId": 42,
        "meterValue": [
            {
                "timestamp": NOW,
                "sampledValue": [
                    {
                        "value": "12345.6",
                        "context": "Sample.Periodic",
                        "format": "Raw",
                        "measurand": "Energy.Active.Import.Register",
                        "location": "Outlet",
                        "unit": "Wh",
                    },
                    {"value": "7200", "measurand": "Power.Active.Import", "unit": "W"},
                    {"value": "16.1", "measurand": "Current.Import", "phase": "L1", "unit": "A"},
                    {"value": "230.2", "measurand": "Voltage", "phase": "L1-N", "unit": "V"},
                    {"value": "55", "measurand": "SoC", "location": "EV", "unit": "Percent"},
                    {"value": "31", "measurand": "Temperature", "unit": "Celsius"},
                ],
            }
        ],
    },
    "StartTransaction": {
        "connectorId": 1,
        "idTag": "04A2B3C4D5E6F7",
        "meterStart": 12345,
        "timestamp": "2024-05-01T11:58:02.512+02:00",
    },
    "StopTransaction": {
        "transactionId": 42,
        "idTag": "04A2B3C4D5E6F7",
        "meterStop": 23456,
        "timestamp": NOW,
        "reason": "EVDisconnected",
        "transactionData": [
            {"timestamp": NOW, "sampledValue": [{"value": "23456", "unit": "Wh"}]},
        ],
    },
    "Authorize": {"idTag": "04A2B3C4D5E6F7"},
    "DataTransfer": {"vendorId": "com.example", "messageId": "Ping", "data": '{"a": 1}'},
    "SecurityEventNotification": {"type": "StartupOfTheDevice", "timestamp": NOW},
}

V16_RESPONSES: dict[str, dict[str, Any]] = {
    "BootNotification": {"status": "Accepted", "currentTime": NOW, "interval": 300},
    "Heartbeat": {"currentTime": NOW},
    "StatusNotification": {},
    "StartTransaction": {"idTagInfo": {"status": "Accepted"}, "transactionId": 42},
    "RemoteStartTransaction": {"status": "Accepted"},
    "GetConfiguration": {
        "configurationKey": [{"key": "HeartbeatInterval", "readonly": False, "value": "300"}],
        "unknownKey": ["Foo"],
    },
}

TX_STARTED: dict[str, Any] = {
    "eventType": "Started",
    "timestamp": NOW,
    "triggerReason": "Authorized",
    "seqNo": 0,
    "transactionInfo": {"transactionId": "b3f1c0de-0001", "chargingState": "EVConnected"},
    "idToken": {"idToken": "04A2B3C4D5E6F7", "type": "ISO14443"},
    "evse": {"id": 1, "connectorId": 1},
    "meterValue": [
        {
            "timestamp": NOW,
            "sampledValue": [
                {
                    "value": 0.0,
                    "context": "Transaction.Begin",
                    "measurand": "Energy.Active.Import.Register",
                    "unitOfMeasure": {"unit": "Wh"},
                }
            ],
        }
    ],
}

TX_UPDATED: dict[str, Any] = {
    "eventType": "Updated",
    "timestamp": "2024-05-01T12:15:00.000Z",
    "triggerReason": "MeterValuePeriodic",
    "seqNo": 1,
    "offline": False,
    "transactionInfo": {"transactionId": "b3f1c0de-0001", "chargingState": "Charging"},
    "meterValue": [
        {
            "timestamp": "2024-05-01T12:15:00.000Z",
            "sampledValue": [
                {
                    "value": 1830.5,
                    "context": "Sample.Periodic",
                    "measurand": "Energy.Active.Import.Register",
                    "unitOfMeasure": {"unit": "Wh", "multiplier": 0},
                },
                {"value": 7350, "measurand": "Power.Active.Import", "phase": "L1"},
                {"value": 54, "measurand": "SoC", "location": "EV"},
            ],
        }
    ],
}

V2X_REQUESTS: dict[str, dict[str, Any]] = {
    "BootNotification": {
        "reason": "PowerUp",
        "chargingStation": {
            "model": "SingleSocketCharger",
            "vendorName": "VendorX",
            "serialNumber": "SN-0001",
            "firmwareVersion": "1.2.3",
            "modem": {"iccid": "89310410106543789301", "imsi": "310410123456789"},
        },
    },
    "Heartbeat": {},
    "StatusNotification": {
        "timestamp": NOW,
        "connectorStatus": "Available",
        "evseId": 1,
        "connectorId": 1,
    },
    "TransactionEvent": TX_STARTED,
    "Authorize": {"idToken": {"idToken": "04A2B3C4D5E6F7", "type": "ISO14443"}},
    "SecurityEventNotification": {"type": "StartupOfTheDevice", "timestamp": NOW},
}

V2X_RESPONSES: dict[str, dict[str, Any]] = {
    "BootNotification": {"currentTime": NOW, "interval": 300, "status": "Accepted"},
    "Heartbeat": {"currentTime": NOW},
    "StatusNotification": {},
    "TransactionEvent": {"idTokenInfo": {"status": "Accepted"}, "totalCost": 0},
    "GetVariables": {
        "getVariableResult": [
            {
                "attributeStatus": "Accepted",
                "attributeValue": "300",
                "component": {"name": "OCPPCommCtrlr"},
                "variable": {"name": "HeartbeatInterval"},
            }
        ]
    },
}


def _cases(version: OcppVersion, payloads: dict[str, dict[str, Any]]) -> list[Any]:
    return [
        pytest.param(version, name, payload, id=f"{version}-{name}")
        for name, payload in payloads.items()
    ]


@pytest.mark.parametrize(
    ("version", "action", "payload"),
    _cases(V16, V16_REQUESTS)
    + [case for version in V2X for case in _cases(version, V2X_REQUESTS)]
    + [
        pytest.param(V201, "TransactionEvent", TX_UPDATED, id="2.0.1-TransactionEvent-Updated"),
        pytest.param(V21, "TransactionEvent", TX_UPDATED, id="2.1-TransactionEvent-Updated"),
    ],
)
def test_valid_requests_pass(version: OcppVersion, action: str, payload: dict[str, Any]) -> None:
    MessageValidator(version).validate_request(action, payload)


@pytest.mark.parametrize(
    ("version", "action", "payload"),
    _cases(V16, V16_RESPONSES) + [case for v in V2X for case in _cases(v, V2X_RESPONSES)],
)
def test_valid_responses_pass(version: OcppVersion, action: str, payload: dict[str, Any]) -> None:
    MessageValidator(version).validate_response(action, payload)


def test_2_1_send_payload_validates_as_a_request() -> None:
    validator = MessageValidator(V21)
    payload = {
        "id": 123,
        "pending": 0,
        "basetime": NOW,
        "data": [{"t": 0, "v": "230.4"}, {"t": 5.0, "v": "230.2"}],
    }
    validator.validate_request("NotifyPeriodicEventStream", payload)
    with pytest.raises(CallErrorReply) as caught:
        validator.validate_response("NotifyPeriodicEventStream", {})
    assert caught.value.code is ErrorCode.NOT_SUPPORTED


# -- customData (2.0.1 Part 4 §9; OCTT TC_P_03_CSMS) ---------------------------------------------


@pytest.mark.parametrize("version", V2X)
def test_custom_data_with_vendor_extensions_is_accepted(version: OcppVersion) -> None:
    payload = copy.deepcopy(V2X_REQUESTS["BootNotification"])
    payload["customData"] = {"vendorId": "com.example", "anything": {"nested": [1, 2]}, "n": 3}
    payload["chargingStation"]["customData"] = {"vendorId": "com.example", "hwRev": "B"}
    validator = MessageValidator(version)
    validator.validate_request("BootNotification", payload)
    response = {**V2X_RESPONSES["BootNotification"], "customData": {"vendorId": "x", "k": True}}
    validator.validate_response("BootNotification", response)


@pytest.mark.parametrize("version", V2X)
def test_custom_data_still_needs_a_vendor_id(version: OcppVersion) -> None:
    payload = {**V2X_REQUESTS["Heartbeat"], "customData": {"anything": 1}}
    with pytest.raises(CallErrorReply) as caught:
        MessageValidator(version).validate_request("Heartbeat", payload)
    assert caught.value.code is ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION
    assert caught.value.details["path"] == "$.customData.vendorId"


# -- violation -> ErrorCode (ocpp-rules.md §1.6) -------------------------------------------------


def _with(payload: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """Return a copy of ``payload`` with the dotted ``path`` set (or removed when value is ...)."""
    result = copy.deepcopy(payload)
    *parents, last = path.split(".")
    node: Any = result
    for step in parents:
        node = node[int(step)] if step.isdigit() else node[step]
    if value is ...:
        del node[last]
    elif last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return result


OCCURRENCE = ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION
TYPE = ErrorCode.TYPE_CONSTRAINT_VIOLATION
PROPERTY = ErrorCode.PROPERTY_CONSTRAINT_VIOLATION
FORMAT = ErrorCode.FORMAT_VIOLATION

BOOT16 = V16_REQUESTS["BootNotification"]
BOOT2X = V2X_REQUESTS["BootNotification"]
MV16 = V16_REQUESTS["MeterValues"]
STATUS16 = V16_REQUESTS["StatusNotification"]
AUTH2X: dict[str, Any] = {
    "idToken": {"idToken": "04A2B3C4", "type": "ISO14443"},
    "iso15118CertificateHashData": [
        {
            "hashAlgorithm": "SHA256",
            "issuerNameHash": "a" * 64,
            "issuerKeyHash": "b" * 64,
            "serialNumber": "01",
            "responderURL": "http://ocsp.example",
        }
    ],
}


class Violation(NamedTuple):
    """A payload breaking one schema rule, and the CALLERROR it must get."""

    action: str
    payload: dict[str, Any]
    code: ErrorCode
    path: str
    keyword: str


V16_VIOLATIONS = [
    Violation(
        "BootNotification",
        _with(BOOT16, "chargePointModel", ...),
        OCCURRENCE,
        "$.chargePointModel",
        "required",
    ),
    Violation(
        "BootNotification",
        _with(BOOT16, "chargePointVendor", 7),
        TYPE,
        "$.chargePointVendor",
        "type",
    ),
    Violation(
        "StatusNotification", _with(STATUS16, "connectorId", "1"), TYPE, "$.connectorId", "type"
    ),
    Violation(
        "BootNotification",
        _with(BOOT16, "chargePointVendor", "V" * 21),
        PROPERTY,
        "$.chargePointVendor",
        "maxLength",
    ),
    Violation(
        "StatusNotification", _with(STATUS16, "status", "Bogus"), PROPERTY, "$.status", "enum"
    ),
    Violation(
        "MeterValues",
        _with(MV16, "meterValue.0.sampledValue.0.unit", "Kelvin"),
        PROPERTY,
        "$.meterValue[0].sampledValue[0].unit",
        "enum",
    ),
    Violation(
        "StatusNotification",
        _with(STATUS16, "timestamp", "today"),
        PROPERTY,
        "$.timestamp",
        "format",
    ),
    Violation("MeterValues", _with(MV16, "meterValue", []), OCCURRENCE, "$.meterValue", "minItems"),
    Violation(
        "BootNotification",
        _with(BOOT16, "vendorExtra", 1),
        FORMAT,
        "$.vendorExtra",
        "additionalProperties",
    ),
]

V2X_VIOLATIONS = [
    Violation("BootNotification", _with(BOOT2X, "reason", ...), OCCURRENCE, "$.reason", "required"),
    Violation(
        "BootNotification",
        _with(BOOT2X, "chargingStation.vendorName", ...),
        OCCURRENCE,
        "$.chargingStation.vendorName",
        "required",
    ),
    Violation(
        "BootNotification",
        _with(BOOT2X, "chargingStation.model", 5),
        TYPE,
        "$.chargingStation.model",
        "type",
    ),
    Violation(
        "BootNotification",
        _with(BOOT2X, "chargingStation.model", "M" * 21),
        PROPERTY,
        "$.chargingStation.model",
        "maxLength",
    ),
    Violation("BootNotification", _with(BOOT2X, "reason", "Bogus"), PROPERTY, "$.reason", "enum"),
    Violation(
        "Authorize",
        _with(AUTH2X, "iso15118CertificateHashData", AUTH2X["iso15118CertificateHashData"] * 5),
        OCCURRENCE,
        "$.iso15118CertificateHashData",
        "maxItems",
    ),
    Violation(
        "Authorize",
        _with(AUTH2X, "iso15118CertificateHashData", []),
        OCCURRENCE,
        "$.iso15118CertificateHashData",
        "minItems",
    ),
    Violation(
        "TransactionEvent",
        _with(TX_STARTED, "timestamp", "2024-05-01T12:00:00"),
        PROPERTY,
        "$.timestamp",
        "format",
    ),
    Violation(
        "TransactionEvent",
        _with(TX_STARTED, "meterValue.0.sampledValue.0.value", "0.0"),
        TYPE,
        "$.meterValue[0].sampledValue[0].value",
        "type",
    ),
    Violation(
        "BootNotification",
        _with(BOOT2X, "chargingStation.colour", "red"),
        FORMAT,
        "$.chargingStation.colour",
        "additionalProperties",
    ),
]

V21_ONLY_VIOLATIONS = [
    Violation(
        "ChangeAvailability",
        {"operationalStatus": "Operative", "evse": {"id": -1}},
        PROPERTY,
        "$.evse.id",
        "minimum",
    ),
]


def _violation_cases() -> list[Any]:
    cases = [(V16, case) for case in V16_VIOLATIONS]
    cases += [(version, case) for version in V2X for case in V2X_VIOLATIONS]
    cases += [(V21, case) for case in V21_ONLY_VIOLATIONS]
    return [
        pytest.param(version, case, id=f"{version}-{case.action}-{case.keyword}-{case.path}")
        for version, case in cases
    ]


@pytest.mark.parametrize(("version", "case"), _violation_cases())
def test_violation_maps_to_error_code(version: OcppVersion, case: Violation) -> None:
    with pytest.raises(CallErrorReply) as caught:
        MessageValidator(version).validate_request(case.action, case.payload)
    error = caught.value
    assert error.code is case.code
    assert error.details == {"path": case.path, "keyword": case.keyword}
    assert error.description.startswith(f"{case.action} request {case.path}: ")
    assert len(error.description) <= MAX_DESCRIPTION


def test_response_violations_map_the_same_way() -> None:
    validator = MessageValidator(V201)
    good = V2X_RESPONSES["BootNotification"]
    with pytest.raises(CallErrorReply) as caught:
        validator.validate_response("BootNotification", _with(good, "interval", ...))
    assert caught.value.code is OCCURRENCE
    assert (
        caught.value.description
        == "BootNotification response $.interval: required property is missing"
    )
    with pytest.raises(CallErrorReply) as caught:
        validator.validate_response("BootNotification", _with(good, "currentTime", "noon"))
    assert caught.value.code is PROPERTY
    with pytest.raises(CallErrorReply) as caught:
        validator.validate_response("BootNotification", _with(good, "status", "OK"))
    assert caught.value.code is PROPERTY


@pytest.mark.parametrize(
    ("code", "v16", "v2x"),
    [
        (FORMAT, "FormationViolation", "FormatViolation"),
        (OCCURRENCE, "OccurenceConstraintViolation", "OccurrenceConstraintViolation"),
        (TYPE, "TypeConstraintViolation", "TypeConstraintViolation"),
        (PROPERTY, "PropertyConstraintViolation", "PropertyConstraintViolation"),
        (ErrorCode.NOT_IMPLEMENTED, "NotImplemented", "NotImplemented"),
    ],
)
def test_codes_are_spelled_per_version(code: ErrorCode, v16: str, v2x: str) -> None:
    # OCPP-J 1.6 Table 7 keeps its misspellings (errata §5); 2.x spells them correctly.
    assert code.wire(V16) == v16
    assert code.wire(V201) == code.wire(V21) == v2x


def test_1_6_extra_property_is_a_formation_violation_on_the_wire() -> None:
    with pytest.raises(CallErrorReply) as caught:
        MessageValidator(V16).validate_request("Heartbeat", {"foo": 1})
    assert caught.value.code.wire(V16) == "FormationViolation"


# -- descriptions ---------------------------------------------------------------------------------


def test_description_never_echoes_the_value_and_stays_short() -> None:
    secret = "s3cr3t-" * 2000
    payload = _with(BOOT2X, "chargingStation.model", secret)
    with pytest.raises(CallErrorReply) as caught:
        MessageValidator(V201).validate_request("BootNotification", payload)
    assert "s3cr3t" not in caught.value.description
    assert caught.value.description.endswith("longer than 20 characters")


def test_huge_unexpected_key_is_truncated() -> None:
    payload = {**BOOT2X, "k" * 5000: 1, "with space": 2}
    with pytest.raises(CallErrorReply) as caught:
        MessageValidator(V201).validate_request("BootNotification", payload)
    error = caught.value
    assert error.code is FORMAT
    assert len(error.description) <= MAX_DESCRIPTION
    assert len(error.details["path"]) < 100


def test_long_enum_lists_are_cut_at_255_characters() -> None:
    payload = _with(MV16, "meterValue.0.sampledValue.0.measurand", "Energy")
    with pytest.raises(CallErrorReply) as caught:
        MessageValidator(V16).validate_request("MeterValues", payload)
    description = caught.value.description
    assert "must be one of Energy.Active.Export.Register, " in description
    assert len(description) == MAX_DESCRIPTION
    assert description.endswith("…")


def test_json_path_spelling() -> None:
    assert json_path([]) == "$"
    assert json_path(["meterValue", 0, "sampledValue", 12, "unit"]) == (
        "$.meterValue[0].sampledValue[12].unit"
    )
    assert json_path(["a b", "it's"]) == "$['a b']['it\\'s']"


# -- unknown actions, direction, laziness ---------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "action"),
    [
        (V16, "FooBar"),
        (V16, "bootnotification"),
        (V16, "TransactionEvent"),
        (V201, "BootNotificationRequest"),
        (V201, "StartTransaction"),
        (V201, "NotifyPeriodicEventStream"),
        (V21, "X" * 1000),
    ],
)
def test_unknown_action_is_not_implemented(version: OcppVersion, action: str) -> None:
    validator = MessageValidator(version)
    assert not validator.knows(action)
    assert validator.direction(action) is None
    for validate in (validator.validate_request, validator.validate_response):
        with pytest.raises(CallErrorReply) as caught:
            validate(action, {})
        assert caught.value.code is ErrorCode.NOT_IMPLEMENTED
        assert len(caught.value.description) <= 100


def test_direction_and_knows() -> None:
    validator = MessageValidator(V16)
    assert validator.knows("Heartbeat")
    assert validator.direction("Heartbeat") is Direction.CS_TO_CSMS
    assert validator.direction("Reset") is Direction.CSMS_TO_CS
    assert validator.direction("DataTransfer") is Direction.BOTH
    info = validator.info("SignCertificate")
    assert info is not None and info.security_extension


def test_wrong_direction_is_left_to_the_router() -> None:
    # A station sending Reset gets NotSupported from the router (§6 test 26), not a schema error.
    validator = MessageValidator(V201)
    validator.validate_request("Reset", {"type": "Immediate"})
    assert validator.direction("Reset") is Direction.CSMS_TO_CS


def test_schemas_compile_lazily_and_once() -> None:
    validator = MessageValidator(V21)
    assert validator.compiled == 0
    validator.validate_request("Heartbeat", {})
    assert validator.compiled == 1
    validator.validate_request("Heartbeat", {})
    with pytest.raises(CallErrorReply):
        validator.validate_request("Heartbeat", {"x": 1})
    assert validator.compiled == 1
    validator.validate_response("Heartbeat", {"currentTime": NOW})
    assert validator.compiled == 2
    assert "compiled=2" in repr(validator)


def test_validators_share_no_state() -> None:
    strict, lenient = MessageValidator(V16), MessageValidator(V16, accept_naive_datetime=True)
    payload = {"connectorId": 1, "idTag": "A", "meterStart": 0, "timestamp": "2024-05-01T12:00:00"}
    lenient.validate_request("StartTransaction", payload)
    with pytest.raises(CallErrorReply):
        strict.validate_request("StartTransaction", payload)
