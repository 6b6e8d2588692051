"""The one date-time parser and the limits checked before any handler (csms.messages.limits)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from csms.messages import MessageValidator, SchemaKind, actions
from csms.messages.datetimes import DateTimeOutOfRange, parse_datetime
from csms.messages.limits import INT64_MAX, INT64_MIN, MAX_DEPTH, PayloadLimits, check_depth
from csms.messages.schemas import load_schema
from csms.rpc import ALL_VERSIONS, CallErrorReply, ErrorCode, OcppVersion


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-06-01t12:00:00z", datetime(2024, 6, 1, 12, tzinfo=UTC)),
        ("2024-06-01T14:00:00+02:00", datetime(2024, 6, 1, 12, tzinfo=UTC)),
        ("2016-12-31T23:59:60Z", datetime(2016, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
        ("2016-12-31t23:59:60.5z", datetime(2016, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
        ("2017-01-01T08:59:60+09:00", datetime(2016, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
        ("2024-06-01T12:00:00.123456789Z", datetime(2024, 6, 1, 12, 0, 0, 123456, tzinfo=UTC)),
        ("9999-12-31T23:59:59.999999Z", datetime.max.replace(tzinfo=UTC)),
        ("0001-01-01T00:00:00Z", datetime.min.replace(tzinfo=UTC)),
        ("0001-01-01T00:00:00-01:00", datetime(1, 1, 1, 1, tzinfo=UTC)),
        ("2024-06-01T12:00:00", datetime(2024, 6, 1, 12, tzinfo=UTC)),  # lenient: read as UTC
    ],
)
def test_the_one_parser_reads_what_rfc3339_allows(text: str, expected: datetime) -> None:
    parsed = parse_datetime(text)
    assert parsed == expected and parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "text", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:60-00:01"]
)
def test_an_instant_outside_years_1_to_9999_is_out_of_range(text: str) -> None:
    with pytest.raises(DateTimeOutOfRange):
        parse_datetime(text)


@pytest.mark.parametrize("text", ["yesterday", "2024-13-01T00:00:00Z", "", "12:00:60"])
def test_what_is_no_date_time_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        parse_datetime(text)


def nested(depth: int) -> dict[str, Any]:
    """A payload whose deepest value sits ``depth`` levels down (the payload is level 1)."""
    value: Any = []
    for _ in range(depth - 2):
        value = [value]
    return {"x": value}


def test_depth_up_to_the_limit_passes_and_beyond_is_a_format_violation() -> None:
    check_depth(nested(MAX_DEPTH), "r")
    for depth in (MAX_DEPTH + 1, 300, 5000):
        with pytest.raises(CallErrorReply) as caught:
            check_depth(nested(depth), "StatusNotification request")
        assert caught.value.code is ErrorCode.FORMAT_VIOLATION
        assert caught.value.code.wire(OcppVersion.V16) == "FormationViolation"
        assert caught.value.description.endswith(f"nested deeper than {MAX_DEPTH} levels")


def test_the_container_count_shortcut_never_passes_a_deep_payload() -> None:
    """Shallow payloads with many containers, brackets in strings or values orjson cannot write
    take the exact walk; the depth decides, never the count."""
    wide = {"sampledValue": [{"value": i, "unitOfMeasure": {"unit": "Wh"}} for i in range(200)]}
    check_depth(wide, "r")
    check_depth({"text": "{[" * 5000}, "r")
    deep_with_decimal = nested(MAX_DEPTH + 1)
    deep_with_decimal["amount"] = Decimal("1.5")  # not JSON: the walk runs
    with pytest.raises(CallErrorReply):
        check_depth(deep_with_decimal, "r")
    check_depth({**nested(MAX_DEPTH), "amount": Decimal("1.5"), "many": [[]] * 100}, "r")


def _schema_depth(
    node: Mapping[str, Any], definitions: Mapping[str, Any], seen: frozenset[str]
) -> int:
    """How many JSON levels a payload of ``node`` can have (objects and arrays count)."""
    ref = node.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        assert name not in seen, f"recursive definition {name}"
        return _schema_depth(definitions[name], definitions, seen | {name})
    children = [*node.get("properties", {}).values()]
    if isinstance(node.get("items"), Mapping):
        children.append(node["items"])
    if not children:
        return 1 if node.get("type") in ("object", "array") else 0
    return 1 + max(_schema_depth(child, definitions, seen) for child in children)


@pytest.mark.parametrize("version", ALL_VERSIONS, ids=lambda v: v.value)
def test_every_official_schema_fits_well_within_the_depth_limit(version: OcppVersion) -> None:
    deepest = 0
    for name, info in actions(version).items():
        kinds = [SchemaKind.REQUEST] if info.unconfirmed else list(SchemaKind)
        for kind in kinds:
            schema = load_schema(version, name, kind, unconfirmed=info.unconfirmed)
            assert schema is not None
            deepest = max(
                deepest, _schema_depth(schema, schema.get("definitions", {}), frozenset())
            )
    assert 4 <= deepest < 16 < MAX_DEPTH


def _limits(version: OcppVersion, action: str) -> PayloadLimits:
    schema = load_schema(version, action, SchemaKind.REQUEST)
    assert schema is not None
    return PayloadLimits(schema)


@pytest.mark.parametrize("value", [INT64_MIN, -1, 0, 2**31, INT64_MAX, 1.0, float(2**62)])
def test_integers_of_64_bits_pass(value: int | float) -> None:
    _limits(OcppVersion.V16, "StatusNotification").check({"connectorId": value}, "r")


@pytest.mark.parametrize("value", [INT64_MAX + 1, INT64_MIN - 1, float(2**64), -float(2**63) * 2])
def test_integers_beyond_64_bits_are_a_property_constraint_violation(value: int | float) -> None:
    payload = {"meterValue": [{"sampledValue": [{"unitOfMeasure": {"multiplier": value}}]}]}
    with pytest.raises(CallErrorReply) as caught:
        _limits(OcppVersion.V201, "MeterValues").check(payload, "MeterValues request")
    assert caught.value.code is ErrorCode.PROPERTY_CONSTRAINT_VIOLATION
    where = "$.meterValue[0].sampledValue[0].unitOfMeasure.multiplier"
    assert caught.value.description == (
        f"MeterValues request {where}: outside the integer range csms stores, "
        f"{INT64_MIN} .. {INT64_MAX}"
    )
    assert caught.value.details == {"path": where, "keyword": "csms-limit"}


def test_a_non_number_in_an_integer_field_is_a_type_constraint_violation() -> None:
    with pytest.raises(CallErrorReply) as caught:
        _limits(OcppVersion.V16, "StatusNotification").check({"connectorId": "1"}, "r")
    assert caught.value.code is ErrorCode.TYPE_CONSTRAINT_VIOLATION


def test_date_times_are_checked_where_the_schema_says_date_time_only() -> None:
    limits = _limits(OcppVersion.V201, "TransactionEvent")
    far = "9999-12-31T23:59:59-01:00"
    limits.check({"transactionInfo": {"transactionId": far}, "timestamp": "bad"}, "r")
    with pytest.raises(CallErrorReply) as caught:
        limits.check({"meterValue": [{"timestamp": far}]}, "r")
    assert caught.value.code is ErrorCode.PROPERTY_CONSTRAINT_VIOLATION
    assert caught.value.details["path"] == "$.meterValue[0].timestamp"


def test_the_validator_checks_limits_before_the_schema_and_alone_for_lenient_stations() -> None:
    validator = MessageValidator(OcppVersion.V16)
    too_big = {"connectorId": float(2**64), "errorCode": "NoError", "status": "Available"}
    for check in (validator.validate_request, validator.check_limits):
        with pytest.raises(CallErrorReply) as caught:
            check("StatusNotification", too_big)
        # Draft-04 alone would call 2^64 (a float on arrival) no integer.
        assert caught.value.code is ErrorCode.PROPERTY_CONSTRAINT_VIOLATION
    schema_invalid = {"connectorId": 1, "errorCode": "Oops", "status": "Available"}
    validator.check_limits("StatusNotification", schema_invalid)  # the schema is not its business
    timestamp = (datetime(2024, 1, 1, tzinfo=timezone(timedelta(hours=1)))).isoformat()
    validator.validate_request(
        "StatusNotification", {**schema_invalid, "errorCode": "NoError", "timestamp": timestamp}
    )


def test_a_stations_result_is_held_to_the_same_limits() -> None:
    validator = MessageValidator(OcppVersion.V201)
    schedule = {
        "evseId": 2**63,
        "duration": 60,
        "scheduleStart": "2024-06-01T12:00:00Z",
        "chargingRateUnit": "W",
        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 1.0}],
    }
    result = {"status": "Accepted", "schedule": schedule}
    with pytest.raises(CallErrorReply) as strict:
        validator.validate_response("GetCompositeSchedule", result)
    with pytest.raises(CallErrorReply) as lenient:
        validator.check_limits("GetCompositeSchedule", result, SchemaKind.RESPONSE)
    for caught in (strict, lenient):
        assert caught.value.code is ErrorCode.PROPERTY_CONSTRAINT_VIOLATION
        where = "GetCompositeSchedule response $.schedule.evseId"
        assert caught.value.description.startswith(where)
