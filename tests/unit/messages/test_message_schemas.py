"""Loading and compiling the official schemas from the ocpp wheel (ocpp-rules.md §1.5, §5)."""

from __future__ import annotations

import struct
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

from csms.messages import MessageValidator, schemas
from csms.messages.schemas import (
    SchemaKind,
    compile_schema,
    load_schema,
    schema_directory,
    schema_file_name,
)
from csms.rpc import CallErrorReply, ErrorCode, OcppVersion

BOM = b"\xef\xbb\xbf"


@pytest.mark.parametrize("version", list(OcppVersion))
def test_every_schema_of_a_version_loads_and_compiles(version: OcppVersion) -> None:
    files = [entry for entry in schema_directory(version).iterdir() if entry.name.endswith(".json")]
    validator = MessageValidator(version)
    assert validator.compiled == 0
    assert validator.compile_all() == len(files)
    assert validator.compile_all() == len(files)  # idempotent


@pytest.mark.parametrize(
    ("version", "action", "kind", "expected"),
    [
        (OcppVersion.V16, "BootNotification", SchemaKind.REQUEST, "BootNotification.json"),
        (OcppVersion.V16, "BootNotification", SchemaKind.RESPONSE, "BootNotificationResponse.json"),
        (OcppVersion.V201, "Heartbeat", SchemaKind.REQUEST, "HeartbeatRequest.json"),
        (OcppVersion.V21, "Heartbeat", SchemaKind.RESPONSE, "HeartbeatResponse.json"),
    ],
)
def test_schema_file_names(
    version: OcppVersion, action: str, kind: SchemaKind, expected: str
) -> None:
    assert schema_file_name(version, action, kind) == expected


def test_send_only_schema_has_no_request_suffix() -> None:
    name = schema_file_name(
        OcppVersion.V21, "NotifyPeriodicEventStream", SchemaKind.REQUEST, unconfirmed=True
    )
    assert name == "NotifyPeriodicEventStream.json"


@pytest.mark.parametrize(
    ("version", "action", "validator_class"),
    [
        (OcppVersion.V16, "MeterValues", jsonschema_rs.Draft4Validator),
        # The 1.6 security extension schemas are draft-06: the draft comes from "$schema".
        (OcppVersion.V16, "SignCertificate", jsonschema_rs.Draft6Validator),
        (OcppVersion.V201, "MeterValues", jsonschema_rs.Draft6Validator),
        (OcppVersion.V21, "MeterValues", jsonschema_rs.Draft6Validator),
    ],
)
def test_draft_is_taken_from_dollar_schema(
    version: OcppVersion, action: str, validator_class: type[jsonschema_rs.Validator]
) -> None:
    schema = load_schema(version, action, SchemaKind.REQUEST)
    assert schema is not None
    assert type(compile_schema(schema)) is validator_class


def test_a_byte_order_mark_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The OCA's 2.0.1 files start with a BOM (the ocpp 2.1.0 wheel's copies happen not to).
    original = schema_directory(OcppVersion.V201) / "BootNotificationRequest.json"
    (tmp_path / "BootNotificationRequest.json").write_bytes(BOM + original.read_bytes())
    monkeypatch.setattr(schemas, "schema_directory", lambda version: tmp_path)
    schema = load_schema(OcppVersion.V201, "BootNotification", SchemaKind.REQUEST)
    assert schema is not None
    assert schema["$schema"] == "http://json-schema.org/draft-06/schema#"


def test_missing_schema_file_is_none() -> None:
    assert load_schema(OcppVersion.V16, "NoSuchAction", SchemaKind.REQUEST) is None


def test_unknown_draft_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        compile_schema({"$schema": "http://json-schema.org/draft-07/schema#"})
    with pytest.raises(ValueError, match="unsupported"):
        compile_schema({"type": "object"})


def test_schemas_are_read_from_the_ocpp_wheel_not_copied() -> None:
    # CC BY-ND 4.0: csms never ships copies of the OCA schemas.
    ocpp_root = str(resources.files("ocpp"))
    for version in OcppVersion:
        assert str(schema_directory(version)).startswith(ocpp_root)
    csms_root = Path(str(resources.files("csms")))
    assert not list(csms_root.rglob("*.json"))


# -- 1.6 errata already applied in the wheel (OCPP-J 1.6 errata §2.1-§2.5) -----------------------


def _meter_values(unit: str) -> dict[str, Any]:
    return {
        "connectorId": 1,
        "meterValue": [
            {
                "timestamp": "2024-05-01T12:00:00Z",
                "sampledValue": [{"value": "21.5", "measurand": "Temperature", "unit": unit}],
            }
        ],
    }


@pytest.mark.parametrize("unit", ["Celsius", "Celcius"])
def test_1_6_accepts_both_spellings_of_celsius(unit: str) -> None:
    MessageValidator(OcppVersion.V16).validate_request("MeterValues", _meter_values(unit))


