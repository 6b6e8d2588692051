"""Turn a JSON schema violation into the CALLERROR that answers it.

The codes follow the RPC error tables (OCPP-J 1.6 §4.2.3 Table 7; 2.0.1 Part 4 §4.3 Table 8; 2.1
Part 4 §4.3 Table 9) as fixed in ocpp-rules.md §1.6:

========================================  ===============================
violation (JSON Schema keyword)           ErrorCode
========================================  ===============================
required                                  OCCURRENCE_CONSTRAINT_VIOLATION
minItems, maxItems                        OCCURRENCE_CONSTRAINT_VIOLATION
type                                      TYPE_CONSTRAINT_VIOLATION
enum, const, minLength, maxLength,        PROPERTY_CONSTRAINT_VIOLATION
pattern, minimum, maximum, exclusive*,
multipleOf, format
additionalProperties and anything else    FORMAT_VIOLATION
========================================  ===============================

The codes are version-neutral: :meth:`ErrorCode.wire` spells them (1.6 "FormationViolation",
"OccurenceConstraintViolation"). The description says what is wrong and where, as a JSON path
such as ``$.meterValue[0].sampledValue[1].unit``, and never echoes the offending value, which may be
large or sensitive. It fits the 255 characters of 2.0.1 Part 4 §4.2.3.
"""

from __future__ import annotations

from typing import Any

from jsonschema_rs import ValidationError, ValidationErrorKind

from csms.rpc.errors import CallErrorReply, ErrorCode

MAX_DESCRIPTION = 255
_MAX_KEY = 64
_MAX_DETAIL_PATH = 512

_OCCURRENCE = ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION
_PROPERTY = ErrorCode.PROPERTY_CONSTRAINT_VIOLATION

_CODES: dict[type[ValidationErrorKind], ErrorCode] = {
    ValidationErrorKind.Required: _OCCURRENCE,
    ValidationErrorKind.MinItems: _OCCURRENCE,
    ValidationErrorKind.MaxItems: _OCCURRENCE,
    ValidationErrorKind.Type: ErrorCode.TYPE_CONSTRAINT_VIOLATION,
    ValidationErrorKind.Enum: _PROPERTY,
    ValidationErrorKind.Constant: _PROPERTY,
    ValidationErrorKind.MinLength: _PROPERTY,
    ValidationErrorKind.MaxLength: _PROPERTY,
    ValidationErrorKind.Pattern: _PROPERTY,
    ValidationErrorKind.Minimum: _PROPERTY,
    ValidationErrorKind.Maximum: _PROPERTY,
    ValidationErrorKind.ExclusiveMinimum: _PROPERTY,
    ValidationErrorKind.ExclusiveMaximum: _PROPERTY,
    ValidationErrorKind.MultipleOf: _PROPERTY,
    ValidationErrorKind.Format: _PROPERTY,
}
# Keywords csms implements itself (see csms.messages.schemas), reported as Custom kinds.
_CUSTOM_CODES = {"multipleOf": _PROPERTY}


def error_code(error: ValidationError) -> ErrorCode:
    """Return the CALLERROR code for a schema violation (see the module table)."""
    kind = error.kind
    if type(kind) is ValidationErrorKind.Custom:
        return _CUSTOM_CODES.get(kind.keyword, ErrorCode.FORMAT_VIOLATION)
    return _CODES.get(type(kind), ErrorCode.FORMAT_VIOLATION)


def to_call_error(error: ValidationError, what: str) -> CallErrorReply:
    """Build the CallErrorReply for ``error``; ``what`` names the payload, e.g. "request".

    ``details`` carries ``{"path": <JSON path>, "keyword": <JSON Schema keyword>}``.
    """
    kind = error.kind
    path = list(error.instance_path)
    keyword = kind.keyword if type(kind) is ValidationErrorKind.Custom else kind.name
    problem = _problem(kind, path)
    where = json_path(path)
    description = f"{what} {where}: {problem}"
    if len(description) > MAX_DESCRIPTION:
        description = description[: MAX_DESCRIPTION - 1] + "…"
    details: dict[str, Any] = {"path": where[:_MAX_DETAIL_PATH], "keyword": keyword}
    return CallErrorReply(error_code(error), description, details)


def _problem(kind: ValidationErrorKind, path: list[str | int]) -> str:
    """Say what is wrong; extends ``path`` to the property when the error sits on its parent."""
    match kind:
        case ValidationErrorKind.Required(prop):
            path.append(prop)
            return "required property is missing"
        case ValidationErrorKind.AdditionalProperties(unexpected):
            if unexpected:
                path.append(unexpected[0])
            return "property is not allowed by the schema"
        case ValidationErrorKind.Type(types):
            return f"must be of type {' or '.join(types)}"
        case ValidationErrorKind.Enum(options):
            return "must be one of " + ", ".join(str(option) for option in options)
        case ValidationErrorKind.Constant(expected):
            return f"must be {expected}"
        case ValidationErrorKind.MaxLength(limit):
            return f"longer than {limit} characters"
        case ValidationErrorKind.MinLength(limit):
            return f"shorter than {limit} characters"
        case ValidationErrorKind.Pattern(pattern):
            return f"does not match the pattern {pattern}"
        case ValidationErrorKind.Minimum(limit):
            return f"less than the minimum {limit}"
        case ValidationErrorKind.Maximum(limit):
            return f"greater than the maximum {limit}"
        case ValidationErrorKind.ExclusiveMinimum(limit):
            return f"must be greater than {limit}"
        case ValidationErrorKind.ExclusiveMaximum(limit):
            return f"must be less than {limit}"
        case ValidationErrorKind.MultipleOf(divisor):
            return f"not a multiple of {divisor}"
        case ValidationErrorKind.Format("date-time"):
            return "not an RFC 3339 date-time with time offset, e.g. 2024-05-01T12:00:00Z"
        case ValidationErrorKind.Format(name):
            return f"not a valid {name}"
        case ValidationErrorKind.MinItems(limit):
            return f"fewer than {limit} items"
        case ValidationErrorKind.MaxItems(limit):
            return f"more than {limit} items"
        case ValidationErrorKind.Custom(_, message):
            return message
    return f"violates {kind.name}"


def json_path(path: list[str | int]) -> str:
    """Spell an instance path as a JSON path, e.g. ``$.meterValue[0].unit``."""
    parts = ["$"]
    for step in path:
        if isinstance(step, int):
            parts.append(f"[{step}]")
        elif step.isidentifier():
            parts.append(f".{step[:_MAX_KEY]}")
        else:
            parts.append(f"[{_quote(step)}]")
    return "".join(parts)


def _quote(key: str) -> str:
    if len(key) > _MAX_KEY:
        key = key[:_MAX_KEY] + "…"
    return "'" + key.replace("\\", "\\\\").replace("'", "\\'") + "'"
