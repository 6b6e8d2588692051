"""The OCPP message log: what csms keeps of every frame a station sent or was sent.

One :class:`LoggedExchange` per exchange: a CALL and its CALLRESULT / CALLERROR (OCPP-J 1.6
§4.1.3, 2.0.1 Part 4 §4.2: a result carries the CALL's message id) are one row, with both frames,
the latency and the outcome, so the log writes one row per call instead of two (the database's
insert was most of the log's cost). A CALL with no answer becomes a row when its wait ends (the
recorder's answer timeout, or the connection ending); a frame outside an exchange (a SEND, a
result for no known CALL, an unreadable frame) is a row of its own. Every frame is stored with
every secret masked (:func:`mask_secrets`; never a password, OCPP 1.6 security whitepaper
A01.FR.09 and 2.0.1 A00.FR.205: passwords must not be logged). :class:`StationFrames` does the
pairing for one connection. Plain data, no I/O: the recorder (``csms.server.message_log``) and
the repository do the rest.

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
    "MAX_EXCHANGE_SECONDS",
    "OUT",
    "LoggedExchange",
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
ERROR_TYPES: Final = (CALLERROR, CALLRESULTERROR)
# Outcomes of an exchange (LoggedExchange.outcome).
RESULT: Final = "result"
ERROR: Final = "error"
UNANSWERED: Final = "unanswered"

# CALLs whose result is still awaited, per connection: OCPP allows one outstanding CALL per
# direction, so this only fills with a station that never answers; then the oldest are written
# as unanswered.
MAX_PENDING: Final = 64
# The longest a CALL waits for its answer in the log (the recorder's answer timeout is capped at
# this). A row is written at most this long (plus a second) after its CALL was seen, which the
# repository's time-window search relies on (a row's time is its CALL's, ids follow writes).
MAX_EXCHANGE_SECONDS: Final = 120.0
# A field whose name contains this (any case) holds a password: basicAuthPassword (2.1
# SetNetworkProfile), apnPassword, vpn password (2.x NetworkConnectionProfile).
_PASSWORD: Final = "password"
# A frame is kept as it came unless, in lower case, it contains "password" (basicAuthPassword,
# apnPassword, BasicAuthPassword...) or "authorizationkey", or any \u escape (which could spell
# either without its letters); otherwise it is decoded, masked and encoded again.
# The head of a frame: [MessageTypeId, "MessageId", "Action" or "ErrorCode" ...
_HEAD: Final = re.compile(r'\[\s*([2-6])\s*,\s*"([^"\\]{1,36})"\s*(?:,\s*"([^"\\]{1,128})")?')
_KINDS: Final = {"2": CALL, "3": CALLRESULT, "4": CALLERROR, "5": CALLRESULTERROR, "6": SEND}


class LoggedExchange(NamedTuple):
    """One row of the log: a CALL with its answer, or a frame outside any exchange (a SEND, a
    result whose CALL is unknown, an unreadable frame). A named tuple: built for every exchange,
    so cheap to make, and its fields up to ``response_frame`` are the stored columns in order."""

    station_id: str
    at: float  # UNIX time (seconds, UTC) when csms read or wrote the first frame (the CALL)
    direction: str  # of the first frame: IN (the station started it) or OUT (csms did)
    message_type: str  # of the first frame: CALL, SEND, or a lone CALLRESULT ... INVALID
    message_id: str | None
    action: str | None  # a lone result's is None (its CALL is unknown)
    size: int  # bytes of the first frame as sent
    frame: str | None  # the first frame's text with secrets masked; None when not kept
    response_type: str | None  # CALLRESULT, CALLERROR, CALLRESULTERROR; None: no answer
    latency_ms: float | None  # milliseconds from the CALL to its answer
    error_code: str | None  # of a CALLERROR / CALLRESULTERROR (the answer or a lone frame)
    response_size: int | None
    response_frame: str | None  # the answer's text with secrets masked; None when not kept
    id: int | None = None  # storage id, newest highest (last: the stored columns come first)

    @property
    def outcome(self) -> str | None:
        """``result``, ``error`` (a CALLERROR or CALLRESULTERROR answer), ``unanswered`` (a
        CALL with no answer in time or before the connection ended), None (no CALL)."""
        if self.response_type is not None:
            return RESULT if self.response_type == CALLRESULT else ERROR
        return UNANSWERED if self.message_type == CALL else None


@dataclass(frozen=True, slots=True)
class MessageQuery:
    """Filters of a search (``direction`` is the first frame's: who started the exchange; the
    time window applies to the first frame's time; ``errors_only``: an error answer, a lone error
    or unreadable frame, or an unanswered CALL); ``before_id`` pages back (a smaller id)."""

    station_id: str | None = None
    action: str | None = None
    direction: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    errors_only: bool = False
    before_id: int | None = None


@dataclass(frozen=True, slots=True)
class Retention:
    """How much of the log is kept: rows older than ``max_age`` seconds go, and the oldest go
    while there are more than ``max_rows`` rows or more than ``max_bytes`` bytes of frames."""

    max_age: float
    max_rows: int
    max_bytes: int


class MessageLogRepository(Protocol):
    """Where log rows are kept (written in batches, read newest first)."""

    async def append(self, exchanges: Sequence[LoggedExchange]) -> None:
        """Store ``exchanges`` in one transaction (committed on return)."""
        ...

    async def search(self, query: MessageQuery, limit: int) -> Sequence[LoggedExchange]:
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
# What a CALL waiting for its answer keeps: (monotonic seconds, UNIX time, direction, message id,
# action, size, kept frame).
_Pending = tuple[float, float, str, str, str, int, str | None]


class StationFrames:
    """Turns one connection's frames into log rows: a CALL waits (in :attr:`pending`) for its
    CALLRESULT / CALLERROR and both become one row; a CALL that gets no answer becomes a row when
    :meth:`expire` or :meth:`close` says so; any other frame is a row of its own."""

    __slots__ = ("_keep_payloads", "_max_payload", "pending", "station_id")

    def __init__(self, station_id: str, *, keep_payloads: bool, max_payload: int) -> None:
        self.station_id = station_id
        self._keep_payloads = keep_payloads
        self._max_payload = max_payload
        # (direction of the CALL, message id) → the CALL, oldest first (frames come in order).
        self.pending: dict[tuple[str, str], _Pending] = {}

    def describe(
        self,
        rows: list[LoggedExchange],
        direction: str,
        frame: str | bytes,
        monotonic: float,
        at: float,
    ) -> None:
        """Add to ``rows`` what ``frame``, seen at ``monotonic`` (for latencies) and UNIX time
        ``at``, completes: nothing for a CALL (it waits for its answer), its exchange for an
        answer, itself for any other frame."""
        size = len(frame)
        text = frame if type(frame) is str else frame.decode("utf-8", "replace")  # type: ignore[union-attr]
        head = _HEAD.match(text)
        if head is None:
            self._parsed(rows, direction, text, size, monotonic, at)
            return
        type_id, message_id, name = head.groups()
        # The two frames of nearly every exchange, inlined (this runs for every frame): a CALL
        # starts waiting, a CALLRESULT completes its CALL's row.
        if type_id == "2" and name is not None:
            pending = self.pending
            key = (direction, message_id)
            if len(pending) < MAX_PENDING and key not in pending:
                pending[key] = (
                    monotonic,
                    at,
                    direction,
                    message_id,
                    name,
                    size,
                    self._kept(text, size),
                )
                return
        elif type_id == "3":
            call = self.pending.pop((OUT if direction == IN else IN, message_id), None)
            if call is not None:
                # tuple.__new__ skips the named tuple's Python-level __new__.
                rows.append(
                    _new_entry(
                        LoggedExchange,
                        (
                            self.station_id,
                            call[1],
                            call[2],
                            CALL,
                            message_id,
                            call[4],
                            call[5],
                            call[6],
                            CALLRESULT,
                            int((monotonic - call[0]) * 1e6 + 0.5) / 1000.0,  # ms, to the µs
                            None,
                            size,
                            self._kept(text, size),
                            None,
                        ),
                    )
                )
                return
        if name is None and type_id != "3":  # no action or error code where one belongs
            self._parsed(rows, direction, text, size, monotonic, at)
        elif type_id == "2":
            self._call(
                rows, direction, message_id, name, size, self._kept(text, size), monotonic, at
            )
        elif type_id == "6":
            rows.append(self._lone(direction, SEND, message_id, name, None, size, text, at))
        else:
            kind = _KINDS[type_id]
            self._answer(
                rows,
                direction,
                kind,
                message_id,
                None if kind == CALLRESULT else name,
                size,
                text,
                monotonic,
                at,
            )

    def expire(self, rows: list[LoggedExchange], before: float) -> None:
        """Add to ``rows`` the CALLs seen before monotonic ``before``, unanswered."""
        pending = self.pending
        while pending:
            key = next(iter(pending))
            if pending[key][0] >= before:
                return
            rows.append(_unanswered(self.station_id, pending.pop(key)))

    def close(self, rows: list[LoggedExchange]) -> None:
        """The connection ended: add every CALL still waiting to ``rows``, unanswered."""
        station_id = self.station_id
        rows += [_unanswered(station_id, call) for call in self.pending.values()]
        self.pending.clear()

    def _call(  # noqa: PLR0917 - per frame: positional is the cheap call
        self,
        rows: list[LoggedExchange],
        direction: str,
        message_id: str,
        action: str,
        size: int,
        kept: str | None,
        monotonic: float,
        at: float,
    ) -> None:
        pending = self.pending
        if len(pending) >= MAX_PENDING:
            rows.append(_unanswered(self.station_id, pending.pop(next(iter(pending)))))
        previous = pending.pop((direction, message_id), None)
        if previous is not None:  # the id again before an answer: the first stays unanswered
            rows.append(_unanswered(self.station_id, previous))
        pending[(direction, message_id)] = (
            monotonic,
            at,
            direction,
            message_id,
            action,
            size,
            kept,
        )

    def _answer(  # noqa: PLR0917 - per frame: positional is the cheap call
        self,
        rows: list[LoggedExchange],
        direction: str,
        kind: str,
        message_id: str,
        error_code: str | None,
        size: int,
        text: str,
        monotonic: float,
        at: float,
    ) -> None:
        call = self.pending.pop((OUT if direction == IN else IN, message_id), None)
        if call is None:
            rows.append(self._lone(direction, kind, message_id, None, error_code, size, text, at))
            return
        started, call_at, call_direction, _, action, call_size, call_frame = call
        # tuple.__new__ skips the named tuple's Python-level __new__ (this runs for every call).
        rows.append(
            _new_entry(
                LoggedExchange,
                (
                    self.station_id,
                    call_at,
                    call_direction,
                    CALL,
                    message_id,
                    action,
                    call_size,
                    call_frame,
                    kind,
                    int((monotonic - started) * 1e6 + 0.5) / 1000.0,  # ms, to the µs
                    error_code,
                    size,
                    self._kept(text, size),
                    None,
                ),
            )
        )

    def _lone(  # noqa: PLR0917 - per frame: positional is the cheap call
        self,
        direction: str,
        kind: str,
        message_id: str | None,
        action: str | None,
        error_code: str | None,
        size: int,
        text: str,
        at: float,
    ) -> LoggedExchange:
        return LoggedExchange(
            self.station_id,
            at,
            direction,
            kind,
            message_id,
            action,
            size,
            self._kept(text, size),
            None,
            None,
            error_code,
            None,
            None,
        )

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

    def _parsed(  # noqa: PLR0917 - per frame: positional is the cheap call
        self,
        rows: list[LoggedExchange],
        direction: str,
        text: str,
        size: int,
        monotonic: float,
        at: float,
    ) -> None:
        """The slow path: a frame whose head the expression does not read (spacing, escapes in
        its id or action, or no valid frame at all)."""
        parsed = parse_frame(text)
        if isinstance(parsed, BadFrame):
            rows.append(self._lone(direction, INVALID, parsed.reply_id, None, None, size, text, at))
        elif isinstance(parsed, Call):
            kept = self._kept(text, size)
            self._call(rows, direction, parsed.message_id, parsed.action, size, kept, monotonic, at)
        elif isinstance(parsed, Send):
            rows.append(
                self._lone(direction, SEND, parsed.message_id, parsed.action, None, size, text, at)
            )
        elif isinstance(parsed, CallResult):
            self._answer(
                rows, direction, CALLRESULT, parsed.message_id, None, size, text, monotonic, at
            )
        else:
            assert isinstance(parsed, CallError | CallResultError)
            kind = CALLERROR if isinstance(parsed, CallError) else CALLRESULTERROR
            self._answer(
                rows,
                direction,
                kind,
                parsed.message_id,
                parsed.error_code,
                size,
                text,
                monotonic,
                at,
            )


def _unanswered(station_id: str, call: _Pending) -> LoggedExchange:
    _, at, direction, message_id, action, size, frame = call
    return LoggedExchange(
        station_id,
        at,
        direction,
        CALL,
        message_id,
        action,
        size,
        frame,
        None,
        None,
        None,
        None,
        None,
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
