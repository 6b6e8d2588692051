"""One station's live OCPP session: pumps the sans-I/O :class:`RpcSession` over a websockets connection.

Tasks and ordering:

* the reader (``run``) feeds every message to the session and handles what comes back at once:
  replies to our CALLs resolve their waiters immediately, whatever the station's CALLs are doing;
* the station's CALLs are handled one after another, in arrival order, by a drain task created on
  demand (no idle task per connection), so transaction messages keep their order and a handler that
  sends a CALL to the same station never deadlocks (OCPP-J 1.6 §4.1.1 NOTE; mobilityhouse/ocpp#130);
* one writer at a time flushes the session's outgoing frames, in order;
* a timer, armed at the session's next deadline, times out our outstanding CALL;
* server pings come from the listener's shared :class:`~csms.server.keepalive.Keepalive` (no
  task per connection).

Misbehaviour is cheap: every per-frame or per-error line goes through the container's
:class:`~csms.log.LogLimiter` (a few lines per station and kind per interval, then a "repeated N
times" summary; one traceback per error class per interval), and a station that breaks the protocol
more than its :class:`~csms.blocks.dispatch.ViolationBudget` allows is closed with 1008.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, MutableMapping
from typing import Any, Protocol

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from csms.blocks.context import CallContext
from csms.blocks.dispatch import (
    DROPPED_SEND,
    LENIENT,
    REFUSED_CALL,
    SCHEMA_VIOLATION,
    Dispatcher,
    is_violation,
)
from csms.domain.errors import (
    CallFailed,
    CallOutcomeUnknown,
    CallTimeout,
    DomainError,
    InvalidPayload,
    NotSupportedByVersion,
    StationBusy,
    StationNotConnected,
    StorageError,
)
from csms.domain.metrics import ServerStats
from csms.messages.ocpp15 import Ocpp15Json
from csms.messages.schemas import SchemaKind
from csms.rpc import (
    CallAborted,
    CallErrorReply,
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
from csms.server.keepalive import Keepalive
from csms.server.wsidle import drop_handshake_callback, shrink_queues

logger = logging.getLogger(__name__)
# --log-frames writes every frame here at INFO (csms.log keeps it at INFO whatever the level).
frames_logger = logging.getLogger("csms.frames")

# Close codes (RFC 6455 §7.4.1).
CLOSE_PROTOCOL_ERROR = 1002
CLOSE_GOING_AWAY = 1001
CLOSE_POLICY_VIOLATION = 1008

# Names (lower case) of fields and configuration keys whose values are passwords: the station's
# (1.6 whitepaper A01.FR.09: never in logs; 2.1 SetNetworkProfile's basicAuthPassword) and the
# network ones (2.x apnPassword, vpn password).
_SECRET_NAMES = ("authorizationkey", "password")

# Log kinds of this module (the second half of the LogLimiter key).
PROTOCOL_VIOLATION = "protocol violation"
INVALID_RESULT = "invalid result"
STORAGE_ERROR = "storage error"
HANDLER_ERROR = "handler error"
LATE_REPLY = "late reply"
_KINDS = (
    PROTOCOL_VIOLATION,
    INVALID_RESULT,
    STORAGE_ERROR,
    HANDLER_ERROR,
    LATE_REPLY,
    REFUSED_CALL,
    SCHEMA_VIOLATION,
    DROPPED_SEND,
    LENIENT,
)


# Seconds between two notes that a station was seen (its last_seen_at is coalesced as coarsely).
SEEN_RESOLUTION = 1.0


def _status(result: dict[str, Any]) -> str:
    """The ``status`` a station answered a command with (Accepted, Rejected, ...), for /metrics."""
    status = result.get("status")
    return status if isinstance(status, str) and len(status) <= 32 else "result"


def loggable_frame(frame: str | bytes) -> str:
    """The frame as text, or a placeholder if it may carry a password (names compared
    case-insensitively)."""
    text = frame if isinstance(frame, str) else frame.decode("utf-8", "replace")
    lowered = text.lower()
    if any(name in lowered for name in _SECRET_NAMES):
        return "<frame withheld: it may carry a password>"
    return text


class FrameHook(Protocol):
    """The message log's hook on a connection (``csms.server.message_log.FrameTap``)."""

    def frame(self, inbound: bool, frame: str | bytes) -> None:
        """A frame was read (``inbound``) or written."""

    def closed(self) -> None:
        """The connection has ended: CALLs still waiting for an answer will get none."""


