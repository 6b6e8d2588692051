"""Every JSON Schema keyword maps to the CALLERROR code of ocpp-rules.md §1.6.

The official schemas use only some keywords (no pattern, for instance), so this drives the mapping
with small synthetic draft-06 schemas.
"""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import pytest

from csms.messages.schemas import compile_schema
from csms.messages.violations import error_code, to_call_error
from csms.rpc import ErrorCode

DRAFT6 = "http://json-schema.org/draft-06/schema#"
OCCURRENCE = ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION
TYPE = ErrorCode.TYPE_CONSTRAINT_VIOLATION
PROPERTY = ErrorCode.PROPERTY_CONSTRAINT_VIOLATION
FORMAT = ErrorCode.FORMAT_VIOLATION
CLOSED = {"type": "object", "additionalProperties": False, "properties": {"a": {}}}


def _first_error(field_schema: dict[str, Any], value: Any) -> jsonschema_rs.ValidationError:
    validator = compile_schema(
        {"$schema": DRAFT6, "type": "object", "properties": {"f": field_schema}}
    )
    errors = list(validator.iter_errors({"f": value}))
    assert errors, "expected a violation"
    return errors[0]


@pytest.mark.parametrize(
    ("field_schema", "value", "code", "problem"),
    [
        ({"type": "integer"}, "1", TYPE, "must be of type integer"),
        ({"type": ["null", "integer"]}, "1", TYPE, "must be of type null or integer"),
        ({"enum": ["A", "B"]}, "C", PROPERTY, "must be one of A, B"),
        ({"const": "A"}, "B", PROPERTY, "must be A"),
        ({"maxLength": 3}, "abcd", PROPERTY, "longer than 3 characters"),
        ({"minLength": 3}, "ab", PROPERTY, "shorter than 3 characters"),
        ({"pattern": "^[0-9]+$"}, "12a", PROPERTY, "does not match the pattern ^[0-9]+$"),
        ({"minimum": 0}, -1, PROPERTY, "less than the minimum 0"),
        ({"maximum": 10}, 11, PROPERTY, "greater than the maximum 10"),
        ({"exclusiveMinimum": 0}, 0, PROPERTY, "must be greater than 0"),
        ({"exclusiveMaximum": 10}, 10, PROPERTY, "must be less than 10"),
        ({"multipleOf": 0.5}, 0.7, PROPERTY, "not a multiple of 0.5"),
        ({"format": "date-time"}, "noon", PROPERTY, "not an RFC 3339 date-time"),
        ({"format": "uri"}, "not a uri", PROPERTY, "not a valid uri"),
        ({"minItems": 1}, [], OCCURRENCE, "fewer than 1 items"),
        ({"maxItems": 1}, [1, 2], OCCURRENCE, "more than 1 items"),
        ({"required": ["x"]}, {}, OCCURRENCE, "required property is missing"),
        (CLOSED, {"a": 1, "x": 1}, FORMAT, "not allowed by the schema"),
        ({"uniqueItems": True}, [1, 1], FORMAT, "violates uniqueItems"),
        ({"minProperties": 1}, {}, FORMAT, "violates minProperties"),
        ({"not": {"type": "string"}}, "s", FORMAT, "violates not"),
        ({"anyOf": [{"type": "integer"}, {"type": "boolean"}]}, "s", FORMAT, "violates anyOf"),
    ],
)
def test_keyword_maps_to_code(
    field_schema: dict[str, Any], value: Any, code: ErrorCode, problem: str
) -> None:
    error = _first_error(field_schema, value)
    assert error_code(error) is code
    reply = to_call_error(error, "Test request")
    assert reply.code is code
    assert problem in reply.description
    assert reply.description.startswith("Test request $.f")


def test_required_and_additional_properties_point_at_the_property() -> None:
    reply = to_call_error(_first_error({"required": ["x"]}, {}), "Test request")
    assert reply.details == {"path": "$.f.x", "keyword": "required"}
    reply = to_call_error(_first_error(CLOSED, {"y": 1}), "Test request")
    assert reply.details == {"path": "$.f.y", "keyword": "additionalProperties"}


class _Refuse:
    def __init__(self, parent: dict[str, Any], value: Any, path: list[str | int]) -> None:
        pass

    def validate(self, instance: Any) -> None:
        raise ValueError("vendor rule broken")


def test_unknown_custom_keyword_is_a_format_violation() -> None:
    validator = jsonschema_rs.Draft6Validator({"x-vendor": True}, keywords={"x-vendor": _Refuse})
    error = next(validator.iter_errors({}))
    reply = to_call_error(error, "Test request")
    assert reply.code is FORMAT
    assert reply.details == {"path": "$", "keyword": "x-vendor"}
    assert reply.description == "Test request $: vendor rule broken"
