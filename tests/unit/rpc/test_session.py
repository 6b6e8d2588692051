"""Unit tests of csms.rpc.session.RpcSession: text in, events and frames out, no I/O, no clock."""

from __future__ import annotations

import json
from typing import Any

import pytest

from csms.rpc import (
    CallAborted,
    CallReceived,
    CallTimedOut,
    ErrorCode,
    ErrorReceived,
    Event,
    LocalProtocolError,
    OcppVersion,
    OutboundQueueFull,
    ProtocolViolation,
    ResultReceived,
    RpcSession,
    SendReceived,
)
from csms.rpc.ids import counter_ids

V16, V201, V21 = OcppVersion.V16, OcppVersion.V201, OcppVersion.V21
ALL = [V16, V201, V21]
V2X = [V201, V21]
NOT_21 = [V16, V201]

# The code a session uses for "not a valid RPC message" (ocpp-rules.md §1.6 table).
RPC_FRAMEWORK = {V16: "FormationViolation", V201: "RpcFrameworkError", V21: "RpcFrameworkError"}
# The code for a payload that is not a JSON object (1.6 Table 7; 2.0.1 Part 4 Table 8).
FORMAT = {V16: "FormationViolation", V201: "FormatViolation", V21: "FormatViolation"}

# 1.6 Table 7 (with its misspellings) and 2.0.1 Part 4 Table 8 / 2.1 Part 4 Table 9.
V16_CODES = {
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
V2X_CODES = {
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
TABLE = {V16: V16_CODES, V201: V2X_CODES, V21: V2X_CODES}


def new(version: OcppVersion, **options: Any) -> RpcSession:
    """A session with predictable ids m1, m2, …"""
    return RpcSession(version, id_factory=counter_ids(), **options)


def feed(session: RpcSession, frame: Any, now: float = 0.0) -> list[Event]:
    """Send ``frame`` (serialised with json) to the session."""
    return session.receive(json.dumps(frame), now)


def wire(session: RpcSession) -> list[Any]:
    """Decode every frame the session wants written."""
    return [json.loads(data) for data in session.data_to_send()]


def violation(events: list[Event], *, fatal: bool = False) -> ProtocolViolation:
    """Insist ``events`` is exactly one ProtocolViolation and return it."""
    assert len(events) == 1, events
    event = events[0]
    assert isinstance(event, ProtocolViolation), event
    assert event.fatal is fatal
    return event


def error_reply(session: RpcSession) -> list[Any]:
    """Insist the session wrote exactly one CALLERROR of the OCPP-J shape and return it."""
    frames = wire(session)
    assert len(frames) == 1, frames
    frame: list[Any] = frames[0]
    assert len(frame) == 5
    assert frame[0] == 4
    assert isinstance(frame[1], str)
    assert isinstance(frame[3], str)
    assert len(frame[3]) <= 255
    assert frame[4] == {}
    return frame


def with_call_outstanding(version: OcppVersion, **options: Any) -> RpcSession:
    """A session whose CALL m1 (Reset) is on the wire, with the wire already drained."""
    session = new(version, **options)
    assert session.send_call("Reset", {"type": "Immediate"}, now=0.0) == "m1"
    assert wire(session) == [[2, "m1", "Reset", {"type": "Immediate"}]]
    return session


# ================================================================== receiving well-formed frames


@pytest.mark.parametrize("version", ALL)
def test_call_is_reported_and_nothing_is_written(version: OcppVersion) -> None:
    """1.6 §4.2.1; 2.0.1 Part 4 §4.2.1: a CALL goes to the handler; the answer comes from it."""
    session = new(version)
    events = feed(session, [2, "c1", "Heartbeat", {}])
    assert events == [CallReceived("c1", "Heartbeat", {})]
    assert wire(session) == []


@pytest.mark.parametrize("version", ALL)
def test_send_result_answers_with_a_callresult_of_the_same_id(version: OcppVersion) -> None:
    """1.6 §4.1.4 and §4.2.2: the CALLRESULT id MUST equal the CALL's id."""
    session = new(version)
    feed(session, [2, "c1", "Heartbeat", {}])
    session.send_result("c1", {"currentTime": "2024-01-01T00:00:00Z"})
    assert wire(session) == [[3, "c1", {"currentTime": "2024-01-01T00:00:00Z"}]]


@pytest.mark.parametrize("version", ALL)
def test_send_error_answers_with_a_five_element_callerror(version: OcppVersion) -> None:
    """1.6 §4.2.3; 2.0.1 Part 4 §4.2.3: [4, id, code, description, details]."""
    session = new(version)
    feed(session, [2, "c1", "FooBar", {}])
    session.send_error("c1", ErrorCode.NOT_IMPLEMENTED, "unknown action", {"action": "FooBar"})
    assert wire(session) == [[4, "c1", "NotImplemented", "unknown action", {"action": "FooBar"}]]


@pytest.mark.parametrize("version", ALL)
def test_send_error_defaults_to_empty_description_and_details(version: OcppVersion) -> None:
    """1.6 §4.2.3 Table 6: description "" if none; details MUST be {} if none."""
    session = new(version)
    feed(session, [2, "c1", "Heartbeat", {}])
    session.send_error("c1", ErrorCode.INTERNAL_ERROR)
    assert wire(session) == [[4, "c1", "InternalError", "", {}]]


@pytest.mark.parametrize("version", ALL)
def test_send_error_truncates_the_description_to_255_characters(version: OcppVersion) -> None:
    """2.0.1 Part 4 Table 7: errorDescription is string[255]."""
    session = new(version)
    feed(session, [2, "c1", "Heartbeat", {}])
    session.send_error("c1", ErrorCode.GENERIC_ERROR, "x" * 1000)
    assert error_reply(session)[3] == "x" * 255


@pytest.mark.parametrize("version", ALL)
def test_bytes_are_received_like_text(version: OcppVersion) -> None:
    """1.6 §4.1.2: the frame is UTF-8 encoded JSON, whichever way the frontend hands it over."""
    session = new(version)
    assert session.receive(b'[2,"c1","Heartbeat",{}]', 0.0) == [CallReceived("c1", "Heartbeat", {})]


@pytest.mark.parametrize("version", ALL)
def test_callresult_for_the_outstanding_call_is_reported_with_its_action(
    version: OcppVersion,
) -> None:
    """2.0.1 Part 4 §4.1.6: the CALLRESULT has no action; it is matched to the CALL by id."""
    session = with_call_outstanding(version)
    events = feed(session, [3, "m1", {"status": "Accepted"}], now=1.0)
    assert events == [ResultReceived("m1", "Reset", {"status": "Accepted"})]
    assert session.outstanding_call is None
    assert session.next_deadline() is None
    assert wire(session) == []


@pytest.mark.parametrize("version", ALL)
@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("NotImplemented", ErrorCode.NOT_IMPLEMENTED),
        ("FormatViolation", ErrorCode.FORMAT_VIOLATION),
        ("FormationViolation", ErrorCode.FORMAT_VIOLATION),
        ("OccurenceConstraintViolation", ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION),
        ("RpcFrameworkError", ErrorCode.RPC_FRAMEWORK_ERROR),
        ("VendorSpecificOops", None),
    ],
)
def test_callerror_for_the_outstanding_call_is_reported_with_the_parsed_code(
    version: OcppVersion, raw: str, code: ErrorCode | None
) -> None:
    """1.6 errata §5; ocpp-rules.md §6 tests 29 and 40: either spelling is understood."""
    session = with_call_outstanding(version)
    events = feed(session, [4, "m1", raw, "no", {"k": "v"}])
    assert events == [ErrorReceived("m1", "Reset", code, raw, "no", {"k": "v"})]
    assert session.outstanding_call is None
    assert wire(session) == []