class StationLog(logging.LoggerAdapter[logging.Logger]):
    """Prefixes every line with the station identity; never logs credentials."""

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, Any]:
        """Add ``[station]`` in front of the message and the ids as ``extra`` fields."""
        extra = self.extra or {}
        kwargs["extra"] = {**extra, **kwargs.get("extra", {})}
        return f"[{extra.get('station_id')}] {msg}", kwargs


class StationConnection:
    """The live session of one station."""

    __slots__ = (
        "_call_timeout",
        "_close_request",
        "_close_task",
        "_dialect",
        "_dispatcher",
        "_drain_task",
        "_flush_task",
        "_flushing",
        "_inbound",
        "_keepalive",
        "_limiter",
        "_log_frames",
        "_loop",
        "_mark_seen",
        "_session",
        "_stats",
        "_tap",
        "_timer",
        "_timer_at",
        "_violation_times",
        "_waiters",
        "ctx",
        "freeze_epoch",
        "log",
        "protocol",
        "station_id",
        "version",
        "ws",
    )

    def __init__(
        self,
        ws: ServerConnection,
        ctx: CallContext,
        dispatcher: Dispatcher,
        *,
        call_timeout: float,
        max_queued_calls: int,
        log_frames: bool = False,
        mark_seen: Callable[[str], None] | None = None,
        tap: FrameHook | None = None,
        stats: ServerStats | None = None,
        dialect: Ocpp15Json | None = None,
        keepalive: Keepalive | None = None,
    ) -> None:
        self.ws = ws
        shrink_queues(ws)  # ~1.7 KiB less per idle connection (server/wsidle.py)
        drop_handshake_callback(ws)
        self.ctx = ctx
        self.freeze_epoch = 0  # set by the registry (the gc freezer's churn count)
        self.station_id = ctx.station_id
        # The version the handlers and typed commands speak (1.6 for a 1.5J station) and the one
        # negotiated on the wire ("1.5" with ``dialect``: payloads are mapped at this boundary).
        self.version: OcppVersion = ctx.version
        self._dialect = dialect
        self.protocol = "1.5" if dialect is not None else ctx.version.value
        self._dispatcher = dispatcher
        self._session = RpcSession(
            ctx.version, call_timeout=call_timeout, max_queued_calls=max_queued_calls
        )
        self._call_timeout = call_timeout
        self._loop = asyncio.get_running_loop()
        # Created on first use: most connections are idle most of the time (memory per connection).
        self._waiters: dict[str, asyncio.Future[dict[str, Any]]] | None = None
        self._inbound: deque[CallReceived | SendReceived] | None = None
        self._drain_task: asyncio.Task[None] | None = None
        self._flush_task: asyncio.Task[None] | None = None
        self._flushing = False
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._log_frames = StationLog(frames_logger, ctx.log.extra) if log_frames else None
        # Called for the connection and every frame received: last_seen_at reflects any message
        # (coalesced in memory by the storage, no write per frame).
        self._mark_seen = mark_seen
        # The message log's hook, called with (inbound, frame) for every frame read or written,
        # and the process's message counters (/metrics); both cost a few hundred ns per frame.
        # (No bound method or partial kept per connection: each is one more object per idle
        # station; ``mark_seen`` is one callable shared by all, given the station id.)
        self._tap = tap
        self._stats = stats
        self._close_request: tuple[int, str] | None = None
        self._close_task: asyncio.Task[None] | None = None
        self._limiter = dispatcher.log_limiter
        ctx.log_limiter = self._limiter
        # Times of the last ``limit`` protocol violations; created on the first one.
        self._violation_times: deque[float] | None = None
        self.log = ctx.log
        # The listener's shared pinger (None: no server pings), joined while ``run`` reads.
        self._keepalive = keepalive

    # ------------------------------------------------------------------ reading

    async def run(self) -> None:
        """Read until the connection closes, then abort whatever is still pending."""
        session = self._session
        loop = self._loop
        mark_seen = self._mark_seen
        seen_at = loop.time()
        station_id = self.station_id
        if mark_seen is not None:
            mark_seen(station_id)
        if self._keepalive is not None:
            self._keepalive.add(self.ws)
        try:
            async for message in self.ws:
                # last_seen_at is written about once a second anyway: mark it at most that often.
                if mark_seen is not None and (now := loop.time()) - seen_at >= SEEN_RESOLUTION:
                    seen_at = now
                    mark_seen(station_id)
                if self._log_frames is not None:
                    self._log_frames.info("<- %s", loggable_frame(message))
                if self._tap is not None:
                    self._tap.frame(True, message)
                # No local keeps the frame or its events (the last CALL's payload) alive while the
                # session idles: this coroutine's frame lives as long as the connection.
                self._handle_events(
                    session.receive(message, loop.time())
                    if isinstance(message, str)
                    else session.receive_binary()
                )
                del message
                await self._flush()
                if self._close_request is not None:
                    await self.ws.close(*self._close_request)
                    break
        except ConnectionClosed:
            pass
        finally:
            await self._teardown()

    def _handle_events(self, events: list[Event]) -> None:
        for event in events:
            if type(event) is CallReceived or type(event) is SendReceived:
                if self._inbound is None:
                    self._inbound = deque()
                self._inbound.append(event)
                if self._drain_task is None:
                    self._drain_task = asyncio.create_task(self._drain())
            elif type(event) is ResultReceived:
                self._resolve_result(event)
            elif type(event) is ErrorReceived:
                self._fail(
                    event.message_id,
                    CallFailed(event.raw_code, event.description, event.details),
                )
            elif type(event) is CallTimedOut:
                self._fail(event.message_id, CallTimeout(f"no reply to {event.action} in time"))
            elif type(event) is CallAborted:
                error: DomainError = (
                    CallOutcomeUnknown(f"connection closed while {event.action} was on the wire")
                    if event.sent
                    else StationNotConnected(f"connection closed before {event.action} was sent")
                )
                self._fail(event.message_id, error)
            elif type(event) is ProtocolViolation:
                self._limited(
                    logging.WARNING, PROTOCOL_VIOLATION, "protocol violation: %s", event.description
                )
                if event.counts:
                    self._violation()
                if event.fatal and self._close_request is None:
                    self.log.warning("too many bad frames in a row; closing the connection (1002)")
                    self._request_close(CLOSE_PROTOCOL_ERROR, "too many invalid frames")
        self._arm_timer()

    def _resolve_result(self, event: ResultReceived) -> None:
        waiter = self._waiters.get(event.message_id) if self._waiters else None
        payload = event.payload
        try:
            if self._dialect is not None:  # 1.5J: the 1.5 schema, then the shared 1.6 model
                payload = self._dialect.inbound(event.action, SchemaKind.RESPONSE, payload)
            self._dispatcher.check_result(self.ctx, event.action, payload)
        except CallErrorReply as exc:
            self._limited(
                logging.WARNING,
                INVALID_RESULT,
                "invalid %s result: %s",
                event.action,
                exc.description,
            )
            self._violation()
            if self.version is OcppVersion.V21:
                self._session.send_result_error(event.message_id, exc.code, exc.description)
            if waiter is not None and not waiter.done():
                waiter.set_exception(
                    CallFailed(
                        exc.code.wire(self.version),
                        f"the station's response is invalid: {exc.description}",
                        exc.details,
                    )
                )
            return
        if waiter is None:
            self._limited(
                logging.INFO,
                LATE_REPLY,
                "reply to %s arrived after its caller gave up",
                event.action,
            )
        elif not waiter.done():
            waiter.set_result(payload)

    def _fail(self, message_id: str, error: DomainError) -> None:
        waiter = self._waiters.get(message_id) if self._waiters else None
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)

    # ------------------------------------------------------------------ the station's CALLs

    async def _drain(self) -> None:
        inbound = self._inbound
        try:
            while inbound and self._close_request is None:  # closing: the rest is dropped
                event = inbound.popleft()
                if type(event) is SendReceived:
                    if not await self._dispatcher.handle_send(
                        self.ctx, event.action, event.payload
                    ):
                        self._violation()
                    continue
                assert type(event) is CallReceived
                await self._answer(event)
                await self._flush()
        finally:
            self._drain_task = None
            if not inbound:
                self._inbound = None  # most connections idle: keep no deque around

    async def _answer(self, event: CallReceived) -> None:
        stats = self._stats
        started = self._loop.time() if stats is not None else 0.0
        outcome = "error"
        try:
            payload = event.payload
            if self._dialect is not None:
                payload = self._from_15(event.action, payload)
            result = await self._dispatcher.handle_call(self.ctx, event.action, payload)
            if self._dialect is not None:
                result = self._to_15(event.action, result)
        except CallErrorReply as exc:
            self._reply_error(event.message_id, exc.code, exc.description, exc.details)
            if is_violation(exc):  # logged by the dispatcher or _from_15
                self._violation()
        except StorageError as exc:
            self._limited(
                logging.ERROR,
                STORAGE_ERROR,
                "could not persist %s; answering InternalError",
                event.action,
                exc=exc,
            )
            self._reply_error(event.message_id, ErrorCode.INTERNAL_ERROR, "storage unavailable")
        except Exception as exc:
            self._limited(
                logging.ERROR, HANDLER_ERROR, "handler of %s failed", event.action, exc=exc
            )
            self._reply_error(event.message_id, ErrorCode.INTERNAL_ERROR, "internal error")
        else:
            outcome = "result"
            try:
                self._session.send_result(event.message_id, result)
            except LocalProtocolError:
                self.log.info("connection closed before %s could be answered", event.action)
        if stats is not None:
            stats.answered(self.protocol, event.action, outcome, self._loop.time() - started)

    def _from_15(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """A 1.5J CALL's payload on the shared model: 1.5 action and schema, then mapped.

        Raises:
            CallErrorReply: NotImplemented (not a 1.5 action), NotSupported (a CSMS operation),
                or the 1.5 schema violation's code; logged here at a bounded rate.
        """
        assert self._dialect is not None
        try:
            self._dialect.check_call(action, from_station=True)
            return self._dialect.inbound(action, SchemaKind.REQUEST, payload)
        except CallErrorReply as exc:
            self._limited(
                logging.INFO,
                SCHEMA_VIOLATION,
                "%s refused (OCPP 1.5): %s (%s)",
                action[:64],
                exc.code.wire(self.version),
                exc.description,
            )
            raise

    def _to_15(self, action: str, result: dict[str, Any]) -> dict[str, Any]:
        """The handler's 1.6 answer spelled and checked as 1.5 (a failure is csms's bug)."""
        assert self._dialect is not None
        try:
            return self._dialect.outbound(action, SchemaKind.RESPONSE, result)
        except CallErrorReply as exc:
            self._limited(
                logging.ERROR,
                HANDLER_ERROR,
                "csms built an invalid OCPP 1.5 %s response: %s",
                action,
                exc.description,
            )
            raise CallErrorReply(
                ErrorCode.INTERNAL_ERROR, "the CSMS failed to build a response"
            ) from exc

    # ------------------------------------------------------------------ misbehaviour

    def _limited(
        self, level: int, kind: str, msg: str, *args: object, exc: BaseException | None = None
    ) -> None:
        if not self._limiter.log(self.log, level, self.station_id, kind, msg, *args, exc=exc):
            self.ctx.suppressed_log_lines += 1

    def _violation(self) -> None:
        """Count a protocol violation; close with 1008 when the budget is spent."""
        self.ctx.protocol_violations += 1
        budget = self._dispatcher.violation_budget
        times = self._violation_times
        if times is None:
            times = self._violation_times = deque(maxlen=budget.limit)
        now = self._loop.time()
        times.append(now)
        if (
            len(times) == budget.limit
            and now - times[0] <= budget.window
            and self._close_request is None
        ):
            self.log.warning(
                "%d protocol violations in %.0f s; closing the connection (1008)",
                budget.limit,
                budget.window,
            )
            self._request_close(CLOSE_POLICY_VIOLATION, "too many protocol violations")

    def _request_close(self, code: int, reason: str) -> None:
        """Close soon: the reader closes after its current frame, this task if the reader idles."""
        self._close_request = (code, reason)
        if self._close_task is None:
            self._close_task = asyncio.create_task(self.ws.close(code, reason))

    def _reply_error(
        self,
        message_id: str,
        code: ErrorCode,
        description: str,
        details: dict[str, Any] | None = None,
    ) -> None:
        try:
            self._session.send_error(message_id, code, description, details)
        except LocalProtocolError:
            self.log.info("connection closed before a CALLERROR could be sent")

    # ------------------------------------------------------------------ our CALLs

    async def call(
        self,
        action: str,
        payload: dict[str, Any],
        *,
        timeout: float | None = None,
        password_rotation: bool = False,
    ) -> dict[str, Any]:
        """Send a CALL to the station and return its CALLRESULT payload.

        ``timeout`` bounds the whole wait, queueing included; the session's own response timeout
        (counted from when the CALL goes on the wire) still frees the station's slot. Every CALL
        passes :meth:`Dispatcher.check_outbound` (``password_rotation``: see there).
        """
        self._dispatcher.check_outbound(
            self.ctx, action, payload, password_rotation=password_rotation
        )
        if self._dialect is not None:
            payload = self._call_15(action, payload)
        # The operator acted on this station (e.g. accepted it, then TriggerMessage): its next
        # BootNotification must read the registration status, not the handshake's.
        self.ctx.handshake_status = None
        try:
            mid = self._session.send_call(action, payload, self._loop.time())
        except OutboundQueueFull as exc:
            raise StationBusy(str(exc)) from exc
        except LocalProtocolError as exc:
            raise StationNotConnected("the connection is closing") from exc
        waiter: asyncio.Future[dict[str, Any]] = self._loop.create_future()
        if self._waiters is None:
            self._waiters = {}
        self._waiters[mid] = waiter
        self._arm_timer()
        outcome, status = "aborted", "Unknown"
        try:
            await self._flush()
            async with asyncio.timeout(timeout if timeout is not None else self._call_timeout):
                result = await waiter
            outcome, status = "result", _status(result)
            return result
        except TimeoutError:
            outcome, status = "timeout", "Timeout"
            queued = self._session.cancel_call(mid)
            raise CallTimeout(
                f"{action} still waiting in the queue"
                if queued
                else f"no reply to {action} in time"
            ) from None
        except CallFailed:
            outcome, status = "error", "CallError"
            raise
        except CallTimeout:
            outcome, status = "timeout", "Timeout"
            raise
        except StationNotConnected:
            status = "NotConnected"
            raise
        finally:
            self._waiters.pop(mid, None)
            if not self._waiters:
                self._waiters = None
            if self._stats is not None:
                self._stats.called(self.protocol, action, outcome, status)

    def _call_15(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """A CSMS CALL (checked against the shared 1.6 model) spelled for a 1.5J station.

        Raises:
            NotSupportedByVersion: 1.5 has no such operation (TriggerMessage, SetChargingProfile,
                the security extension...) or cannot carry the payload (a RemoteStart
                chargingProfile): the API's 422, nothing is sent.
            InvalidPayload: the mapped payload violates the 1.5 schema (e.g. a longer string).
        """
        assert self._dialect is not None
        try:
            self._dialect.check_call(action, from_station=False)
            return self._dialect.outbound(action, SchemaKind.REQUEST, payload)
        except CallErrorReply as exc:
            if exc.code in (ErrorCode.NOT_IMPLEMENTED, ErrorCode.NOT_SUPPORTED):
                raise NotSupportedByVersion(exc.description) from None
            raise InvalidPayload(
                f"{action} is not valid for OCPP 1.5: {exc.description}",
                code=exc.code.wire(self.version),
            ) from None

    def send_message(self, action: str, payload: dict[str, Any]) -> None:
        """2.1: send an unconfirmed SEND."""
        self._session.send_message(action, payload)
        self._spawn_flush()

    # ------------------------------------------------------------------ writing and time

    async def _flush(self) -> None:
        if self._flushing:
            return
        self._flushing = True
        try:
            while out := self._session.data_to_send():
                for data in out:
                    if self._log_frames is not None:
                        self._log_frames.info("-> %s", loggable_frame(data))
                    if self._tap is not None:
                        self._tap.frame(False, data)
                    await self.ws.send(data, text=True)
        except ConnectionClosed:
            pass
        finally:
            self._flushing = False

    def _spawn_flush(self) -> None:
        if self._flush_task is None or self._flush_task.done():
            self._flush_task = asyncio.create_task(self._flush())

    def _arm_timer(self) -> None:
        deadline = self._session.next_deadline()
        if deadline == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = deadline
        if deadline is not None:
            self._timer = self._loop.call_at(deadline, self._on_deadline)

    def _on_deadline(self) -> None:
        self._timer = None
        self._timer_at = None
        self._handle_events(self._session.expire(self._loop.time()))
        self._spawn_flush()

    async def close(self, code: int = CLOSE_GOING_AWAY, reason: str = "") -> None:
        """Close the connection; ``run`` then tears the session down."""
        await self.ws.close(code, reason)

    async def _teardown(self) -> None:
        if self._keepalive is not None:
            self._keepalive.discard(self.ws)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._handle_events(self._session.close())
        # CALLs not yet started were never acknowledged: drop them, the station will send them again.
        if self._inbound is not None:
            self._inbound.clear()
        if self._drain_task is not None:
            # Let the CALL being handled finish: its data is committed even if the answer is lost.
            try:
                await asyncio.wait_for(asyncio.shield(self._drain_task), timeout=10)
            except TimeoutError:
                self.log.warning("a handler was still running 10 s after the connection closed")
        if self._flush_task is not None and not self._flush_task.done():
            self._flush_task.cancel()
        if self._tap is not None:  # after the last frame: CALLs still waiting get no answer
            self._tap.closed()
        self._limiter.flush(self.station_id, _KINDS)
        ctx = self.ctx
        if ctx.protocol_violations or ctx.suppressed_log_lines or ctx.schema_violations:
            self.log.info(
                "session counters: %d protocol violations, %d schema violations handled leniently,"
                " %d log lines suppressed",
                ctx.protocol_violations,
                ctx.schema_violations,
                ctx.suppressed_log_lines,
            )