def test_1_6_stop_transaction_reason_is_optional() -> None:
    payload = {"transactionId": 7, "timestamp": "2024-05-01T13:00:00Z", "meterStop": 1500}
    MessageValidator(OcppVersion.V16).validate_request("StopTransaction", payload)


def test_1_6_boot_notification_response_interval_is_an_integer() -> None:
    validator = MessageValidator(OcppVersion.V16)
    good = {"status": "Accepted", "currentTime": "2024-05-01T12:00:00Z", "interval": 300}
    validator.validate_response("BootNotification", good)
    with pytest.raises(CallErrorReply) as caught:
        validator.validate_response("BootNotification", {**good, "interval": "300"})
    assert caught.value.code is ErrorCode.TYPE_CONSTRAINT_VIOLATION


# -- multipleOf 0.1 (1.6 §7.13-§7.14) ------------------------------------------------------------


def _set_charging_profile(limit: float) -> dict[str, Any]:
    return {
        "connectorId": 1,
        "csChargingProfiles": {
            "chargingProfileId": 1,
            "stackLevel": 0,
            "chargingProfilePurpose": "TxDefaultProfile",
            "chargingProfileKind": "Relative",
            "chargingSchedule": {
                "chargingRateUnit": "A",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}],
            },
        },
    }


FLOAT32_6_3 = struct.unpack("f", struct.pack("f", 6.3))[0]


@pytest.mark.parametrize("limit", [0.3, 0.7, 6.3, 16, 32.1, 0.1 + 0.2, FLOAT32_6_3, 22000.4])
def test_multiple_of_tolerates_float_artefacts(limit: float) -> None:
    MessageValidator(OcppVersion.V16).validate_request(
        "SetChargingProfile", _set_charging_profile(limit)
    )


@pytest.mark.parametrize("limit", [0.15, 6.35, 0.01])
def test_multiple_of_still_rejects_wrong_values(limit: float) -> None:
    with pytest.raises(CallErrorReply) as caught:
        MessageValidator(OcppVersion.V16).validate_request(
            "SetChargingProfile", _set_charging_profile(limit)
        )
    error = caught.value
    assert error.code is ErrorCode.PROPERTY_CONSTRAINT_VIOLATION
    assert error.details == {
        "path": "$.csChargingProfiles.chargingSchedule.chargingSchedulePeriod[0].limit",
        "keyword": "multipleOf",
    }
    assert "not a multiple of 0.1" in error.description


def test_multiple_of_applies_to_station_responses_too() -> None:
    response = {
        "status": "Accepted",
        "connectorId": 1,
        "scheduleStart": "2024-05-01T12:00:00Z",
        "chargingSchedule": {
            "chargingRateUnit": "W",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": FLOAT32_6_3}],
        },
    }
    validator = MessageValidator(OcppVersion.V16)
    validator.validate_response("GetCompositeSchedule", response)
    response["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] = 0.05  # type: ignore[index]
    with pytest.raises(CallErrorReply):
        validator.validate_response("GetCompositeSchedule", response)


# -- date-time format ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "timestamp",
    [
        "2024-05-01T12:00:00Z",
        "2024-05-01T12:00:00.123Z",
        "2024-05-01T12:00:00.123456+02:00",
        "2024-05-01t12:00:00z",
    ],
)
def test_rfc3339_date_times_pass(timestamp: str) -> None:
    MessageValidator(OcppVersion.V201).validate_response("Heartbeat", {"currentTime": timestamp})


@pytest.mark.parametrize(
    "timestamp",
    ["2024-05-01T12:00:00", "2024-05-01 12:00:00Z", "2024-13-01T12:00:00Z", "yesterday", ""],
)
def test_bad_date_times_fail_by_default(timestamp: str) -> None:
    with pytest.raises(CallErrorReply) as caught:
        MessageValidator(OcppVersion.V201).validate_response(
            "Heartbeat", {"currentTime": timestamp}
        )
    assert caught.value.code is ErrorCode.PROPERTY_CONSTRAINT_VIOLATION
    assert caught.value.details == {"path": "$.currentTime", "keyword": "format"}


def test_naive_date_times_can_be_accepted_on_request() -> None:
    validator = MessageValidator(OcppVersion.V16, accept_naive_datetime=True)
    payload = {"connectorId": 1, "idTag": "ABC", "meterStart": 0}
    for timestamp in ("2024-05-01T12:00:00", "2024-05-01T12:00:00.5", "2024-05-01T12:00:00Z"):
        validator.validate_request("StartTransaction", {**payload, "timestamp": timestamp})
    for timestamp in ("2024-05-01", "2024-05-01T25:00:00", "now"):
        with pytest.raises(CallErrorReply):
            validator.validate_request("StartTransaction", {**payload, "timestamp": timestamp})