@pytest.mark.parametrize("version", ALL)
def test_callerror_with_non_object_details_is_reported_with_empty_details(
    version: OcppVersion,
) -> None:
    """2.0.1 Part 4 Table 7: errorDetails is an object; a peer's null is read as {}."""
    session = with_call_outstanding(version)
    events = feed(session, [4, "m1", "GenericError", "", None])
    assert events == [ErrorReceived("m1", "Reset", ErrorCode.GENERIC_ERROR, "GenericError", "")]


# ================================================================== 2.1 SEND and CALLRESULTERROR


def test_send_is_reported_and_never_answered_in_21() -> None:
    """2.1 Part 4 §4.2.4: the receiver SHALL NOT respond to a SEND."""
    session = new(V21)
    events = feed(session, [6, "s1", "NotifyPeriodicEventStream", {"id": 1, "pending": 0}])
    assert events == [SendReceived("s1", "NotifyPeriodicEventStream", {"id": 1, "pending": 0})]
    assert wire(session) == []


def test_send_while_our_call_is_outstanding_is_reported_and_leaves_it_outstanding() -> None:
    """2.1 Part 4 §4.1.1 NOTE and §4.2.4: a SEND may arrive before a CALL is responded to."""
    session = with_call_outstanding(V21)
    events = feed(session, [6, "s1", "NotifyPeriodicEventStream", {}])
    assert events == [SendReceived("s1", "NotifyPeriodicEventStream", {})]
    assert wire(session) == []
    assert session.outstanding_call == "m1"
    assert feed(session, [3, "m1", {}]) == [ResultReceived("m1", "Reset", {})]


def test_send_while_a_peer_call_is_being_handled_is_reported_and_not_answered() -> None:
    """2.1 Part 4 §4.2.4: a SEND never gets a CALLRESULT or CALLERROR, whatever else is going on."""
    session = new(V21)
    feed(session, [2, "c1", "Heartbeat", {}])
    assert feed(session, [6, "s1", "NotifyPeriodicEventStream", {}]) == [
        SendReceived("s1", "NotifyPeriodicEventStream", {})
    ]
    assert wire(session) == []
    session.send_result("c1", {})
    assert wire(session) == [[3, "c1", {}]]


@pytest.mark.parametrize(
    "frame",
    [
        [6, "s1", "NotifyPeriodicEventStream"],
        [6, "s1", "NotifyPeriodicEventStream", {}, {}],
        [6, "s1", "NotifyPeriodicEventStream", []],
        [6, "s1", 5, {}],
        [6, 5, "NotifyPeriodicEventStream", {}],
        [6, "x" * 37, "NotifyPeriodicEventStream", {}],
    ],
)
def test_malformed_send_is_reported_but_never_answered_in_21(frame: list[Any]) -> None:
    """2.1 Part 4 §4.2.4: not even a broken SEND is answered with a CALLERROR."""
    session = new(V21)
    violation(feed(session, frame))
    assert wire(session) == []


def test_callresulterror_is_reported_and_never_answered_in_21() -> None:
    """2.1 Part 4 §4.2.3: CALLRESULTERROR says the peer could not process our CALLRESULT."""
    session = new(V21)
    event = violation(feed(session, [5, "c1", "FormatViolation", "bad", {}]))
    assert "FormatViolation" in event.description
    assert wire(session) == []


def test_callresulterror_does_not_complete_our_outstanding_call() -> None:
    """2.1 Part 4 §4.1.4: a CALLRESULTERROR's id is that of a CALLRESULT, not of our CALL."""
    session = with_call_outstanding(V21)
    violation(feed(session, [5, "m1", "GenericError", "", {}]))
    assert session.outstanding_call == "m1"


@pytest.mark.parametrize(
    "frame",
    [
        [6, "s1", "NotifyPeriodicEventStream", {}],
        [5, "s1", "GenericError", "", {}],
    ],
)
def test_send_and_callresulterror_are_unknown_types_in_16(frame: list[Any]) -> None:
    """1.6 §4.1.3: types 5 and 6 are not in the table, so their payload is ignored."""
    session = new(V16)
    event = violation(feed(session, frame))
    assert f"MessageTypeId {frame[0]}" in event.description
    assert wire(session) == []


@pytest.mark.parametrize(
    "frame",
    [
        [6, "s1", "NotifyPeriodicEventStream", {}],
        [5, "s1", "GenericError", "", {}],
    ],
)
def test_send_and_callresulterror_get_message_type_not_supported_in_201(frame: list[Any]) -> None:
    """2.0.1 Part 4 §4.4: an unknown message type SHALL get a MessageTypeNotSupported CALLERROR."""
    session = new(V201)
    violation(feed(session, frame))
    assert error_reply(session)[:3] == [4, "s1", "MessageTypeNotSupported"]


@pytest.mark.parametrize(
    "frame",
    [
        [6],
        [6, 5, "NotifyPeriodicEventStream", {}],
        [6, "s1", "NotifyPeriodicEventStream"],
        [6, "s1", "NotifyPeriodicEventStream", []],
        [5, "s1"],
        [5, "s1", 1, 2, 3],
    ],
)
def test_malformed_type_5_or_6_is_still_an_unknown_type_in_16(frame: list[Any]) -> None:
    """1.6 §4.1.3: whatever follows an unknown MessageTypeId, the message is ignored."""
    session = new(V16)
    violation(feed(session, frame))
    assert wire(session) == []


@pytest.mark.parametrize(
    ("frame", "reply_id"),
    [
        ([6], "-1"),
        ([6, 5, "NotifyPeriodicEventStream", {}], "-1"),
        ([6, "s1", "NotifyPeriodicEventStream"], "s1"),
        ([6, "s1", "NotifyPeriodicEventStream", []], "s1"),
        ([5, "s1"], "s1"),
        ([5, "s1", 1, 2, 3], "s1"),
    ],
)
def test_malformed_type_5_or_6_is_still_message_type_not_supported_in_201(
    frame: list[Any], reply_id: str
) -> None:
    """2.0.1 Part 4 §4.4: the MessageTypeId decides; 5 and 6 are unknown in 2.0.1."""
    session = new(V201)
    violation(feed(session, frame))
    assert error_reply(session)[:3] == [4, reply_id, "MessageTypeNotSupported"]


