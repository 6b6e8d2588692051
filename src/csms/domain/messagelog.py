"""The OCPP message log: what csms keeps of every frame a station sent or was sent.

One :class:`LoggedMessage` per frame: direction, message type, message id, action, for results
the latency since their CALL, the error code of a CALLERROR, the frame's size and its payload with
every secret masked (:func:`mask_secrets`; never a password, OCPP 1.6 security whitepaper A01.FR.09
and 2.0.1 A00.FR.205: passwords must not be logged). :class:`StationFrames` turns one
connection's frames into entries, pairing each CALLRESULT/CALLERROR with its CALL (OCPP-J 1.6
§4.1.3, 2.0.1 Part 4 §4.2: a result carries the CALL's message id). Plain data, no I/O: the
recorder (``csms.server.message_log``) and the repository do the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Protocol

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
# Raw text of an unreadable frame is kept only without these (compared in lower case).
_SECRET_WORDS: Final = ("password", "authorizationkey")


@dataclass(frozen=True, slots=True)
class LoggedMessage:
    """One frame as the log keeps it."""

    station_id: str
    at: datetime
    direction: str  # IN or OUT
    message_type: str  # CALL, CALLRESULT, CALLERROR, CALLRESULTERROR, SEND, INVALID
    message_id: str | None
    action: str | None  # a result's is its CALL's (None if the CALL is unknown)
    latency_ms: float | None  # results and errors: milliseconds since their CALL
    error_code: str | None  # CALLERROR / CALLRESULTERROR
    size: int  # bytes of the frame as sent
    payload: str | None  # JSON text with secrets masked; None when not kept
    id: int | None = None  # storage id, newest highest


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
        self, direction: str, frame: str | bytes, monotonic: float, at: datetime
    ) -> LoggedMessage:
        """The log entry of ``frame``, seen at ``monotonic`` (for latencies) and ``at``."""
        size = len(frame)
        parsed = parse_frame(frame)
        action: str | None = None
        latency: float | None = None
        error_code: str | None = None
        body: Any = None
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
                self._raw(frame) if self._keep_payloads else None,
            )
        message_id = parsed.message_id
        if isinstance(parsed, Call | Send):
            kind = CALL if isinstance(parsed, Call) else SEND
            action, body = parsed.action, parsed.payload
            if kind == CALL:
                pending = self._pending
                if len(pending) >= MAX_PENDING:
                    del pending[next(iter(pending))]
                pending[(direction, message_id)] = (action, monotonic)
        else:
            call_direction = OUT if direction == IN else IN
            started = self._pending.pop((call_direction, message_id), None)
            if started is not None:
                action = started[0]
                latency = round((monotonic - started[1]) * 1000.0, 3)
            if isinstance(parsed, CallResult):
                kind, body = CALLRESULT, parsed.payload
            else:
                assert isinstance(parsed, CallError | CallResultError)
                kind = CALLERROR if isinstance(parsed, CallError) else CALLRESULTERROR
                error_code = parsed.error_code
                body = {
                    "errorCode": parsed.error_code,
                    "errorDescription": parsed.description,
                    "errorDetails": parsed.details,
                }
        payload = None
        if self._keep_payloads and size <= self._max_payload:
            payload = orjson.dumps(mask_secrets(body)).decode()
        return LoggedMessage(
            self.station_id,
            at,
            direction,
            kind,
            message_id,
            action,
            latency,
            error_code,
            size,
            payload,
        )

    def _raw(self, frame: str | bytes) -> str | None:
        """An unreadable frame's text (as a JSON string), unless it may carry a password."""
        text = frame if isinstance(frame, str) else frame.decode("utf-8", "replace")
        lowered = text.lower()
        if len(text) > self._max_payload or any(w in lowered for w in _SECRET_WORDS):
            return None
        return orjson.dumps(text).decode()
