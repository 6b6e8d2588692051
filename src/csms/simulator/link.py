"""One WebSocket connection of a simulated station, pumping the sans-I/O :class:`RpcSession`.

The same core csms uses server-side: frames are parsed and correlated by :mod:`csms.rpc`, and this
module only moves bytes and time (the websockets/h11 shape, docs/architecture.md). Replies to the
station's CALLs resolve futures; CSMS CALLs are handed to ``on_call`` in a task of their own, so a
slow answer never blocks the reader (1.6 §4.1.1 NOTE: CALLs may cross).

A 1.5J station (``dialect``) runs the 1.6 station logic: this link maps its payloads to 1.5 on the
way out and back to 1.6 on the way in (:class:`~csms.messages.ocpp15.Ocpp15Json`), each checked
against the 1.5 schema, so the CSMS only ever sees 1.5. A status 1.5 cannot express (a firmware
"Downloading") is not sent: the station behaves as a 1.5 one, which has no such state.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from csms.messages.ocpp15 import Ocpp15Json
from csms.messages.schemas import SchemaKind
from csms.rpc.errors import CallErrorReply, ErrorCode, OutboundQueueFull
from csms.rpc.events import (
    CallAborted,
    CallReceived,
    CallTimedOut,
    ErrorReceived,
    Event,
    ProtocolViolation,
    ResultReceived,
)
from csms.rpc.session import RpcSession

logger = logging.getLogger(__name__)

Payload = dict[str, Any]
CallHandler = Callable[["StationLink", CallReceived], Coroutine[Any, Any, None]]

TIMEOUT = "Timeout"
ABORTED = "Aborted"


@dataclass(frozen=True, slots=True)
class Reply:
    """The outcome of one of the station's CALLs.

    ``error`` is the CALLERROR code, or ``Timeout`` (no answer in time) or ``Aborted`` (the
    connection went away; the CSMS may or may not have processed it).
    """

    payload: Payload | None = None
    error: str | None = None
    description: str = ""

    @property
    def ok(self) -> bool:
        """True for a CALLRESULT."""
        return self.error is None


class StationLink(Protocol):
    """What the agent drives: a WebSocket :class:`Link` or a SOAP
    :class:`~csms.simulator.soaplink.SoapLink` (the station logic is the same over both)."""

    identity: str

    async def call(self, action: str, payload: Payload) -> Reply:
        """Send one of the station's messages and await the CSMS's answer."""
        ...

    def send_result(self, message_id: str, action: str, payload: Payload) -> None:
        """Answer the CSMS's call ``message_id``."""
        ...

    def send_error(self, message_id: str, code: ErrorCode, description: str) -> None:
        """Refuse the CSMS's call ``message_id`` with a CALLERROR (SOAP: a fault)."""
        ...

    async def flush(self) -> None:
        """Write what is ready to be sent."""
        ...

    async def run(self) -> None:
        """Serve until the link ends (closed, lost)."""
        ...

    async def close(self) -> None:
        """End the link cleanly (a reset or reboot)."""
        ...

    def abort(self) -> None:
        """End the link abruptly (power loss, network down)."""
        ...