# ============================================================ frames that are not RPC messages


@pytest.mark.parametrize("version", ALL)
@pytest.mark.parametrize("text", ["hello", "", "[2,", '{"a":1}', "[]", '"text"', "42", "null"])
def test_unreadable_frame_gets_callerror_with_id_minus_one(version: OcppVersion, text: str) -> None:
    """2.0.1 Part 4 §4.2.3: when the MessageId cannot be read the CALLERROR carries "-1"."""
    session = new(version)
    violation(session.receive(text, 0.0))
    assert error_reply(session)[:3] == [4, "-1", RPC_FRAMEWORK[version]]


@pytest.mark.parametrize("version", ALL)
def test_callerror_for_corrupt_json_does_not_embed_the_corrupt_text(version: OcppVersion) -> None:
    """2.0.1 Part 4 §4.2.3: the CALLERROR SHALL NOT directly include syntactically invalid JSON."""
    session = new(version)
    corrupt = '[2,"c1","Heartbeat",{"evil":"\\'
    session.receive(corrupt, 0.0)
    frame = error_reply(session)
    assert corrupt not in frame[3]
    assert '"evil"' not in frame[3]


@pytest.mark.parametrize("version", ALL)
@pytest.mark.parametrize("mtype", ["2", 2.0, None, True, [2]])
def test_message_type_id_not_a_number_gets_callerror_echoing_the_id(
    version: OcppVersion, mtype: Any
) -> None:
    """ocpp-rules.md §6 test 20: RpcFrameworkError (1.6: FormationViolation), id echoed."""
    session = new(version)
    violation(feed(session, [mtype, "c1", "Heartbeat", {}]))
    assert error_reply(session)[:3] == [4, "c1", RPC_FRAMEWORK[version]]


@pytest.mark.parametrize("version", ALL)
def test_message_type_id_not_a_number_without_readable_id_gets_minus_one(
    version: OcppVersion,
) -> None:
    """2.0.1 Part 4 §4.2.3: no readable MessageId means "-1"."""
    session = new(version)
    violation(feed(session, ["2", 17, "Heartbeat", {}]))
    assert error_reply(session)[:2] == [4, "-1"]


@pytest.mark.parametrize("mtype", [0, 1, 7, 99, -2])
def test_unknown_message_type_gets_message_type_not_supported_in_201(mtype: int) -> None:
    """2.0.1 Part 4 §4.4: SHALL respond with a CALLERROR with errorCode MessageTypeNotSupported."""
    session = new(V201)
    violation(feed(session, [mtype, "u1", "X", {}]))
    assert error_reply(session)[:3] == [4, "u1", "MessageTypeNotSupported"]


def test_unknown_message_type_without_id_gets_minus_one_in_201() -> None:
    """2.0.1 Part 4 §4.2.3 and §4.4: MessageTypeNotSupported with "-1" when no id is readable."""
    session = new(V201)
    violation(feed(session, [7]))
    assert error_reply(session)[:3] == [4, "-1", "MessageTypeNotSupported"]


@pytest.mark.parametrize("version", [V16, V21])
@pytest.mark.parametrize("frame", [[7, "u1", "X", {}], [0, "u1"], [99], [-2, 5, 6]])
def test_unknown_message_type_is_ignored_in_16_and_21(
    version: OcppVersion, frame: list[Any]
) -> None:
    """1.6 §4.1.3; 2.1 Part 4 §4.1.3 and §4.4: SHALL ignore the message payload (no reply)."""
    session = new(version)
    violation(feed(session, frame))
    assert wire(session) == []


@pytest.mark.parametrize("version", ALL)
@pytest.mark.parametrize(("message_id", "reply_id"), [(123, "-1"), (None, "-1"), ("", "-1")])
def test_call_with_unreadable_message_id_gets_callerror_with_minus_one(
    version: OcppVersion, message_id: Any, reply_id: str
) -> None:
    """1.6 Table 3; 2.0.1 Part 4 Table 4 and §4.2.3: a non-string or empty id is unreadable."""
    session = new(version)
    violation(feed(session, [2, message_id, "Heartbeat", {}]))
    assert error_reply(session)[:3] == [4, reply_id, RPC_FRAMEWORK[version]]


@pytest.mark.parametrize("version", ALL)
def test_call_with_37_character_id_gets_callerror_with_minus_one(version: OcppVersion) -> None:
    """1.6 §4.2.3 "unique identifier too long": CALLERROR; an invalid id is never echoed."""
    session = new(version)
    violation(feed(session, [2, "x" * 37, "Heartbeat", {}]))
    assert error_reply(session)[:3] == [4, "-1", RPC_FRAMEWORK[version]]


@pytest.mark.parametrize("version", ALL)
def test_call_with_very_long_id_gets_callerror_with_minus_one(version: OcppVersion) -> None:
    """2.0.1 Part 4 §4.2.3: the reply stays small; an id beyond 128 characters is not echoed."""
    session = new(version)
    violation(feed(session, [2, "x" * 100_000, "Heartbeat", {}]))
    assert error_reply(session)[:2] == [4, "-1"]


@pytest.mark.parametrize("version", ALL)
def test_call_with_36_character_id_is_accepted(version: OcppVersion) -> None:
    """1.6 Table 3; 2.0.1 Part 4 Table 4: exactly 36 characters is allowed."""
    session = new(version)
    mid = "0f8fad5b-d9cb-469f-a165-70867728950e"
    assert len(mid) == 36
    assert feed(session, [2, mid, "Heartbeat", {}]) == [CallReceived(mid, "Heartbeat", {})]
    session.send_result(mid, {})
    assert wire(session) == [[3, mid, {}]]


@pytest.mark.parametrize("version", ALL)
def test_reply_to_our_36_character_id_is_matched(version: OcppVersion) -> None:
    """1.6 §4.1.4: replies carry our id; 36 characters is within string[36]."""
    session = RpcSession(version, id_factory=lambda: "y" * 36)
    session.send_call("Reset", {}, now=0.0)
    assert feed(session, [3, "y" * 36, {}]) == [ResultReceived("y" * 36, "Reset", {})]


@pytest.mark.parametrize("version", ALL)
@pytest.mark.parametrize(
    "frame",
    [
        [2],
        [2, "c1"],
        [2, "c1", "Heartbeat"],
        [2, "c1", "Heartbeat", {}, {}],
        [2, "c1", "Heartbeat", {}, "extra", 1],
    ],
)
def test_call_with_wrong_element_count_gets_callerror(
    version: OcppVersion, frame: list[Any]
) -> None:
    """1.6 §4.2.1: a CALL always consists of 4 elements; ocpp-rules.md §6 test 24."""
    session = new(version)
    violation(feed(session, frame))
    reply_id = frame[1] if len(frame) > 1 else "-1"
    assert error_reply(session)[:3] == [4, reply_id, RPC_FRAMEWORK[version]]


