"""The OCPP message log: what csms keeps of every frame a station sent or was sent.

One :class:`LoggedMessage` per frame: direction, message type, message id, action, for results
the latency since their CALL, the error code of a CALLERROR, the frame's size and the frame itself
with every secret masked (:func:`mask_secrets`; never a password, OCPP 1.6 security whitepaper
A01.FR.09 and 2.0.1 A00.FR.205: passwords must not be logged). :class:`StationFrames` turns one
connection's frames into entries, pairing each CALLRESULT/CALLERROR with its CALL (OCPP-J 1.6
§4.1.3, 2.0.1 Part 4 §4.2: a result carries the CALL's message id). Plain data, no I/O: the
recorder (``csms.server.message_log``) and the repository do the rest.

Cheap enough for every frame: the type, id, action or error code are read from the frame's head
with one regular expression (the full parser only when that does not match), and a frame is
decoded, masked and encoded again only if its text names a secret at all (``password``,
``authorizationkey``, in any case) or holds a unicode escape (which could spell one); any other
frame is kept as it came.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, NamedTuple, Protocol

import orjson

from csms.domain.commands import MASKED
from csms.domain.configuration import is_secret
from csms.rpc.frames import (
    BadFrame,
    Call,
    CallError,
    CallResult,
    CallResultError,
    Send,
    parse_frame,
)

__all__ = [
    "IN",
    "OUT",
    "LoggedMessage",
    "MessageLogRepository",
    "MessageQuery",
    "Retention",
    "StationFrames",
    "frame_payload",
    "mask_secrets",
]

IN: Final = "in"  # station → csms
OUT: Final = "out"  # csms → station

# Message types as stored (OCPP-J MessageTypeId 2..6; INVALID: a frame that did not parse).
CALL: Final = "CALL"
CALLRESULT: Final = "CALLRESULT"
CALLERROR: Final = "CALLERROR"
CALLRESULTERROR: Final = "CALLRESULTERROR"
SEND: Final = "SEND"
INVALID: Final = "INVALID"
ERROR_TYPES: Final = (CALLERROR, CALLRESULTERROR, INVALID)

# CALLs whose result is still awaited, per connection: OCPP allows one outstanding CALL per
# direction, so this only fills with a station that never answers; then the oldest are forgotten.
MAX_PENDING: Final = 64
# A field whose name contains this (any case) holds a password: basicAuthPassword (2.1
# SetNetworkProfile), apnPassword, vpn password (2.x NetworkConnectionProfile).
_PASSWORD: Final = "password"
# A frame is kept as it came unless, in lower case, it contains "password" (basicAuthPassword,
# apnPassword, BasicAuthPassword...) or "authorizationkey", or any \u escape (which could spell
# either without its letters); otherwise it is decoded, masked and encoded again.
# The head of a frame: [MessageTypeId, "MessageId", "Action" or "ErrorCode" ...
_HEAD: Final = re.compile(r'\[\s*([2-6])\s*,\s*"([^"\\]{1,36})"\s*(?:,\s*"([^"\\]{1,128})")?')
_KINDS: Final = {"2": CALL, "3": CALLRESULT, "4": CALLERROR, "5": CALLRESULTERROR, "6": SEND}


class LoggedMessage(NamedTuple):
    """One frame as the log keeps it (a named tuple: built for every frame, so cheap to make)."""

    station_id: str
    at: float  # UNIX time (seconds, UTC) when csms read or wrote the frame
    direction: str  # IN or OUT
    message_type: str  # CALL, CALLRESULT, CALLERROR, CALLRESULTERROR, SEND, INVALID
    message_id: str | None
    action: str | None  # a result's is its CALL's (None if the CALL is unknown)
    latency_ms: float | None  # results and errors: milliseconds since their CALL
    error_code: str | None  # CALLERROR / CALLRESULTERROR
    size: int  # bytes of the frame as sent
    frame: str | None  # the frame's text with secrets masked; None when not kept
    id: int | None = None  # storage id, newest highest (last: the stored columns come first)


@dataclass(frozen=True, slots=True)
class MessageQuery:
    """Filters of a search; ``before_id`` pages back (entries with a smaller id)."""

    station_id: str | None = None
    action: str | None = None
    direction: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    errors_only: bool = False
    before_id: int | None = None


@dataclass(frozen=True, slots=True)
class Retention:
    """How much of the log is kept: entries older than ``max_age`` seconds go, and the oldest go
    while there are more than ``max_rows`` entries or more than ``max_bytes`` bytes of frames."""

    max_age: float
    max_rows: int
    max_bytes: int


class MessageLogRepository(Protocol):
    """Where log entries are kept (written in batches, read newest first)."""

    async def append(self, messages: Sequence[LoggedMessage]) -> None:
        """Store ``messages`` in one transaction (committed on return)."""
        ...

    async def search(self, query: MessageQuery, limit: int) -> Sequence[LoggedMessage]:
        """Up to ``limit`` entries matching ``query``, newest first."""
        ...

    async def prune(self, retention: Retention, now: datetime) -> int:
        """Delete what ``retention`` no longer keeps; return the number of entries deleted."""
        ...


def mask_secrets(value: Any) -> Any:
    """``value`` (a decoded payload) with every secret replaced by :data:`MASKED` (a copy where
    changed).

    Whatever the action: a field named like a password (``basicAuthPassword``, ``apnPassword``,
    ``password``), a 1.6 configuration entry ``{"key": "AuthorizationKey", "value": ...}``
    (ChangeConfiguration, GetConfiguration results) and a 2.x variable entry naming
    ``BasicAuthPassword`` (SetVariables, GetVariables and their results, NotifyReport).
    """
    if isinstance(value, list):
        return [mask_secrets(v) for v in value]
    if not isinstance(value, dict):
        return value
    secret_entry = _secret_entry(value)
    out: dict[str, Any] = {}
    for key, item in value.items():
        if item is not None and (
            _PASSWORD in key.lower()
            or is_secret(key)
            or (secret_entry and key in ("value", "attributeValue", "variableAttribute"))
        ):
            out[key] = _masked(item)
        else:
            out[key] = mask_secrets(item)
    return out


def _masked(item: Any) -> Any:
    if isinstance(item, list):  # variableAttribute: [{"value": ...}, ...]
        return [
            {k: (MASKED if k == "value" else v) for k, v in a.items()}
            if isinstance(a, dict)
            else MASKED
            for a in item
        ]
    return MASKED


def _secret_entry(entry: dict[str, Any]) -> bool:
    key = entry.get("key")
    if isinstance(key, str) and is_secret(key):
        return True
    variable = entry.get("variable")
    return isinstance(variable, dict) and is_secret(str(variable.get("name", "")))


_new_entry = tuple.__new__


class StationFrames:
    """Describes one connection's frames; pairs results with their CALLs for the latency."""

    __slots__ = ("_keep_payloads", "_max_payload", "_pending", "station_id")

    def __init__(self, station_id: str, *, keep_payloads: bool, max_payload: int) -> None:
        self.station_id = station_id
        self._keep_payloads = keep_payloads
        self._max_payload = max_payload
        # (direction of the CALL, message id) → (action, monotonic seconds when seen).
        self._pending: dict[tuple[str, str], tuple[str, float]] = {}

    def describe(
        self, direction: str, frame: str | bytes, monotonic: float, at: float
    ) -> LoggedMessage:
        """The log entry of ``frame``, seen at ``monotonic`` (for latencies) and UNIX time
        ``at``."""
        size = len(frame)
        text = frame if isinstance(frame, str) else frame.decode("utf-8", "replace")
        head = _HEAD.match(text)
        if head is None or (head.group(3) is None and head.group(1) != "3"):  # no action
            return self._parsed(direction, text, size, monotonic, at)
        type_id, message_id, name = head.groups()
        kind = _KINDS[type_id]
        action: str | None = None
        latency: float | None = None
        error_code: str | None = None
        if kind in (CALL, SEND):
            action = name
            if kind == CALL:
                self._call(direction, message_id, action, monotonic)
        else:
            started = self._pending.pop((OUT if direction == IN else IN, message_id), None)
            if started is not None:
                action = started[0]
                latency = int((monotonic - started[1]) * 1e6 + 0.5) / 1000.0  # ms, to the µs
            if kind != CALLRESULT:
                error_code = name
        # tuple.__new__ skips the named tuple's Python-level __new__ (this runs for every frame).
        return _new_entry(
            LoggedMessage,
            (
                self.station_id,
                at,
                direction,
                kind,
                message_id,
                action,
                latency,
                error_code,
                size,
                self._kept(text, size),
                None,
            ),
        )

    def _call(self, direction: str, message_id: str, action: str, monotonic: float) -> None:
        pending = self._pending
        if len(pending) >= MAX_PENDING:
            del pending[next(iter(pending))]
        pending[(direction, message_id)] = (action, monotonic)

    def _kept(self, text: str, size: int) -> str | None:
        """The frame as stored: None if not kept or too large, masked if it names a secret."""
        if not self._keep_payloads or size > self._max_payload:
            return None
        lowered = text.lower()
        if "password" not in lowered and "authorizationkey" not in lowered and "\\u" not in text:
            return text
        try:
            return orjson.dumps(mask_secrets(orjson.loads(text))).decode()
        except orjson.JSONDecodeError:
            return None  # unreadable and it may carry a password: not kept

    def _parsed(
        self, direction: str, text: str, size: int, monotonic: float, at: float
    ) -> LoggedMessage:
        """The slow path: a frame whose head the expression does not read (spacing, escapes in
        its id or action, or no valid frame at all)."""
        parsed = parse_frame(text)
        if isinstance(parsed, BadFrame):
            return LoggedMessage(
                self.station_id,
                at,
                direction,
                INVALID,
                parsed.reply_id,
                None,
                None,
                None,
                size,
                self._kept(text, size),
            )
        action: str | None = None
        latency: float | None = None
        error_code: str | None = None
        if isinstance(parsed, Call | Send):
            kind = CALL if isinstance(parsed, Call) else SEND
            action = parsed.action
            if kind == CALL:
                self._call(direction, parsed.message_id, action, monotonic)
        else:
            started = self._pending.pop((OUT if direction == IN else IN, parsed.message_id), None)
            if started is not None:
                action = started[0]
                latency = int((monotonic - started[1]) * 1e6 + 0.5) / 1000.0  # ms, to the µs
            if isinstance(parsed, CallResult):
                kind = CALLRESULT
            else:
                assert isinstance(parsed, CallError | CallResultError)
                kind = CALLERROR if isinstance(parsed, CallError) else CALLRESULTERROR
                error_code = parsed.error_code
        return LoggedMessage(
            self.station_id,
            at,
            direction,
            kind,
            parsed.message_id,
            action,
            latency,
            error_code,
            size,
            self._kept(text, size),
        )


def frame_payload(frame: str) -> Any:
    """What an operator is shown of a stored frame: a CALL's or result's payload, a CALLERROR's
    code, description and details, or the text itself when it is not a readable frame."""
    try:
        value = orjson.loads(frame)
    except orjson.JSONDecodeError:
        return frame
    if not isinstance(value, list) or not value:
        return frame
    kind = value[0]
    if kind in (2, 6) and len(value) == 4:
        return value[3]
    if kind == 3 and len(value) == 3:
        return value[2]
    if kind in (4, 5) and len(value) == 5:
        return {"errorCode": value[2], "errorDescription": value[3], "errorDetails": value[4]}
    return frame