class Link:
    """A live connection: send CALLs, answer the CSMS, flush frames, time out CALLs."""

    def __init__(
        self,
        ws: ClientConnection,
        session: RpcSession,
        *,
        identity: str,
        on_call: CallHandler,
        dialect: Ocpp15Json | None = None,
    ) -> None:
        self.ws = ws
        self.dialect = dialect
        self.session = session
        self.identity = identity
        self._on_call = on_call
        self._waiting: dict[str, asyncio.Future[Reply]] = {}
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop = asyncio.get_running_loop()

    async def call(self, action: str, payload: Payload) -> Reply:
        """Send a CALL (queued behind an outstanding one by the session) and await its reply."""
        if self.session.closed:
            return Reply(error=ABORTED, description="connection closed")
        if self.dialect is not None:
            try:
                payload = self.dialect.outbound(action, SchemaKind.REQUEST, payload)
            except CallErrorReply as exc:
                if exc.code is ErrorCode.NOT_SUPPORTED:  # nothing a 1.5 station would send
                    return Reply(payload={})
                logger.error("%s: invalid OCPP 1.5 %s: %s", self.identity, action, exc)
                return Reply(error=exc.code.wire(self.session.version), description=str(exc))
        try:
            mid = self.session.send_call(action, payload, self._loop.time())
        except OutboundQueueFull as exc:
            return Reply(error=ABORTED, description=str(exc))
        future: asyncio.Future[Reply] = self._loop.create_future()
        self._waiting[mid] = future
        self._wake.set()
        await self.flush()
        return await future

    async def flush(self) -> None:
        """Write every frame the session has ready, as text frames (OCPP-J 1.6 §4.1.2)."""
        for data in self.session.data_to_send():
            try:
                await self.ws.send(data.decode())
            except ConnectionClosed:
                return

    async def run(self) -> None:
        """Read until the connection closes; then abort what is still waiting."""
        timer = asyncio.create_task(self._timer())
        try:
            async for message in self.ws:
                await self._handle(self.session.receive(message, self._loop.time()))
        except ConnectionClosed:
            pass
        finally:
            timer.cancel()
            self._settle(self.session.close())
            for task in list(self._tasks):
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(timer, *self._tasks, return_exceptions=True)

    async def _timer(self) -> None:
        while True:
            deadline = self.session.next_deadline()
            if deadline is None:
                self._wake.clear()
                await self._wake.wait()
                continue
            await asyncio.sleep(max(0.0, deadline - self._loop.time()))
            await self._handle(self.session.expire(self._loop.time()))

    async def _handle(self, events: list[Event]) -> None:
        for event in events:
            if type(event) is CallReceived:
                if self.dialect is not None:
                    try:
                        self.dialect.check_call(event.action, from_station=False)
                        payload = self.dialect.inbound(
                            event.action, SchemaKind.REQUEST, event.payload
                        )
                    except CallErrorReply as exc:
                        self.session.send_error(event.message_id, exc.code, exc.description)
                        continue
                    call = dataclasses.replace(event, payload=payload)
                else:
                    call = event
                task = asyncio.create_task(self._on_call(self, call))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            elif type(event) is ProtocolViolation:
                logger.warning("%s: protocol violation by the CSMS: %s", self.identity, event)
            else:
                self._settle([event])
        await self.flush()

    def _settle(self, events: list[Event]) -> None:
        for event in events:
            reply: Reply
            if type(event) is ResultReceived:
                reply = self._result(event)
            elif type(event) is ErrorReceived:
                reply = Reply(error=event.raw_code, description=event.description)
            elif type(event) is CallTimedOut:
                reply = Reply(error=TIMEOUT)
            elif type(event) is CallAborted:
                reply = Reply(error=ABORTED)
            else:
                continue
            future = self._waiting.pop(event.message_id, None)
            if future is not None and not future.done():
                future.set_result(reply)
        if self.session.next_deadline() is not None:
            self._wake.set()

    def _result(self, event: ResultReceived) -> Reply:
        if self.dialect is None:
            return Reply(payload=event.payload)
        try:
            return Reply(
                payload=self.dialect.inbound(event.action, SchemaKind.RESPONSE, event.payload)
            )
        except CallErrorReply as exc:
            logger.warning(
                "%s: invalid OCPP 1.5 answer to %s: %s", self.identity, event.action, exc
            )
            return Reply(error=exc.code.wire(self.session.version), description=exc.description)

    def send_result(self, message_id: str, action: str, payload: Payload) -> None:
        """Answer the CSMS's CALL ``action`` (a 1.5J station's answer is mapped to 1.5)."""
        if self.dialect is not None:
            try:
                payload = self.dialect.outbound(action, SchemaKind.RESPONSE, payload)
            except CallErrorReply as exc:
                logger.error("%s: invalid OCPP 1.5 answer to %s: %s", self.identity, action, exc)
                self.session.send_error(message_id, ErrorCode.INTERNAL_ERROR, "simulator bug")
                return
        self.session.send_result(message_id, payload)

    def send_error(self, message_id: str, code: ErrorCode, description: str) -> None:
        """Answer the CSMS's CALL with a CALLERROR."""
        self.session.send_error(message_id, code, description)

    async def close(self) -> None:
        """Close the WebSocket cleanly (a reset or reboot)."""
        await self.ws.close()

    def abort(self) -> None:
        """Drop the TCP connection without a close frame (power loss, network down)."""
        transport = self.ws.transport
        if transport is not None:
            transport.abort()