@pytest.mark.parametrize("version", ALL)
def test_call_with_non_string_action_gets_callerror(version: OcppVersion) -> None:
    """2.0.1 Part 4 Table 5: Action is a case-sensitive string."""
    session = new(version)
    violation(feed(session, [2, "c1", 42, {}]))
    assert error_reply(session)[:3] == [4, "c1", RPC_FRAMEWORK[version]]


@pytest.mark.parametrize("version", ALL)
@pytest.mark.parametrize("payload", [[], "text", 1, True])
def test_call_whose_payload_is_not_an_object_gets_format_violation(
    version: OcppVersion, payload: Any
) -> None:
    """1.6 Table 7 FormationViolation; 2.0.1 Part 4 Table 8 FormatViolation: syntactically wrong."""
    session = new(version)
    violation(feed(session, [2, "c1", "Heartbeat", payload]))
    assert error_reply(session)[:3] == [4, "c1", FORMAT[version]]


@pytest.mark.parametrize("version", ALL)
@pytest.mark.parametrize(
    "frame",
    [
        [3],
        [3, 5, {}],
        [3, None, {}],
        [3, "", {}],
        [3, "m1"],
        [3, "m1", {}, {}],
        [3, "m1", []],
        [4, "m1"],
        [4, "m1", "GenericError", ""],
        [4, "m1", "GenericError", "", {}, {}],
        [4, "m1", 5, "", {}],
        [4, "m1", "GenericError", None, {}],
        [4, 7, "GenericError", "", {}],
    ],
)
def test_malformed_reply_is_only_reported_never_answered(
    version: OcppVersion, frame: list[Any]
) -> None:
    """ocpp-rules.md §6 test 24: a malformed CALLRESULT/CALLERROR is logged, never answered."""
    session = with_call_outstanding(version)
    violation(feed(session, frame))
    assert wire(session) == []
    assert session.outstanding_call == "m1"


# ================================================================== error spelling per version


@pytest.mark.parametrize("version", ALL)
@pytest.mark.parametrize("code", list(ErrorCode))
def test_send_error_spells_every_code_for_the_session_version(
    version: OcppVersion, code: ErrorCode
) -> None:
    """1.6 errata §5; ocpp-rules.md §6 test 29: a session only emits its own version's codes."""
    session = new(version)
    feed(session, [2, "c1", "Heartbeat", {}])
    session.send_error("c1", code, "why")
    frame = error_reply(session)
    assert frame[2] == code.wire(version)
    assert frame[2] in TABLE[version]


@pytest.mark.parametrize("code", list(ErrorCode))
def test_send_result_error_spells_every_code_for_21(code: ErrorCode) -> None:
    """2.1 Part 4 §4.2.3 and Table 9: a CALLRESULTERROR carries a 2.x code."""
    session = new(V21)
    session.send_result_error("r1", code, "why")
    assert wire(session) == [[5, "r1", code.value, "why", {}]]


# Every kind of input after which a session writes an error of its own.
PROVOCATIONS: list[str] = [
    "hello",
    "[]",
    '{"a":1}',
    '["2","c1","Heartbeat",{}]',
    '[7,"u1","X",{}]',
    '[5,"u2","GenericError","",{}]',
    '[6,"u3","X",{}]',
    "[6]",
    '[5,"u4"]',
    '[2,17,"Heartbeat",{}]',
    '[2,"' + "x" * 37 + '","Heartbeat",{}]',
    '[2,"c2","Heartbeat"]',
    '[2,"c3",5,{}]',
    '[2,"c4","Heartbeat",[]]',
    '[2,"dup","Heartbeat",{}]',
    '[2,"dup","Heartbeat",{}]',
    '[2,"over1","Heartbeat",{}]',
    '[2,"over2","Heartbeat",{}]',
    '[2,"over3","Heartbeat",{}]',
]


@pytest.mark.parametrize("version", ALL)
def test_errors_the_session_writes_itself_use_only_its_version_codes(
    version: OcppVersion,
) -> None:
    """ocpp-rules.md §6 tests 29 and 30: 1.6 never gets a 2.x code and vice versa; shape kept."""
    session = new(version, max_inbound_calls=2, max_bad_frames=1000)
    codes: set[str] = set()
    for text in PROVOCATIONS:
        session.receive(text, 0.0)
        for frame in wire(session):
            assert frame[0] == 4
            assert len(frame) == 5
            assert isinstance(frame[3], str)
            assert len(frame[3]) <= 255
            assert frame[4] == {}
            codes.add(frame[2])
    assert codes
    assert codes <= TABLE[version]
    if version is V16:
        assert codes.isdisjoint(
            {"FormatViolation", "OccurrenceConstraintViolation", "RpcFrameworkError"}
            | {"MessageTypeNotSupported"}
        )
    else:
        assert codes.isdisjoint({"FormationViolation", "OccurenceConstraintViolation"})


# ================================================================== inbound CALLs and their ids


@pytest.mark.parametrize(
    ("version", "code"), [(V16, "ProtocolError")] + [(v, "RpcFrameworkError") for v in V2X]
)
def test_duplicate_id_of_a_call_in_progress_gets_callerror_and_is_not_reported(
    version: OcppVersion, code: str
) -> None:
    """1.6 §4.2.3 "same unique identifier is being handled already"; ocpp-rules.md §6 test 34."""
    session = new(version)
    assert feed(session, [2, "c1", "Authorize", {"idTag": "A"}]) == [
        CallReceived("c1", "Authorize", {"idTag": "A"})
    ]
    violation(feed(session, [2, "c1", "Authorize", {"idTag": "A"}]))
    assert error_reply(session)[:3] == [4, "c1", code]
    session.send_result("c1", {"idTagInfo": {"status": "Accepted"}})
    assert wire(session) == [[3, "c1", {"idTagInfo": {"status": "Accepted"}}]]
    with pytest.raises(LocalProtocolError):
        session.send_result("c1", {})


@pytest.mark.parametrize("version", ALL)
def test_retransmission_of_the_last_answered_call_gets_the_cached_result(
    version: OcppVersion,
) -> None:
    """2.1 Part 4 §4.1.4: a retried message MAY keep its id; the handler does not run twice."""
    session = new(version)
    feed(session, [2, "c1", "StartTransaction", {"connectorId": 1}])
    session.send_result("c1", {"transactionId": 7})
    first = wire(session)
    events = feed(session, [2, "c1", "StartTransaction", {"connectorId": 1}])
    violation(events)
    assert wire(session) == first == [[3, "c1", {"transactionId": 7}]]


@pytest.mark.parametrize("version", ALL)
def test_retransmission_of_the_last_answered_call_gets_the_cached_error(
    version: OcppVersion,
) -> None:
    """2.1 Part 4 §4.1.4; ocpp-rules.md §6 test 35: the documented reply is the cached one."""
    session = new(version)
    feed(session, [2, "c1", "FooBar", {}])
    session.send_error("c1", ErrorCode.NOT_IMPLEMENTED, "unknown")
    first = wire(session)
    violation(feed(session, [2, "c1", "FooBar", {}]))
    assert wire(session) == first == [[4, "c1", "NotImplemented", "unknown", {}]]


