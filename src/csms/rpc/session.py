"""The sans-I/O OCPP-J session: one per WebSocket connection, no I/O, no clock of its own.

The frontend feeds it every received text message with :meth:`RpcSession.receive`, writes out
whatever :meth:`RpcSession.data_to_send` returns, calls :meth:`RpcSession.expire` when
:meth:`RpcSession.next_deadline` passes, and :meth:`RpcSession.close` when the socket goes away.

Rules it keeps (OCPP-J 1.6 §4; 2.0.1 Part 4 §4; 2.1 Part 4 §4; ocpp-rules.md §1 and §6 B–C):

* At most one CSMS-initiated CALL is outstanding; further CALLs wait in a bounded queue and are put on
  the wire one at a time as replies arrive or time out (2.0.1 Part 4 §4.1.1 "SHALL NOT").
* The station's CALLs are reported at once, whatever the state of our outstanding CALL, so crossing
  CALLs never deadlock (1.6 §4.1.1 NOTE).
* A reply is matched only to the outstanding CALL by id. A reply with an unknown id, or one arriving
  after its CALL timed out, is dropped and reported, never matched to a later CALL and never
  answered (ocpp-rules.md §6 test 31).
* A CALL whose id is still being handled is answered with RpcFrameworkError (1.6: ProtocolError)
  and not reported again (1.6 §4.2.3). A retransmission of the CALL answered last (2.1 Part 4 §4.1.4
  allows retries with the same id) gets the same reply again, without running the handler twice.
* A frame that is not a valid RPC message is answered with a CALLERROR carrying its id, or "-1" when
  the id cannot be read (2.0.1 Part 4 §4.2.3), unless it was a reply (CALLRESULT/CALLERROR), which is
  only reported. An unknown MessageTypeId gets MessageTypeNotSupported in 2.0.1 (Part 4 §4.4) and is
  ignored in 1.6 (§4.1.3) and 2.1 (Part 4 §4.4). After ``max_bad_frames`` consecutive bad frames the
  violation is marked fatal and the frontend closes the connection.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from csms.rpc import frames
from csms.rpc.errors import (
    ErrorCode,
    LocalProtocolError,
    OutboundQueueFull,
    parse_error_code,
)
from csms.rpc.events import (
    CallAborted,
    CallReceived,
    CallTimedOut,
    ErrorReceived,
    Event,
    ProtocolViolation,
    ResultReceived,
    SendReceived,
)
from csms.rpc.frames import BadFrame, BadFrameKind, MessageType
from csms.rpc.ids import MessageIdFactory, random_ids
from csms.rpc.versions import OcppVersion

_ONLY_21_TYPES = (MessageType.CALL_RESULT_ERROR, MessageType.SEND)


class RpcSession:
    """OCPP-J RPC state of one connection. Not thread-safe; drive it from one task."""

    __slots__ = (
        "_bad_streak",
        "_closed",
        "_expired",
        "_inbound",
        "_last_answer",
        "_new_id",
        "_out",
        "_outstanding",
        "_queue",
        "call_timeout",
        "max_bad_frames",
        "max_inbound_calls",
        "max_queued_calls",
        "version",
    )

    def __init__(
        self,
        version: OcppVersion,
        *,
        call_timeout: float = 30.0,
        max_queued_calls: int = 16,
        max_inbound_calls: int = 4,
        max_bad_frames: int = 10,
        id_factory: MessageIdFactory | None = None,
    ) -> None:
        self.version = version
        self.call_timeout = call_timeout
        self.max_queued_calls = max_queued_calls
        self.max_inbound_calls = max_inbound_calls
        self.max_bad_frames = max_bad_frames
        self._new_id = id_factory or random_ids()
        self._out: list[bytes] = []
        # The ids of the peer's CALLs being handled (at most ``max_inbound_calls``): a tuple, as
        # an empty set costs 216 bytes per idle connection and the empty tuple none.
        self._inbound: tuple[str, ...] = ()
        # (message_id, action, deadline, abandoned) of the CALL on the wire.
        self._outstanding: tuple[str, str, float] | None = None
        self._queue: deque[tuple[str, str, dict[str, Any]]] | None = None
        self._expired: deque[str] | None = None
        self._last_answer: tuple[str, bytes] | None = None
        self._bad_streak = 0
        self._closed = False

    # ------------------------------------------------------------------ receiving

    def receive(self, data: str | bytes, now: float) -> list[Event]:
        """Process one received WebSocket message and return what happened."""
        if self._closed:
            return []
        frame = frames.parse_frame(data)
        if type(frame) is BadFrame:
            return self._bad_frame(frame)
        if self.version is not OcppVersion.V21 and (
            type(frame) is frames.Send or type(frame) is frames.CallResultError
        ):
            # SEND and CALLRESULTERROR exist only in 2.1; elsewhere they are unknown types.
            mtype = 6 if type(frame) is frames.Send else 5
            return self._bad_frame(BadFrame(BadFrameKind.UNKNOWN_TYPE, mtype, frame.message_id))
        self._bad_streak = 0
        if type(frame) is frames.Call:
            return self._receive_call(frame)
        if type(frame) is frames.CallResult:
            return self._receive_reply(frame.message_id, frame, now)
        if type(frame) is frames.CallError:
            return self._receive_reply(frame.message_id, frame, now)
        if type(frame) is frames.Send:
            return [SendReceived(frame.message_id, frame.action, frame.payload)]
        assert type(frame) is frames.CallResultError
        return [
            ProtocolViolation(
                f"peer rejected our CALLRESULT {frame.message_id}: "
                f"{frame.error_code} {frame.description!r}"
            )
        ]

    def receive_binary(self) -> list[Event]:
        """Process a binary WebSocket message: OCPP-J uses text frames only (1.6 §4.1.2).

        It is answered like any unreadable frame, with a CALLERROR carrying id "-1".
        """
        if self._closed:
            return []
        return self._bad_frame(BadFrame(BadFrameKind.BINARY, None, frames.UNREADABLE_ID))

    def _receive_call(self, frame: frames.Call) -> list[Event]:
        mid = frame.message_id
        if mid in self._inbound:
            code = ErrorCode.RPC_FRAMEWORK_ERROR if self.version.is_2x else ErrorCode.PROTOCOL_ERROR
            self._queue_error(mid, code, "a CALL with this MessageId is already being handled")
            return [ProtocolViolation(f"duplicate MessageId {mid!r} of a CALL in progress")]
        last = self._last_answer
        if last is not None and last[0] == mid:
            self._out.append(last[1])
            return [
                ProtocolViolation(
                    f"CALL {mid!r} retransmitted; answered again from cache", counts=False
                )
            ]
        if len(self._inbound) >= self.max_inbound_calls:
            code = ErrorCode.RPC_FRAMEWORK_ERROR if self.version.is_2x else ErrorCode.GENERIC_ERROR
            self._queue_error(mid, code, "too many CALLs in progress; wait for the replies")
            return [ProtocolViolation("too many concurrent CALLs from the peer")]
        self._inbound = (*self._inbound, mid)
        return [CallReceived(mid, frame.action, frame.payload)]

    def _receive_reply(
        self, mid: str, frame: frames.CallResult | frames.CallError, now: float
    ) -> list[Event]:
        outstanding = self._outstanding
        if outstanding is None or outstanding[0] != mid:
            if self._expired is not None and mid in self._expired:
                return [
                    ProtocolViolation(f"late reply to timed-out CALL {mid!r} dropped", counts=False)
                ]
            return [ProtocolViolation(f"reply with unknown MessageId {mid!r} dropped")]
        action = outstanding[1]
        self._outstanding = None
        event: Event
        if type(frame) is frames.CallResult:
            event = ResultReceived(mid, action, frame.payload)
        else:
            assert type(frame) is frames.CallError
            event = ErrorReceived(
                mid,
                action,
                parse_error_code(frame.error_code),
                frame.error_code,
                frame.description,
                frame.details,
            )
        self._send_next(now)
        return [event]

    def _bad_frame(self, frame: BadFrame) -> list[Event]:
        self._bad_streak += 1
        fatal = self._bad_streak >= self.max_bad_frames
        if frame.kind is BadFrameKind.UNKNOWN_TYPE or (
            # A malformed SEND or CALLRESULTERROR is still an unknown type before 2.1.
            frame.message_type in _ONLY_21_TYPES and self.version is not OcppVersion.V21
        ):
            self._unknown_type(frame.message_type or 0, frame.reply_id)
            return [ProtocolViolation(f"unknown MessageTypeId {frame.message_type} ignored", fatal)]
        description = f"bad frame: {frame.kind.value}"
        if frame.detail:
            description += f" ({frame.detail})"
        replies = frame.message_type in (
            MessageType.CALL_RESULT,
            MessageType.CALL_ERROR,
            MessageType.CALL_RESULT_ERROR,
        ) or (frame.message_type == MessageType.SEND and self.version is OcppVersion.V21)
        if not replies:
            code = (
                ErrorCode.FORMAT_VIOLATION
                if frame.kind is BadFrameKind.BAD_PAYLOAD
                else ErrorCode.RPC_FRAMEWORK_ERROR
            )
            self._queue_error(frame.reply_id, code, description)
        return [ProtocolViolation(description, fatal)]

    def _unknown_type(self, mtype: int, reply_id: str) -> list[Event]:
        if self.version is OcppVersion.V201:
            self._queue_error(
                reply_id,
                ErrorCode.MESSAGE_TYPE_NOT_SUPPORTED,
                f"MessageTypeId {mtype} is not supported",
            )
        return [ProtocolViolation(f"unknown MessageTypeId {mtype} ignored")]

    # ------------------------------------------------------------------ answering

    def send_result(self, message_id: str, payload: dict[str, Any]) -> None:
        """Answer the peer's CALL ``message_id`` with a CALLRESULT."""
        self._finish_inbound(message_id)
        data = frames.encode_result(message_id, payload)
        self._out.append(data)
        self._remember_answer(message_id, data)

    def send_error(
        self,
        message_id: str,
        code: ErrorCode,
        description: str = "",
        details: dict[str, Any] | None = None,
    ) -> None:
        """Answer the peer's CALL ``message_id`` with a CALLERROR spelled for this version."""
        self._finish_inbound(message_id)
        data = frames.encode_error(message_id, code.wire(self.version), description, details)
        self._out.append(data)
        self._remember_answer(message_id, data)

    def _remember_answer(self, message_id: str, data: bytes) -> None:
        # orjson's bytes keep a 4 KiB buffer whatever the frame's size; an exact copy keeps the
        # cached answer of an idle connection at ~100 bytes (memory per connection).
        self._last_answer = (message_id, bytes(memoryview(data)))

    def _finish_inbound(self, message_id: str) -> None:
        inbound = self._inbound
        if message_id not in inbound:
            raise LocalProtocolError(f"no CALL {message_id!r} is waiting for an answer")
        self._inbound = () if len(inbound) == 1 else tuple(m for m in inbound if m != message_id)

    def _queue_error(self, message_id: str, code: ErrorCode, description: str) -> None:
        self._out.append(frames.encode_error(message_id, code.wire(self.version), description))

    def send_result_error(self, message_id: str, code: ErrorCode, description: str = "") -> None:
        """2.1: tell the peer its CALLRESULT ``message_id`` could not be processed (§4.2.3)."""
        if self.version is not OcppVersion.V21:
            raise LocalProtocolError("CALLRESULTERROR exists only in OCPP 2.1")
        self._out.append(
            frames.encode_error(
                message_id,
                code.wire(self.version),
                description,
                message_type=MessageType.CALL_RESULT_ERROR,
            )
        )

    # ------------------------------------------------------------------ initiating

    def send_call(self, action: str, payload: dict[str, Any], now: float) -> str:
        """Send a CALL now, or queue it behind the outstanding one; return its message id.

        Raises:
            OutboundQueueFull: ``max_queued_calls`` CALLs are already waiting.
            LocalProtocolError: the session is closed.
        """
        if self._closed:
            raise LocalProtocolError("session is closed")
        mid = self._new_id()
        if self._outstanding is None:
            self._put_on_wire(mid, action, payload, now)
            return mid
        if self._queue is None:
            self._queue = deque()
        if len(self._queue) >= self.max_queued_calls:
            raise OutboundQueueFull(f"{len(self._queue)} CALLs already waiting")
        self._queue.append((mid, action, payload))
        return mid

    def send_message(self, action: str, payload: dict[str, Any]) -> str:
        """2.1: send an unconfirmed SEND (allowed while a CALL is outstanding, §4.2.4)."""
        if self.version is not OcppVersion.V21:
            raise LocalProtocolError("SEND exists only in OCPP 2.1")
        if self._closed:
            raise LocalProtocolError("session is closed")
        mid = self._new_id()
        self._out.append(frames.encode_send(mid, action, payload))
        return mid

    def cancel_call(self, message_id: str) -> bool:
        """Withdraw a CALL that is still queued; return False if it is on the wire or unknown.

        A CALL on the wire cannot be withdrawn: its reply or timeout still frees the slot.
        """
        if self._queue:
            for item in self._queue:
                if item[0] == message_id:
                    self._queue.remove(item)
                    return True
        return False

    def _put_on_wire(self, mid: str, action: str, payload: dict[str, Any], now: float) -> None:
        self._out.append(frames.encode_call(mid, action, payload))
        self._outstanding = (mid, action, now + self.call_timeout)

    def _send_next(self, now: float) -> None:
        if self._queue:
            mid, action, payload = self._queue.popleft()
            self._put_on_wire(mid, action, payload, now)

    # ------------------------------------------------------------------ time and teardown

    @property
    def outstanding_call(self) -> str | None:
        """The message id of the CALL on the wire, if any."""
        return None if self._outstanding is None else self._outstanding[0]

    @property
    def queued_calls(self) -> int:
        """How many CALLs wait behind the outstanding one."""
        return len(self._queue) if self._queue else 0

    def next_deadline(self) -> float | None:
        """When :meth:`expire` must next be called, or None if nothing is waiting."""
        return None if self._outstanding is None else self._outstanding[2]

    def expire(self, now: float) -> list[Event]:
        """Time out the outstanding CALL if its deadline has passed, and send the next one."""
        outstanding = self._outstanding
        if outstanding is None or now < outstanding[2]:
            return []
        mid, action, _ = outstanding
        if self._expired is None:
            self._expired = deque(maxlen=16)
        self._expired.append(mid)
        self._outstanding = None
        self._send_next(now)
        return [CallTimedOut(mid, action)]

    def data_to_send(self) -> list[bytes]:
        """Return and forget the frames to write, in order."""
        out = self._out
        if out:
            self._out = []
        else:
            out = []
        return out

    def close(self) -> list[Event]:
        """Mark the session closed and abort every CSMS-initiated CALL (outcome unknown if sent)."""
        if self._closed:
            return []
        self._closed = True
        events: list[Event] = []
        if self._outstanding is not None:
            events.append(CallAborted(self._outstanding[0], self._outstanding[1], sent=True))
            self._outstanding = None
        if self._queue:
            events.extend(CallAborted(mid, action, sent=False) for mid, action, _ in self._queue)
            self._queue.clear()
        self._inbound = ()
        return events

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed
