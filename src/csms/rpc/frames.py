"""OCPP-J frames: parsing and serialisation.

OCPP-J 1.6 §4; 2.0.1 Part 4 §4; 2.1 Part 4 §4. A frame is a JSON array whose first element is the
MessageTypeId: CALL 2, CALLRESULT 3, CALLERROR 4, and in 2.1 CALLRESULTERROR 5 and SEND 6.
Message ids are strings of at most 36 characters (1.6 Table 3; 2.0.1 Table 4).

:func:`parse_frame` never raises on bad input; it returns a :class:`BadFrame` that says what was
wrong and which id (or "-1", 2.0.1 Part 4 §4.2.3) an error reply must carry.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

import orjson

MAX_MESSAGE_ID_LENGTH = 36
UNREADABLE_ID = "-1"
# 2.x: errorDescription is string[255] (2.0.1 Part 4 Table 7).
MAX_ERROR_DESCRIPTION = 255


class MessageType(enum.IntEnum):
    """MessageTypeId values (1.6 §4.1.3; 2.1 Part 4 §4.1.3)."""

    CALL = 2
    CALL_RESULT = 3
    CALL_ERROR = 4
    CALL_RESULT_ERROR = 5
    SEND = 6


@dataclass(frozen=True, slots=True)
class Call:
    """A request: ``[2, id, action, payload]``."""

    message_id: str
    action: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CallResult:
    """A response: ``[3, id, payload]``."""

    message_id: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CallError:
    """An error response: ``[4, id, code, description, details]``."""

    message_id: str
    error_code: str
    description: str = ""
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CallResultError:
    """2.1: an error about a CALLRESULT, ``[5, id, code, description, details]``."""

    message_id: str
    error_code: str
    description: str = ""
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Send:
    """2.1: an unconfirmed message, ``[6, id, action, payload]``; never answered."""

    message_id: str
    action: str
    payload: dict[str, Any]


class BadFrameKind(enum.Enum):
    """Why a frame could not be read as an RPC message."""

    NOT_JSON = "not valid JSON"
    BINARY = "a binary frame; OCPP-J uses text frames"
    NOT_ARRAY = "not a non-empty JSON array"
    BAD_TYPE = "MessageTypeId is not an integer"
    UNKNOWN_TYPE = "unknown MessageTypeId"
    BAD_ID = "MessageId is not a string of 1 to 36 characters"
    BAD_LENGTH = "wrong number of elements"
    BAD_ACTION = "Action is not a string"
    BAD_PAYLOAD = "payload is not a JSON object"
    BAD_ERROR_FIELDS = "errorCode/errorDescription/errorDetails have the wrong types"


@dataclass(frozen=True, slots=True)
class BadFrame:
    """A frame that is not a valid RPC message.

    ``message_type`` is the MessageTypeId when it could be read (so the caller knows whether a CALL
    must be answered), ``reply_id`` is the id an error reply must carry.
    """

    kind: BadFrameKind
    message_type: int | None
    reply_id: str
    detail: str = ""


Frame = Call | CallResult | CallError | CallResultError | Send


def _reply_id(raw: list[Any]) -> str:
    """The id an error reply carries: the frame's own if it is valid, else "-1".

    An invalid id (not a string, empty, or over 36 characters) is never echoed: the reply would
    break the MessageId string[36] rule itself (2.0.1 Part 4 Table 7).
    """
    if len(raw) > 1:
        candidate = raw[1]
        if isinstance(candidate, str) and 0 < len(candidate) <= MAX_MESSAGE_ID_LENGTH:
            return candidate
    return UNREADABLE_ID


def parse_frame(data: str | bytes) -> Frame | BadFrame:
    """Parse one WebSocket text message into a frame, or say why it is not one."""
    try:
        raw = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        return BadFrame(BadFrameKind.NOT_JSON, None, UNREADABLE_ID, str(exc)[:100])
    if not isinstance(raw, list) or not raw:
        return BadFrame(BadFrameKind.NOT_ARRAY, None, UNREADABLE_ID)
    mtype = raw[0]
    if type(mtype) is not int:
        return BadFrame(BadFrameKind.BAD_TYPE, None, _reply_id(raw))
    n = len(raw)
    if mtype not in _KNOWN_TYPES:
        return BadFrame(BadFrameKind.UNKNOWN_TYPE, mtype, _reply_id(raw), str(mtype))
    message_id = raw[1] if n > 1 else None
    if not isinstance(message_id, str) or not 0 < len(message_id) <= MAX_MESSAGE_ID_LENGTH:
        return BadFrame(BadFrameKind.BAD_ID, mtype, _reply_id(raw))
    if mtype in (2, 6):
        if n != 4:
            return BadFrame(BadFrameKind.BAD_LENGTH, mtype, message_id, f"{n} elements, expected 4")
        action, payload = raw[2], raw[3]
        if payload is None:
            # 1.6 §4.2.1: an empty payload may be written null; {} is only the preferred notation.
            payload = {}
        if not isinstance(action, str):
            return BadFrame(BadFrameKind.BAD_ACTION, mtype, message_id)
        if not isinstance(payload, dict):
            return BadFrame(BadFrameKind.BAD_PAYLOAD, mtype, message_id)
        if mtype == 2:
            return Call(message_id, action, payload)
        return Send(message_id, action, payload)
    if mtype == 3:
        if n != 3:
            return BadFrame(BadFrameKind.BAD_LENGTH, mtype, message_id, f"{n} elements, expected 3")
        payload = {} if raw[2] is None else raw[2]
        if not isinstance(payload, dict):
            return BadFrame(BadFrameKind.BAD_PAYLOAD, mtype, message_id)
        return CallResult(message_id, payload)
    # CALLERROR / CALLRESULTERROR
    if n != 5:
        return BadFrame(BadFrameKind.BAD_LENGTH, mtype, message_id, f"{n} elements, expected 5")
    code, description, details = raw[2], raw[3], raw[4]
    if not isinstance(code, str) or not isinstance(description, str):
        return BadFrame(BadFrameKind.BAD_ERROR_FIELDS, mtype, message_id)
    if not isinstance(details, dict):
        # Be liberal in what we accept from a peer's error: the code is what matters.
        details = {}
    if mtype == 4:
        return CallError(message_id, code, description, details)
    return CallResultError(message_id, code, description, details)


_KNOWN_TYPES = frozenset(int(t) for t in MessageType)


def encode_call(message_id: str, action: str, payload: dict[str, Any]) -> bytes:
    """Serialise a CALL."""
    return orjson.dumps([2, message_id, action, payload])


def encode_send(message_id: str, action: str, payload: dict[str, Any]) -> bytes:
    """Serialise a 2.1 SEND."""
    return orjson.dumps([6, message_id, action, payload])


def encode_result(message_id: str, payload: dict[str, Any]) -> bytes:
    """Serialise a CALLRESULT."""
    return orjson.dumps([3, message_id, payload])


def encode_error(
    message_id: str,
    code: str,
    description: str = "",
    details: dict[str, Any] | None = None,
    *,
    message_type: MessageType = MessageType.CALL_ERROR,
) -> bytes:
    """Serialise a CALLERROR (or 2.1 CALLRESULTERROR).

    Always five elements, a description string of at most 255 characters and a details object
    (2.0.1 Part 4 §4.2.3): an empty description is ``""`` and empty details are ``{}``.
    """
    return orjson.dumps(
        [int(message_type), message_id, code, description[:MAX_ERROR_DESCRIPTION], details or {}]
    )