@pytest.mark.parametrize("version", ALL)
def test_only_the_last_answered_call_is_cached(version: OcppVersion) -> None:
    """session.py docstring: only the CALL answered last is replayed from the cache."""
    session = new(version)
    feed(session, [2, "c1", "Heartbeat", {}])
    session.send_result("c1", {})
    feed(session, [2, "c2", "Heartbeat", {}])
    session.send_result("c2", {})
    wire(session)
    assert feed(session, [2, "c1", "Heartbeat", {}]) == [CallReceived("c1", "Heartbeat", {})]
    assert wire(session) == []


@pytest.mark.parametrize("version", ALL)
def test_retransmission_is_not_answered_again_by_the_handler(version: OcppVersion) -> None:
    """2.1 Part 4 §4.1.4: the cached reply is the answer; the handler may not answer it too."""
    session = new(version)
    feed(session, [2, "c1", "Heartbeat", {}])
    session.send_result("c1", {})
    feed(session, [2, "c1", "Heartbeat", {}])
    with pytest.raises(LocalProtocolError):
        session.send_result("c1", {})


@pytest.mark.parametrize(
    ("version", "code"), [(V16, "GenericError")] + [(v, "RpcFrameworkError") for v in V2X]
)
def test_calls_beyond_max_inbound_calls_get_callerror(version: OcppVersion, code: str) -> None:
    """ocpp-rules.md §6 C: CALLs beyond the concurrency limit are refused with a CALLERROR."""
    session = new(version, max_inbound_calls=2)
    assert feed(session, [2, "c1", "Heartbeat", {}]) == [CallReceived("c1", "Heartbeat", {})]
    assert feed(session, [2, "c2", "Heartbeat", {}]) == [CallReceived("c2", "Heartbeat", {})]
    violation(feed(session, [2, "c3", "Heartbeat", {}]))
    assert error_reply(session)[:3] == [4, "c3", code]
    session.send_result("c1", {})
    assert feed(session, [2, "c4", "Heartbeat", {}]) == [CallReceived("c4", "Heartbeat", {})]
    assert wire(session) == [[3, "c1", {}]]


@pytest.mark.parametrize("version", ALL)
def test_refused_call_may_be_sent_again_once_a_slot_is_free(version: OcppVersion) -> None:
    """ocpp-rules.md §6 C: a refused CALL was never taken on, so its id is not in progress."""
    session = new(version, max_inbound_calls=1)
    feed(session, [2, "c1", "Heartbeat", {}])
    violation(feed(session, [2, "c2", "Heartbeat", {}]))
    session.send_result("c1", {})
    wire(session)
    assert feed(session, [2, "c2", "Heartbeat", {}]) == [CallReceived("c2", "Heartbeat", {})]


@pytest.mark.parametrize("version", ALL)
def test_answers_may_be_given_in_any_order(version: OcppVersion) -> None:
    """1.6 §4.1.4: replies are matched by id, so the order of answers is free."""
    session = new(version)
    feed(session, [2, "c1", "Heartbeat", {}])
    feed(session, [2, "c2", "StatusNotification", {}])
    session.send_result("c2", {})
    session.send_error("c1", ErrorCode.INTERNAL_ERROR)
    assert wire(session) == [[3, "c2", {}], [4, "c1", "InternalError", "", {}]]


@pytest.mark.parametrize("version", ALL)
def test_answering_an_unknown_call_raises_local_protocol_error(version: OcppVersion) -> None:
    """1.6 §4.1.4: a CALLRESULT/CALLERROR must answer a CALL the peer actually sent."""
    session = new(version)
    with pytest.raises(LocalProtocolError):
        session.send_result("nope", {})
    with pytest.raises(LocalProtocolError):
        session.send_error("nope", ErrorCode.GENERIC_ERROR)
    assert wire(session) == []


@pytest.mark.parametrize("version", ALL)
def test_answering_a_call_twice_raises_and_writes_nothing(version: OcppVersion) -> None:
    """1.6 §4.1.4: one CALL gets exactly one reply."""
    session = new(version)
    feed(session, [2, "c1", "Heartbeat", {}])
    session.send_result("c1", {})
    assert wire(session) == [[3, "c1", {}]]
    with pytest.raises(LocalProtocolError):
        session.send_error("c1", ErrorCode.GENERIC_ERROR)
    assert wire(session) == []


# ================================================================== outbound CALLs


@pytest.mark.parametrize("version", ALL)
def test_three_calls_put_exactly_one_on_the_wire(version: OcppVersion) -> None:
    """2.0.1 Part 4 §4.1.1 SHALL NOT send a CALL before the previous one is answered (test 37)."""
    session = new(version)
    ids = [
        session.send_call(action, {}, now=0.0) for action in ("Reset", "GetVariables", "ClearCache")
    ]
    assert ids == ["m1", "m2", "m3"]
    assert wire(session) == [[2, "m1", "Reset", {}]]
    assert (session.outstanding_call, session.queued_calls) == ("m1", 2)

    assert feed(session, [3, "m1", {"status": "Accepted"}], now=1.0) == [
        ResultReceived("m1", "Reset", {"status": "Accepted"})
    ]
    assert wire(session) == [[2, "m2", "GetVariables", {}]]
    assert (session.outstanding_call, session.queued_calls) == ("m2", 1)

    assert feed(session, [4, "m2", "NotSupported", "", {}], now=2.0) == [
        ErrorReceived("m2", "GetVariables", ErrorCode.NOT_SUPPORTED, "NotSupported", "")
    ]
    assert wire(session) == [[2, "m3", "ClearCache", {}]]

    assert feed(session, [3, "m3", {}], now=3.0) == [ResultReceived("m3", "ClearCache", {})]
    assert wire(session) == []
    assert (session.outstanding_call, session.queued_calls) == (None, 0)


@pytest.mark.parametrize("version", ALL)
def test_timeout_puts_the_next_queued_call_on_the_wire(version: OcppVersion) -> None:
    """1.6 §4.1.1: a CALL that timed out no longer blocks the next one."""
    session = new(version, call_timeout=30.0)
    session.send_call("Reset", {}, now=0.0)
    session.send_call("ClearCache", {}, now=5.0)
    wire(session)
    assert session.next_deadline() == 30.0
    assert session.expire(29.999) == []
    assert wire(session) == []
    assert session.expire(30.0) == [CallTimedOut("m1", "Reset")]
    assert wire(session) == [[2, "m2", "ClearCache", {}]]
    assert session.next_deadline() == 60.0
    assert session.expire(30.0) == []


@pytest.mark.parametrize("version", ALL)
def test_next_queued_call_gets_its_deadline_when_it_goes_on_the_wire(
    version: OcppVersion,
) -> None:
    """1.6 §4.1.1: the timeout interval runs from when the CALL was sent, not when queued."""
    session = new(version, call_timeout=10.0)
    session.send_call("Reset", {}, now=0.0)
    session.send_call("ClearCache", {}, now=1.0)
    feed(session, [3, "m1", {}], now=7.0)
    assert session.next_deadline() == 17.0


