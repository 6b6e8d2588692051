"""Unit tests of csms.rpc.frames: parsing and serialising OCPP-J frames, no session involved."""

from __future__ import annotations

import json
from typing import Any

import pytest

from csms.rpc.frames import (
    MAX_ERROR_DESCRIPTION,
    MAX_MESSAGE_ID_LENGTH,
    UNREADABLE_ID,
    BadFrame,
    BadFrameKind,
    Call,
    CallError,
    CallResult,
    CallResultError,
    MessageType,
    Send,
    encode_call,
    encode_error,
    encode_result,
    encode_send,
    parse_frame,
)


def parse(frame: Any) -> Any:
    """Serialise ``frame`` with the stdlib json module and parse it."""
    return parse_frame(json.dumps(frame))


# One well-formed frame of each MessageTypeId, the MessageId at index 1.
WELL_FORMED: dict[int, list[Any]] = {
    2: [2, "id", "Heartbeat", {}],
    3: [3, "id", {}],
    4: [4, "id", "GenericError", "", {}],
    5: [5, "id", "GenericError", "", {}],
    6: [6, "id", "NotifyPeriodicEventStream", {}],
}


def with_id(mtype: int, message_id: Any) -> list[Any]:
    """The well-formed frame of ``mtype`` with its MessageId replaced."""
    frame = list(WELL_FORMED[mtype])
    frame[1] = message_id
    return frame


def bad_text(text: str | bytes) -> BadFrame:
    """Parse raw ``text`` and insist it is a BadFrame."""
    result = parse_frame(text)
    assert isinstance(result, BadFrame), result
    return result


def bad(frame: Any) -> BadFrame:
    """Serialise ``frame`` with json, parse it and insist it is a BadFrame."""
    return bad_text(json.dumps(frame))


# ---------------------------------------------------------------- constants


def test_message_type_numbers_match_the_spec_tables() -> None:
    """1.6 §4.1.3 Table 2; 2.1 Part 4 §4.1.3 Table 3: CALL 2 … SEND 6."""
    assert {t.name: int(t) for t in MessageType} == {
        "CALL": 2,
        "CALL_RESULT": 3,
        "CALL_ERROR": 4,
        "CALL_RESULT_ERROR": 5,
        "SEND": 6,
    }


def test_limits_are_the_spec_field_sizes() -> None:
    """1.6 Table 3 / 2.0.1 Part 4 Table 4 (string[36]); Table 7 errorDescription string[255]."""
    assert MAX_MESSAGE_ID_LENGTH == 36
    assert MAX_ERROR_DESCRIPTION == 255
    assert UNREADABLE_ID == "-1"


# ---------------------------------------------------------------- well-formed frames


def test_call_parses_into_call() -> None:
    """1.6 §4.2.1; 2.0.1 Part 4 §4.2.1: a CALL is [2, id, action, payload]."""
    assert parse([2, "19223201", "BootNotification", {"reason": "PowerUp"}]) == Call(
        "19223201", "BootNotification", {"reason": "PowerUp"}
    )


def test_callresult_parses_into_callresult() -> None:
    """1.6 §4.2.2; 2.0.1 Part 4 §4.2.2: a CALLRESULT is [3, id, payload]."""
    assert parse([3, "19223201", {"status": "Accepted"}]) == CallResult(
        "19223201", {"status": "Accepted"}
    )


def test_callerror_parses_into_callerror() -> None:
    """1.6 §4.2.3; 2.0.1 Part 4 §4.2.3: a CALLERROR is [4, id, code, description, details]."""
    assert parse([4, "162376037", "NotSupported", "nope", {"a": 1}]) == CallError(
        "162376037", "NotSupported", "nope", {"a": 1}
    )


def test_callresulterror_parses_into_callresulterror() -> None:
    """2.1 Part 4 §4.2.3: a CALLRESULTERROR is [5, id, code, description, details]."""
    assert parse([5, "r1", "FormatViolation", "bad", {}]) == CallResultError(
        "r1", "FormatViolation", "bad", {}
    )


def test_send_parses_into_send() -> None:
    """2.1 Part 4 §4.2.4: a SEND is [6, id, action, payload]."""
    payload = {"id": 123, "pending": 0, "data": [{"t": "2024-08-27T12:30:40Z", "v": "230.4"}]}
    assert parse([6, "19223201", "NotifyPeriodicEventStream", payload]) == Send(
        "19223201", "NotifyPeriodicEventStream", payload
    )


