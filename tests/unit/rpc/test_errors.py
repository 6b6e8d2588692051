"""Unit tests of csms.rpc.errors: version-aware error codes and the exception tree."""

from __future__ import annotations

import pytest

from csms.rpc import (
    CallErrorReply,
    ErrorCode,
    LocalProtocolError,
    OcppVersion,
    OutboundQueueFull,
    RpcError,
    parse_error_code,
)

# OCPP-J 1.6 Table 7, misspellings included (errata §5: "known issues that will not be fixed").
V16_CODES = frozenset(
    {
        "NotImplemented",
        "NotSupported",
        "InternalError",
        "ProtocolError",
        "SecurityError",
        "FormationViolation",
        "PropertyConstraintViolation",
        "OccurenceConstraintViolation",
        "TypeConstraintViolation",
        "GenericError",
    }
)
# OCPP 2.0.1 Part 4 Table 8 = OCPP 2.1 Part 4 Table 9.
V2X_CODES = frozenset(
    {
        "FormatViolation",
        "GenericError",
        "InternalError",
        "MessageTypeNotSupported",
        "NotImplemented",
        "NotSupported",
        "OccurrenceConstraintViolation",
        "PropertyConstraintViolation",
        "ProtocolError",
        "RpcFrameworkError",
        "SecurityError",
        "TypeConstraintViolation",
    }
)
V2X_ONLY = frozenset(
    {
        "FormatViolation",
        "OccurrenceConstraintViolation",
        "RpcFrameworkError",
        "MessageTypeNotSupported",
    }
)
V16_ONLY = frozenset({"FormationViolation", "OccurenceConstraintViolation"})


def test_error_code_values_are_exactly_the_2x_table() -> None:
    """2.0.1 Part 4 Table 8; 2.1 Part 4 Table 9: the enum holds every 2.x code, nothing more."""
    assert {code.value for code in ErrorCode} == V2X_CODES


@pytest.mark.parametrize("code", list(ErrorCode))
def test_v16_spelling_of_every_code_is_in_the_16_table(code: ErrorCode) -> None:
    """1.6 Table 7; ocpp-rules.md §1.6: a 1.6 session only ever receives 1.6 codes."""
    assert code.wire(OcppVersion.V16) in V16_CODES
    assert code.wire(OcppVersion.V16) not in V2X_ONLY


@pytest.mark.parametrize("version", [OcppVersion.V201, OcppVersion.V21])
@pytest.mark.parametrize("code", list(ErrorCode))
def test_2x_spelling_of_every_code_is_its_value(code: ErrorCode, version: OcppVersion) -> None:
    """2.0.1 Part 4 Table 8; 2.1 Part 4 Table 9: 2.x never sends the 1.6 misspellings."""
    assert code.wire(version) == code.value
    assert code.wire(version) in V2X_CODES
    assert code.wire(version) not in V16_ONLY


def test_every_16_code_can_be_spelled() -> None:
    """1.6 Table 7: every 1.6 code is reachable from the version-neutral enum."""
    assert {code.wire(OcppVersion.V16) for code in ErrorCode} == V16_CODES


def test_v16_mapping_of_the_codes_that_differ() -> None:
    """1.6 errata §5.1-5.2 and ocpp-rules.md §1.6 table: the four 2.x-specific codes in 1.6."""
    assert ErrorCode.FORMAT_VIOLATION.wire(OcppVersion.V16) == "FormationViolation"
    assert (
        ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION.wire(OcppVersion.V16)
        == "OccurenceConstraintViolation"
    )
    assert ErrorCode.RPC_FRAMEWORK_ERROR.wire(OcppVersion.V16) == "FormationViolation"
    assert ErrorCode.MESSAGE_TYPE_NOT_SUPPORTED.wire(OcppVersion.V16) == "NotSupported"


@pytest.mark.parametrize(
    "code",
    [
        c
        for c in ErrorCode
        if c
        not in {
            ErrorCode.FORMAT_VIOLATION,
            ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION,
            ErrorCode.RPC_FRAMEWORK_ERROR,
            ErrorCode.MESSAGE_TYPE_NOT_SUPPORTED,
        }
    ],
)
def test_v16_spelling_of_shared_codes_is_unchanged(code: ErrorCode) -> None:
    """1.6 Table 7 vs 2.0.1 Table 8: the other eight codes are spelled the same."""
    assert code.wire(OcppVersion.V16) == code.value


@pytest.mark.parametrize("text", sorted(V2X_CODES))
def test_parse_error_code_reads_every_2x_spelling(text: str) -> None:
    """2.0.1 Part 4 Table 8: a peer's 2.x code is understood."""
    code = parse_error_code(text)
    assert code is not None
    assert code.value == text


def test_parse_error_code_reads_the_16_misspellings() -> None:
    """1.6 errata §5; ocpp-rules.md §6 test 29: CALLERRORs with either spelling are understood."""
    assert parse_error_code("FormationViolation") is ErrorCode.FORMAT_VIOLATION
    assert parse_error_code("OccurenceConstraintViolation") is (
        ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION
    )


@pytest.mark.parametrize("version", list(OcppVersion))
@pytest.mark.parametrize("code", list(ErrorCode))
def test_parse_error_code_reads_every_code_we_send(code: ErrorCode, version: OcppVersion) -> None:
    """ocpp-rules.md §1.6: whatever we spell for a version, a peer of any version understands."""
    parsed = parse_error_code(code.wire(version))
    assert parsed is not None
    if version.is_2x:
        assert parsed is code


@pytest.mark.parametrize(
    "text", ["", "formatviolation", "FORMATVIOLATION", " GenericError", "Foo", "-1"]
)
def test_parse_error_code_returns_none_for_unknown_codes(text: str) -> None:
    """1.6 Table 7; 2.0.1 Table 8: codes are exact strings; anything else is not a known code."""
    assert parse_error_code(text) is None


def test_call_error_reply_carries_code_description_and_details() -> None:
    """1.6 §4.2.3: a CALLERROR has an errorCode, an errorDescription and errorDetails."""
    exc = CallErrorReply(ErrorCode.NOT_SUPPORTED, "not here", {"hint": 1})
    assert (exc.code, exc.description, exc.details) == (
        ErrorCode.NOT_SUPPORTED,
        "not here",
        {"hint": 1},
    )
    assert str(exc) == "NotSupported: not here"


def test_call_error_reply_defaults_to_empty_description_and_fresh_details() -> None:
    """2.0.1 Part 4 §4.2.3: no description is "" and no details is {} (never shared)."""
    first = CallErrorReply(ErrorCode.INTERNAL_ERROR)
    second = CallErrorReply(ErrorCode.INTERNAL_ERROR)
    assert (first.description, first.details, str(first)) == ("", {}, "InternalError")
    first.details["x"] = 1
    assert second.details == {}


def test_every_rpc_exception_is_an_rpc_error() -> None:
    """errors.py exception tree: callers can catch the whole layer with RpcError."""
    for exc in (
        CallErrorReply(ErrorCode.GENERIC_ERROR),
        OutboundQueueFull("full"),
        LocalProtocolError("misuse"),
    ):
        assert isinstance(exc, RpcError)
        assert isinstance(exc, Exception)