@pytest.mark.parametrize("version", ALL)
def test_next_deadline_is_none_when_nothing_is_outstanding(version: OcppVersion) -> None:
    """1.6 §4.1.1: only a sent, unanswered CALL can time out."""
    session = new(version, call_timeout=12.5)
    assert session.next_deadline() is None
    assert session.expire(1e9) == []
    session.send_call("Reset", {}, now=100.0)
    assert session.next_deadline() == 112.5
    feed(session, [3, "m1", {}], now=101.0)
    assert session.next_deadline() is None


@pytest.mark.parametrize("version", ALL)
def test_full_queue_raises_outbound_queue_full(version: OcppVersion) -> None:
    """ocpp-rules.md §6 test 37: further CALLs are queued (bounded) or rejected as busy."""
    session = new(version, max_queued_calls=2)
    session.send_call("A", {}, now=0.0)
    session.send_call("B", {}, now=0.0)
    session.send_call("C", {}, now=0.0)
    with pytest.raises(OutboundQueueFull):
        session.send_call("D", {}, now=0.0)
    assert session.queued_calls == 2
    assert wire(session) == [[2, "m1", "A", {}]]
    feed(session, [3, "m1", {}])
    assert wire(session) == [[2, "m2", "B", {}]]
    feed(session, [3, "m2", {}])
    assert wire(session) == [[2, "m3", "C", {}]]
    feed(session, [3, "m3", {}])
    assert wire(session) == []


@pytest.mark.parametrize("version", ALL)
def test_zero_queue_refuses_any_call_while_one_is_outstanding(version: OcppVersion) -> None:
    """2.0.1 Part 4 §4.1.1: with no queue a second CALL is refused, never put on the wire."""
    session = new(version, max_queued_calls=0)
    session.send_call("A", {}, now=0.0)
    with pytest.raises(OutboundQueueFull):
        session.send_call("B", {}, now=0.0)
    assert wire(session) == [[2, "m1", "A", {}]]


@pytest.mark.parametrize("version", ALL)
def test_crossing_call_is_reported_while_our_call_is_outstanding(version: OcppVersion) -> None:
    """1.6 §4.1.1 NOTE: CALLs from both sides can cross; ours must not block the peer's."""
    session = with_call_outstanding(version)
    assert feed(session, [2, "c1", "StatusNotification", {"connectorId": 1}]) == [
        CallReceived("c1", "StatusNotification", {"connectorId": 1})
    ]
    session.send_result("c1", {})
    assert wire(session) == [[3, "c1", {}]]
    assert session.outstanding_call == "m1"
    assert feed(session, [3, "m1", {"status": "Accepted"}]) == [
        ResultReceived("m1", "Reset", {"status": "Accepted"})
    ]


@pytest.mark.parametrize("version", ALL)
def test_peer_call_with_the_id_of_our_call_is_a_call_not_a_reply(version: OcppVersion) -> None:
    """1.6 §4.1.4: ids are per sender; the peer's CALL "m1" is not a reply to our CALL "m1"."""
    session = with_call_outstanding(version)
    assert feed(session, [2, "m1", "Heartbeat", {}]) == [CallReceived("m1", "Heartbeat", {})]
    assert session.outstanding_call == "m1"


@pytest.mark.parametrize("version", ALL)
def test_late_reply_after_timeout_is_dropped_and_never_matched_to_a_later_call(
    version: OcppVersion,
) -> None:
    """1.6 §4.1.1 timed out; ocpp-rules.md §6 tests 31 and 39: the late reply is discarded."""
    session = new(version, call_timeout=30.0)
    session.send_call("Reset", {}, now=0.0)
    session.send_call("ClearCache", {}, now=0.0)
    wire(session)
    assert session.expire(30.0) == [CallTimedOut("m1", "Reset")]
    assert wire(session) == [[2, "m2", "ClearCache", {}]]
    event = violation(feed(session, [3, "m1", {"status": "Accepted"}], now=31.0))
    assert "late" in event.description
    violation(feed(session, [4, "m1", "GenericError", "", {}], now=31.0))
    assert wire(session) == []
    assert session.outstanding_call == "m2"
    assert feed(session, [3, "m2", {}], now=32.0) == [ResultReceived("m2", "ClearCache", {})]


@pytest.mark.parametrize("version", ALL)
def test_late_reply_with_nothing_outstanding_is_dropped(version: OcppVersion) -> None:
    """ocpp-rules.md §6 test 31: a reply after the timeout is logged, never answered."""
    session = with_call_outstanding(version, call_timeout=1.0)
    session.expire(1.0)
    violation(feed(session, [3, "m1", {}], now=2.0))
    assert wire(session) == []
    assert session.outstanding_call is None


@pytest.mark.parametrize("version", ALL)
@pytest.mark.parametrize(
    "frame", [[3, "zzz", {}], [4, "zzz", "GenericError", "", {}], [3, "m2", {}]]
)
def test_reply_with_unknown_id_is_dropped(version: OcppVersion, frame: list[Any]) -> None:
    """ocpp-rules.md §6 test 31: an unknown id is ignored and logged, never answered."""
    session = with_call_outstanding(version)
    event = violation(feed(session, frame))
    assert "unknown" in event.description
    assert wire(session) == []
    assert session.outstanding_call == "m1"


@pytest.mark.parametrize("version", ALL)
def test_second_reply_to_an_answered_call_is_dropped(version: OcppVersion) -> None:
    """1.6 §4.1.1: a CALL is responded to once; a duplicate reply matches nothing."""
    session = with_call_outstanding(version)
    feed(session, [3, "m1", {}])
    violation(feed(session, [3, "m1", {}]))
    assert wire(session) == []


@pytest.mark.parametrize("version", ALL)
def test_cancel_call_withdraws_a_queued_call(version: OcppVersion) -> None:
    """session.cancel_call: a queued CALL never reaches the wire once withdrawn."""
    session = new(version)
    for action in ("A", "B", "C"):
        session.send_call(action, {}, now=0.0)
    wire(session)
    assert session.cancel_call("m2") is True
    assert session.queued_calls == 1
    assert session.cancel_call("m2") is False
    feed(session, [3, "m1", {}])
    assert wire(session) == [[2, "m3", "C", {}]]


@pytest.mark.parametrize("version", ALL)
def test_cancel_call_cannot_withdraw_the_call_on_the_wire_or_an_unknown_one(
    version: OcppVersion,
) -> None:
    """1.6 §4.1.1: a sent CALL stays outstanding until answered or timed out."""
    session = new(version)
    assert session.cancel_call("m1") is False
    session.send_call("A", {}, now=0.0)
    assert session.cancel_call("m1") is False
    assert session.cancel_call("nope") is False
    session.send_call("B", {}, now=0.0)
    assert session.cancel_call("nope") is False
    assert (session.outstanding_call, session.queued_calls) == ("m1", 1)


# ============================================================ 2.1 SEND and CALLRESULTERROR out