def test_bytes_input_is_parsed_like_text() -> None:
    """1.6 §4.1.2; 2.0.1 Part 4 §4.1.2: the frame is UTF-8 encoded JSON."""
    assert parse_frame('[2,"é1","Heartbeat",{}]'.encode()) == Call("é1", "Heartbeat", {})


def test_callerror_with_non_object_details_is_accepted_with_empty_details() -> None:
    """2.0.1 Part 4 §4.2.3: errorDetails is an object; a peer's sloppy details are dropped."""
    assert parse([4, "m1", "GenericError", "", None]) == CallError("m1", "GenericError", "", {})
    assert parse([5, "m1", "GenericError", "", "x"]) == CallResultError(
        "m1", "GenericError", "", {}
    )


def test_empty_action_string_is_still_a_call() -> None:
    """1.6 §4.2.1: Action is a string; an unknown action is the message layer's NotImplemented."""
    assert parse([2, "a", "", {}]) == Call("a", "", {})


@pytest.mark.parametrize("mtype", sorted(WELL_FORMED))
def test_every_message_type_parses_without_bad_frame(mtype: int) -> None:
    """2.1 Part 4 §4.1.3 Table 3: types 2 to 6 are all frames the parser knows."""
    frame = parse(WELL_FORMED[mtype])
    assert not isinstance(frame, BadFrame)
    assert frame.message_id == "id"


# ---------------------------------------------------------------- not an RPC frame


@pytest.mark.parametrize("text", ["hello", "", "[2,", "{", "NaN", "[NaN]", "\ufeff[2]"])
def test_text_that_is_not_json_is_not_json(text: str) -> None:
    """1.6 §4.1.2; 2.0.1 Part 4 §4.2.3: invalid JSON is a corrupt message, id unreadable ("-1")."""
    frame = bad_text(text)
    assert frame.kind is BadFrameKind.NOT_JSON
    assert frame.message_type is None
    assert frame.reply_id == "-1"
    assert len(frame.detail) <= 100


def test_invalid_utf8_bytes_are_not_json() -> None:
    """1.6 §4.1.2; 2.0.1 Part 4 §4.1.2: the whole message MUST be valid UTF-8."""
    frame = bad_text(b'[2,"\xff\xfe","Heartbeat",{}]')
    assert frame.kind is BadFrameKind.NOT_JSON
    assert frame.reply_id == "-1"


def test_lone_surrogate_in_text_is_not_json() -> None:
    """1.6 §4.1.2: text that cannot be encoded as UTF-8 is not a valid frame."""
    assert bad_text('[2,"\ud800","Heartbeat",{}]').kind is BadFrameKind.NOT_JSON
    assert bad_text('[2,"\\ud800","Heartbeat",{}]').kind is BadFrameKind.NOT_JSON


@pytest.mark.parametrize("value", [{"a": 1}, "text", 42, None, True, []])
def test_json_that_is_not_a_non_empty_array_is_not_array(value: Any) -> None:
    """1.6 §4.2; 2.0.1 Part 4 §4.2: every frame is a JSON array starting with MessageTypeId."""
    frame = bad(value)
    assert frame.kind is BadFrameKind.NOT_ARRAY
    assert (frame.message_type, frame.reply_id) == (None, "-1")


@pytest.mark.parametrize("mtype", ["2", 2.0, 2.5, None, True, False, [2], {"t": 2}])
def test_message_type_id_that_is_not_an_integer_is_bad_type(mtype: Any) -> None:
    """2.0.1 Part 4 Table 5: MessageTypeId is an integer; the readable id is echoed."""
    frame = bad([mtype, "id1", "Heartbeat", {}])
    assert frame.kind is BadFrameKind.BAD_TYPE
    assert (frame.message_type, frame.reply_id) == (None, "id1")


def test_bad_type_without_readable_id_replies_minus_one() -> None:
    """2.0.1 Part 4 §4.2.3: when the MessageId cannot be read the reply carries "-1"."""
    assert bad(["2"]).reply_id == "-1"
    assert bad(["2", 7]).reply_id == "-1"


@pytest.mark.parametrize("mtype", [0, 1, 7, 8, -2, 99, 2**63])
def test_unknown_message_type_is_reported_with_its_number(mtype: int) -> None:
    """1.6 §4.1.3; 2.1 Part 4 §4.1.3: a number outside the table is an unknown message type."""
    frame = bad([mtype, "u1", "X", {}])
    assert frame.kind is BadFrameKind.UNKNOWN_TYPE
    assert (frame.message_type, frame.reply_id, frame.detail) == (mtype, "u1", str(mtype))