def test_send_message_goes_out_at_once_even_while_a_call_is_outstanding() -> None:
    """2.1 Part 4 §4.1.1 NOTE and §4.2.4: a SEND need not wait for the outstanding CALL."""
    session = with_call_outstanding(V21)
    assert session.send_message("NotifyPeriodicEventStream", {"id": 1}) == "m2"
    assert wire(session) == [[6, "m2", "NotifyPeriodicEventStream", {"id": 1}]]
    assert session.outstanding_call == "m1"
    assert session.queued_calls == 0


def test_send_message_is_never_outstanding_and_has_no_deadline() -> None:
    """2.1 Part 4 §4.2.4: a SEND does not expect a response, so it cannot time out."""
    session = new(V21)
    session.send_message("NotifyPeriodicEventStream", {})
    assert session.outstanding_call is None
    assert session.next_deadline() is None
    session.send_call("Reset", {}, now=0.0)
    assert wire(session) == [
        [6, "m1", "NotifyPeriodicEventStream", {}],
        [2, "m2", "Reset", {}],
    ]


@pytest.mark.parametrize("version", NOT_21)
def test_send_message_exists_only_in_21(version: OcppVersion) -> None:
    """2.1 Part 4 §4.2.4 "(New in OCPP 2.1)": no SEND in 1.6 or 2.0.1."""
    session = new(version)
    with pytest.raises(LocalProtocolError):
        session.send_message("NotifyPeriodicEventStream", {})
    assert wire(session) == []


def test_send_result_error_writes_a_type_5_frame() -> None:
    """2.1 Part 4 §4.2.3: CALLRESULTERROR id equals that of the CALLRESULT it rejects."""
    session = new(V21)
    session.send_result_error("r1", ErrorCode.FORMAT_VIOLATION, "x" * 300)
    assert wire(session) == [[5, "r1", "FormatViolation", "x" * 255, {}]]


@pytest.mark.parametrize("version", NOT_21)
def test_send_result_error_exists_only_in_21(version: OcppVersion) -> None:
    """2.1 Part 4 §4.2.3 "(Updated in OCPP 2.1)": no CALLRESULTERROR in 1.6 or 2.0.1."""
    session = new(version)
    with pytest.raises(LocalProtocolError):
        session.send_result_error("r1", ErrorCode.FORMAT_VIOLATION)
    assert wire(session) == []


# ================================================================== bad-frame streak


@pytest.mark.parametrize("version", ALL)
def test_violation_becomes_fatal_after_max_bad_frames_in_a_row(version: OcppVersion) -> None:
    """ocpp-rules.md §6 test 17: after N consecutive bad frames the connection is closed (1002)."""
    session = new(version, max_bad_frames=3)
    violation(session.receive("bad", 0.0))
    violation(session.receive("bad", 0.0))
    violation(session.receive("bad", 0.0), fatal=True)
    violation(session.receive("bad", 0.0), fatal=True)


@pytest.mark.parametrize("version", ALL)
def test_good_frame_resets_the_bad_frame_streak(version: OcppVersion) -> None:
    """ocpp-rules.md §1.5 REC: never close on a single bad frame; only a streak is fatal."""
    session = new(version, max_bad_frames=2)
    violation(session.receive("bad", 0.0))
    feed(session, [2, "c1", "Heartbeat", {}])
    violation(session.receive("bad", 0.0))
    violation(session.receive("bad", 0.0), fatal=True)
    feed(session, [2, "c2", "Heartbeat", {}])
    violation(session.receive("bad", 0.0))


@pytest.mark.parametrize("version", ALL)
def test_default_streak_is_ten_bad_frames(version: OcppVersion) -> None:
    """session.RpcSession: max_bad_frames defaults to 10."""
    session = new(version)
    for _ in range(9):
        violation(session.receive("[]", 0.0))
    violation(session.receive("[]", 0.0), fatal=True)


@pytest.mark.parametrize(
    ("version", "frame"),
    [(v, [7, "u1", "X", {}]) for v in ALL]
    + [(v, frame) for v in NOT_21 for frame in ([6, "u1", "X", {}], [5, "u1", "E", "", {}])],
)
def test_unknown_message_types_count_towards_the_streak(
    version: OcppVersion, frame: list[Any]
) -> None:
    """1.6 §4.1.3; 2.0.1 Part 4 §4.4: an unknown type is not a valid message, whatever the reply."""
    session = new(version, max_bad_frames=2)
    violation(session.receive("bad", 0.0))
    violation(feed(session, frame), fatal=True)


def test_send_and_callresulterror_reset_the_streak_in_21() -> None:
    """2.1 Part 4 §4.1.3: types 5 and 6 are valid messages in 2.1."""
    session = new(V21, max_bad_frames=2)
    violation(session.receive("bad", 0.0))
    feed(session, [6, "s1", "NotifyPeriodicEventStream", {}])
    violation(session.receive("bad", 0.0))
    violation(feed(session, [5, "r1", "GenericError", "", {}]))
    violation(session.receive("bad", 0.0))


@pytest.mark.parametrize("version", ALL)
def test_malformed_replies_count_towards_the_streak(version: OcppVersion) -> None:
    """ocpp-rules.md §6 test 17 and 24: a malformed reply is unanswered but still a bad frame."""
    session = new(version, max_bad_frames=2)
    violation(feed(session, [3, "m1"]))
    violation(feed(session, [4, "m1"]), fatal=True)
    assert wire(session) == []


@pytest.mark.parametrize("version", ALL)
def test_binary_message_gets_callerror_with_minus_one(version: OcppVersion) -> None:
    """1.6 §4.1.2; ocpp-rules.md §6 test 19: a binary frame is never passed to handlers."""
    session = new(version)
    violation(session.receive_binary())
    assert error_reply(session)[:3] == [4, "-1", RPC_FRAMEWORK[version]]


@pytest.mark.parametrize("version", ALL)
def test_binary_messages_count_towards_the_streak(version: OcppVersion) -> None:
    """ocpp-rules.md §6 tests 17 and 19: binary frames are bad frames like any other."""
    session = new(version, max_bad_frames=2)
    violation(session.receive("bad", 0.0))
    violation(session.receive_binary(), fatal=True)


@pytest.mark.parametrize("version", ALL)
def test_closed_session_ignores_binary_messages(version: OcppVersion) -> None:
    """session.close: after the socket is gone nothing is processed or sent."""
    session = new(version)
    session.close()
    assert session.receive_binary() == []
    assert wire(session) == []


# ================================================================== close


@pytest.mark.parametrize("version", ALL)
def test_close_aborts_the_outstanding_and_the_queued_calls(version: OcppVersion) -> None:
    """1.6 §4.1.1: a CALL on the wire has an unknown outcome; queued ones were never sent."""
    session = new(version)
    for action in ("A", "B", "C"):
        session.send_call(action, {}, now=0.0)
    assert session.close() == [
        CallAborted("m1", "A", sent=True),
        CallAborted("m2", "B", sent=False),
        CallAborted("m3", "C", sent=False),
    ]
    assert session.closed
    assert (session.outstanding_call, session.queued_calls) == (None, 0)
    assert session.next_deadline() is None
    assert session.expire(1e9) == []


@pytest.mark.parametrize("version", ALL)
def test_close_twice_reports_nothing_the_second_time(version: OcppVersion) -> None:
    """session.close: each CALL is aborted exactly once."""
    session = with_call_outstanding(version)
    assert session.close() == [CallAborted("m1", "Reset", sent=True)]
    assert session.close() == []


@pytest.mark.parametrize("version", ALL)
def test_close_with_nothing_pending_reports_nothing(version: OcppVersion) -> None:
    """session.close: no CSMS-initiated CALL, nothing to abort."""
    session = new(version)
    assert not session.closed
    assert session.close() == []
    assert session.closed


@pytest.mark.parametrize("version", ALL)
def test_closed_session_ignores_input_and_refuses_calls(version: OcppVersion) -> None:
    """session.close: after the socket is gone nothing is processed or sent."""
    session = with_call_outstanding(version)
    session.close()
    assert feed(session, [2, "c1", "Heartbeat", {}]) == []
    assert feed(session, [3, "m1", {}]) == []
    assert session.receive("garbage", 0.0) == []
    with pytest.raises(LocalProtocolError):
        session.send_call("Reset", {}, now=0.0)
    assert wire(session) == []


def test_closed_21_session_refuses_send_messages() -> None:
    """2.1 Part 4 §4.2.4: a SEND also needs an open connection."""
    session = new(V21)
    session.close()
    with pytest.raises(LocalProtocolError):
        session.send_message("NotifyPeriodicEventStream", {})


# ================================================================== output handling


@pytest.mark.parametrize("version", ALL)
def test_data_to_send_returns_frames_in_order_and_forgets_them(version: OcppVersion) -> None:
    """1.6 §4.1.1: frames are written in the order the session produced them."""
    session = new(version)
    feed(session, [2, "c1", "Heartbeat", {}])
    session.send_call("Reset", {}, now=0.0)
    session.receive("bad", 0.0)
    session.send_result("c1", {})
    frames = wire(session)
    assert [frame[:3] for frame in frames] == [
        [2, "m1", "Reset"],
        [4, "-1", RPC_FRAMEWORK[version]],
        [3, "c1", {}],
    ]
    assert frames[1][3].startswith("bad frame: not valid JSON")
    assert session.data_to_send() == []


@pytest.mark.parametrize("version", ALL)
def test_session_is_driven_only_by_the_time_it_is_given(version: OcppVersion) -> None:
    """session.py docstring: no clock of its own; deadlines follow the caller's ``now``."""
    session = new(version, call_timeout=5.0)
    session.send_call("Reset", {}, now=-100.0)
    assert session.next_deadline() == -95.0
    assert session.expire(-95.0) == [CallTimedOut("m1", "Reset")]


# ================================================================== pathological input


def pathological_inputs() -> list[tuple[str, str | bytes]]:
    deep = "[" * 10_000 + "]" * 10_000
    return [
        ("nesting 10,000", deep),
        ("nesting 10,000 in payload", '[2,"p1","DataTransfer",{"a":' + deep + "}]"),
        ("1e999 in payload", '[2,"p1","DataTransfer",{"v":1e999}]'),
        ("-1e999 as type", '[-1e999,"p1","DataTransfer",{}]'),
        ("10**30 in payload", f'[2,"p1","DataTransfer",{{"v":{10**30}}}]'),
        ("10**30 as type", f'[{10**30},"p1","DataTransfer",{{}}]'),
        ("2**64-1 as type", '[18446744073709551615,"p1","DataTransfer",{}]'),
        ("100k-element frame", json.dumps([2, "p1", "Heartbeat", {}, *range(100_000)])),
        ("100k-element reply", json.dumps([3, "m1", *range(100_000)])),
        ("100k-element payload", json.dumps([2, "p1", "DataTransfer", {"d": [0] * 100_000}])),
        ("100k keys", json.dumps([2, "p1", "DataTransfer", {str(i): i for i in range(100_000)}])),
        ("1 MB id", json.dumps([2, "x" * 1_000_000, "Heartbeat", {}])),
        ("invalid UTF-8", b'[2,"\xff","Heartbeat",{}]'),
        ("lone surrogate", '[2,"\ud800","Heartbeat",{}]'),
        ("escaped lone surrogate", '[2,"p1","DataTransfer",{"v":"\\udc00"}]'),
        ("NUL byte", '[2,"p\\u0000","Heartbeat",{}]'),
        ("BOM", '\ufeff[2,"p1","Heartbeat",{}]'),
        ("NaN", '[2,"p1","DataTransfer",{"v":NaN}]'),
        ("trailing garbage", '[2,"p1","Heartbeat",{}] x'),
        ("two frames", '[2,"p1","Heartbeat",{}][2,"p2","Heartbeat",{}]'),
    ]


@pytest.mark.parametrize("version", ALL)
@pytest.mark.parametrize(("name", "data"), pathological_inputs(), ids=lambda v: str(v)[:30])
def test_pathological_json_never_raises_out_of_receive(
    version: OcppVersion, name: str, data: str | bytes
) -> None:
    """ocpp-rules.md §6 test 33: bounded work, a CALLERROR or a report, never an exception."""
    session = with_call_outstanding(version)
    events = session.receive(data, 1.0)
    assert events, name
    for frame in wire(session):
        assert frame[0] in (3, 4)
        if frame[0] == 4:
            assert len(frame) == 5
            assert frame[2] in TABLE[version]


@pytest.mark.parametrize("version", ALL)
def test_huge_integer_payload_is_delivered_as_a_number(version: OcppVersion) -> None:
    """ocpp-rules.md §6 test 33: 10**30 is valid JSON; the schema layer decides about it."""
    session = new(version)
    events = session.receive(f'[2,"p1","DataTransfer",{{"v":{10**30}}}]', 0.0)
    assert events == [CallReceived("p1", "DataTransfer", {"v": 1e30})]


@pytest.mark.parametrize("version", ALL)
def test_deeply_nested_call_gets_callerror_with_minus_one(version: OcppVersion) -> None:
    """2.0.1 Part 4 §4.2.3: JSON that cannot be parsed has no readable id, so "-1"."""
    session = new(version)
    deep = "[" * 10_000 + "]" * 10_000
    violation(session.receive('[2,"p1","DataTransfer",{"a":' + deep + "}]", 0.0))
    assert error_reply(session)[:3] == [4, "-1", RPC_FRAMEWORK[version]]


@pytest.mark.parametrize("version", ALL)
def test_hundred_thousand_element_call_gets_callerror_with_its_id(version: OcppVersion) -> None:
    """1.6 §4.2.1: a CALL has 4 elements; the readable id is echoed."""
    session = new(version)
    violation(feed(session, [2, "p1", "Heartbeat", {}, *range(100_000)]))
    assert error_reply(session)[:3] == [4, "p1", RPC_FRAMEWORK[version]]