def test_unknown_message_type_alone_replies_minus_one() -> None:
    """2.0.1 Part 4 §4.2.3: no readable MessageId means "-1"."""
    frame = bad([7])
    assert (frame.kind, frame.message_type, frame.reply_id) == (BadFrameKind.UNKNOWN_TYPE, 7, "-1")


@pytest.mark.parametrize("mtype", [2, 3, 4, 5, 6])
@pytest.mark.parametrize("message_id", [123, None, "", 1.5, ["a"], {"a": 1}, True])
def test_message_id_that_is_not_a_non_empty_string_is_bad_id(mtype: int, message_id: Any) -> None:
    """1.6 Table 3; 2.0.1 Part 4 Table 4: messageId is a string of at most 36 characters."""
    frame = bad(with_id(mtype, message_id))
    assert frame.kind is BadFrameKind.BAD_ID
    assert (frame.message_type, frame.reply_id) == (mtype, "-1")


def test_missing_message_id_is_bad_id() -> None:
    """2.0.1 Part 4 §4.2.3: a frame without MessageId is answered with "-1"."""
    frame = bad([2])
    assert (frame.kind, frame.message_type, frame.reply_id) == (BadFrameKind.BAD_ID, 2, "-1")


def test_message_id_of_36_characters_is_accepted() -> None:
    """1.6 Table 3; 2.0.1 Part 4 Table 4: 36 characters (a UUID) is the maximum allowed."""
    mid = "x" * 36
    assert parse([2, mid, "Heartbeat", {}]) == Call(mid, "Heartbeat", {})
    assert parse([3, mid, {}]) == CallResult(mid, {})
    uuid = "0f8fad5b-d9cb-469f-a165-70867728950e"
    assert parse([2, uuid, "Heartbeat", {}]) == Call(uuid, "Heartbeat", {})


def test_message_id_of_36_non_ascii_characters_is_accepted() -> None:
    """2.0.1 Part 4 Table 4: the limit counts characters, not UTF-8 bytes."""
    mid = "é" * 36
    assert parse_frame(json.dumps([2, mid, "Heartbeat", {}], ensure_ascii=False)) == Call(
        mid, "Heartbeat", {}
    )


def test_message_id_of_37_characters_is_bad_id_and_not_echoed() -> None:
    """2.0.1 Part 4 Table 7: the reply's id is string[36], so an over-long id becomes "-1"."""
    frame = bad([2, "x" * 37, "Heartbeat", {}])
    assert (frame.kind, frame.message_type, frame.reply_id) == (BadFrameKind.BAD_ID, 2, "-1")
    assert bad([2, "x" * 1_000_000, "Heartbeat", {}]).reply_id == "-1"


@pytest.mark.parametrize("mtype", [2, 6])
def test_null_payload_is_an_empty_payload(mtype: int) -> None:
    """1.6 §4.2.1: with no payload, null is a possible notation besides the preferred {}."""
    frame = parse([mtype, "id", "Heartbeat", None])
    assert frame.payload == {}  # type: ignore[union-attr]
    assert parse([3, "id", None]) == CallResult("id", {})


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        ([2, "id"], 2),
        ([2, "id", "Heartbeat"], 3),
        ([2, "id", "Heartbeat", {}, {}], 5),
        ([6, "id", "NotifyPeriodicEventStream"], 3),
        ([6, "id", "NotifyPeriodicEventStream", {}, {}], 5),
    ],
)
def test_call_and_send_need_exactly_four_elements(frame: list[Any], expected: int) -> None:
    """1.6 §4.2.1 "always consists of 4 elements"; 2.1 Part 4 §4.2.4 (SEND likewise)."""
    result = bad(frame)
    assert result.kind is BadFrameKind.BAD_LENGTH
    assert (result.message_type, result.reply_id) == (frame[0], "id")
    assert result.detail == f"{expected} elements, expected 4"


@pytest.mark.parametrize("frame", [[3, "id"], [3, "id", {}, {}]])
def test_callresult_needs_exactly_three_elements(frame: list[Any]) -> None:
    """1.6 §4.2.2; 2.0.1 Part 4 §4.2.2: a CALLRESULT always consists of 3 elements."""
    result = bad(frame)
    assert (result.kind, result.message_type, result.reply_id) == (
        BadFrameKind.BAD_LENGTH,
        3,
        "id",
    )
    assert result.detail.endswith("expected 3")


@pytest.mark.parametrize("mtype", [4, 5])
@pytest.mark.parametrize(
    "tail", [[], ["GenericError"], ["GenericError", ""], ["GenericError", "", {}, {}]]
)
def test_callerror_and_callresulterror_need_exactly_five_elements(
    mtype: int, tail: list[Any]
) -> None:
    """1.6 §4.2.3; 2.1 Part 4 §4.2.3: CALLERROR and CALLRESULTERROR always have 5 elements."""
    result = bad([mtype, "id", *tail])
    assert (result.kind, result.message_type, result.reply_id) == (
        BadFrameKind.BAD_LENGTH,
        mtype,
        "id",
    )
    assert result.detail.endswith("expected 5")


@pytest.mark.parametrize("mtype", [2, 6])
@pytest.mark.parametrize("action", [5, None, {}, [], True])
def test_action_that_is_not_a_string_is_bad_action(mtype: int, action: Any) -> None:
    """2.0.1 Part 4 Table 5: Action is a case-sensitive string."""
    result = bad([mtype, "id", action, {}])
    assert (result.kind, result.message_type, result.reply_id) == (
        BadFrameKind.BAD_ACTION,
        mtype,
        "id",
    )


@pytest.mark.parametrize("payload", [[], "x", 1, 1.5, True])
@pytest.mark.parametrize("mtype", [2, 6])
def test_call_and_send_payload_must_be_an_object(mtype: int, payload: Any) -> None:
    """2.0.1 Part 4 §4.1.5: the payload of a message is a JSON object."""
    result = bad([mtype, "id", "Heartbeat", payload])
    assert (result.kind, result.message_type, result.reply_id) == (
        BadFrameKind.BAD_PAYLOAD,
        mtype,
        "id",
    )


@pytest.mark.parametrize("payload", [[], "x", 1])
def test_callresult_payload_must_be_an_object(payload: Any) -> None:
    """2.0.1 Part 4 §4.1.5 and §4.2.2: the CALLRESULT payload is a JSON object."""
    result = bad([3, "id", payload])
    assert (result.kind, result.message_type, result.reply_id) == (
        BadFrameKind.BAD_PAYLOAD,
        3,
        "id",
    )


@pytest.mark.parametrize("mtype", [4, 5])
@pytest.mark.parametrize(
    ("code", "description"), [(5, ""), (None, ""), ("GenericError", None), ("GenericError", 3)]
)
def test_error_code_and_description_must_be_strings(
    mtype: int, code: Any, description: Any
) -> None:
    """2.0.1 Part 4 Table 7: errorCode and errorDescription are strings."""
    result = bad([mtype, "id", code, description, {}])
    assert (result.kind, result.message_type, result.reply_id) == (
        BadFrameKind.BAD_ERROR_FIELDS,
        mtype,
        "id",
    )


# ---------------------------------------------------------------- pathological JSON


def test_nesting_depth_ten_thousand_is_not_json_and_does_not_raise() -> None:
    """ocpp-rules.md §6 test 33: deep nesting is rejected with bounded work."""
    text = '[2,"d1","DataTransfer",{"a":' + "[" * 10_000 + "]" * 10_000 + "}]"
    frame = bad_text(text)
    assert (frame.kind, frame.reply_id) == (BadFrameKind.NOT_JSON, "-1")
    assert bad_text("[" * 10_000 + "]" * 10_000).kind is BadFrameKind.NOT_JSON


@pytest.mark.parametrize("number", ["1e999", "-1e999"])
def test_number_overflowing_a_double_is_not_json(number: str) -> None:
    """ocpp-rules.md §6 test 33: huge numbers never raise out of the parser."""
    assert bad_text(f'[2,"n1","DataTransfer",{{"v":{number}}}]').kind is BadFrameKind.NOT_JSON


def test_huge_integer_in_payload_is_read_as_a_number() -> None:
    """ocpp-rules.md §6 test 33: 10**30 parses (as a float) and is left to schema validation."""
    frame = parse_frame(f'[2,"n1","DataTransfer",{{"v":{10**30}}}]')
    assert frame == Call("n1", "DataTransfer", {"v": 1e30})


def test_huge_integer_message_type_is_bad_type() -> None:
    """2.0.1 Part 4 Table 5: a MessageTypeId beyond 64 bits is not an integer we can read."""
    frame = bad_text(f'[{10**30},"n1","Heartbeat",{{}}]')
    assert (frame.kind, frame.reply_id) == (BadFrameKind.BAD_TYPE, "n1")


def test_hundred_thousand_element_frame_is_bad_length() -> None:
    """ocpp-rules.md §6 test 33: a 100k-element array is parsed once and rejected by length."""
    frame = bad([2, "big", "Heartbeat", {}, *range(100_000)])
    assert (frame.kind, frame.reply_id) == (BadFrameKind.BAD_LENGTH, "big")
    assert frame.detail == "100004 elements, expected 4"


def test_hundred_thousand_element_array_inside_payload_is_a_call() -> None:
    """ocpp-rules.md §1.8: OCPP-J sets no frame size; a large but valid payload is a CALL."""
    frame = parse([2, "big", "DataTransfer", {"data": list(range(100_000))}])
    assert isinstance(frame, Call)
    assert len(frame.payload["data"]) == 100_000


# ---------------------------------------------------------------- serialisation


def test_encode_call_is_a_four_element_array() -> None:
    """1.6 §4.2.1; 2.0.1 Part 4 §4.2.1: [2, id, action, payload]."""
    data = encode_call("m1", "Reset", {"type": "Immediate"})
    assert json.loads(data) == [2, "m1", "Reset", {"type": "Immediate"}]
    assert parse_frame(data) == Call("m1", "Reset", {"type": "Immediate"})


def test_encode_send_is_a_four_element_array_of_type_six() -> None:
    """2.1 Part 4 §4.2.4: [6, id, action, payload]."""
    data = encode_send("m1", "NotifyPeriodicEventStream", {"id": 1})
    assert json.loads(data) == [6, "m1", "NotifyPeriodicEventStream", {"id": 1}]


def test_encode_result_is_a_three_element_array() -> None:
    """1.6 §4.2.2; 2.0.1 Part 4 §4.2.2: [3, id, payload]."""
    data = encode_result("c1", {"currentTime": "2024-01-01T00:00:00Z"})
    assert json.loads(data) == [3, "c1", {"currentTime": "2024-01-01T00:00:00Z"}]


def test_encode_error_defaults_to_empty_description_and_empty_details() -> None:
    """1.6 §4.2.3; 2.0.1 Part 4 §4.2.3: description "" and details {} when there are none."""
    assert json.loads(encode_error("c1", "GenericError")) == [4, "c1", "GenericError", "", {}]
    assert json.loads(encode_error("c1", "GenericError", "", None)) == [
        4,
        "c1",
        "GenericError",
        "",
        {},
    ]


def test_encode_error_keeps_details() -> None:
    """2.0.1 Part 4 Table 7: errorDetails is a JSON object of undefined content."""
    data = encode_error("c1", "InternalError", "boom", {"trace": "x"})
    assert json.loads(data) == [4, "c1", "InternalError", "boom", {"trace": "x"}]


def test_encode_error_truncates_description_to_255_characters() -> None:
    """2.0.1 Part 4 Table 7: errorDescription is string[255]."""
    frame = json.loads(encode_error("c1", "GenericError", "é" * 1000))
    assert frame[3] == "é" * 255
    assert len(frame) == 5


def test_encode_error_as_callresulterror_uses_type_five() -> None:
    """2.1 Part 4 §4.2.3: a CALLRESULTERROR has the CALLERROR shape with MessageTypeId 5."""
    data = encode_error("r1", "FormatViolation", "x", message_type=MessageType.CALL_RESULT_ERROR)
    assert json.loads(data) == [5, "r1", "FormatViolation", "x", {}]


def test_encoded_frames_are_utf8_json() -> None:
    """1.6 §4.1.2; 2.0.1 Part 4 §4.1.2: frames are JSON encoded as UTF-8."""
    data = encode_call("m1", "DataTransfer", {"data": "Grüße €"})
    assert data.decode("utf-8") == '[2,"m1","DataTransfer",{"data":"Grüße €"}]'


def test_frames_are_immutable() -> None:
    """Frames are values: the session can hand them on without defensive copies."""
    frame = Call("a", "Heartbeat", {})
    with pytest.raises(AttributeError):
        frame.action = "Other"  # type: ignore[misc]
