"""A simulated station's SOAP transport (ocpp1.5s, ocpp1.6s): the same interface as a WebSocket
:class:`~csms.simulator.link.Link`, so the agent and the station logic are the 1.6J ones.

OCPP over SOAP has no connection: both sides are SOAP 1.2 servers over HTTP (the WSDLs' binding).

* The station's requests are POSTed to the CSMS's CentralSystemService (``url``) with HTTP Basic
  auth (the identity as username: security profiles 1 and 2), one at a time and in order (as
  OCPP-J's one outstanding CALL), each answered on its own HTTP exchange. Every request carries
  ``chargeBoxIdentity`` and the WS-Addressing MessageID, Action, To and From, whose address is the
  station's own ChargePointService endpoint.
* That endpoint is a small HTTP/1.1 server of this link, on ``host`` (loopback by default) and a
  port of its own: the CSMS's calls (RemoteStart/Stop, Reset, ChangeConfiguration...) are read
  (:class:`~csms.messages.soap.station.StationCodec`), handed to the agent's ``on_call`` as a
  :class:`~csms.rpc.events.CallReceived`, and the agent's :meth:`send_result` or
  :meth:`send_error` becomes the HTTP answer.

Outcomes of a request, as a :class:`Reply`: the answer's payload; a fault's OCPP-J error code;
``Timeout`` after ``call_timeout``; ``http <status>`` when the CSMS refuses the credentials or
the identity (401, 403, 404, 429: ``csms simulate`` explains each); ``Aborted`` when the CSMS
cannot be reached, which also ends :meth:`run` so the agent backs off and comes back, as after a
lost WebSocket. A message this version's SOAP binding does not have (1.6 security extension
messages, a 1.5 firmware status "Downloading") is not sent, as on a 1.5J link.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Callable, Coroutine
from typing import Any

import httpx

from csms.messages.soap.envelope import CONTENT_TYPE, fault_envelope, read_fault, read_request
from csms.messages.soap.errors import SoapFault
from csms.messages.soap.station import StationCodec
from csms.messages.soap.xml import parse_message
from csms.rpc.errors import CallErrorReply, ErrorCode
from csms.rpc.events import CallReceived
from csms.rpc.versions import OcppVersion
from csms.simulator.link import ABORTED, TIMEOUT, Reply, StationLink

logger = logging.getLogger(__name__)

Payload = dict[str, Any]
SoapCallHandler = Callable[[StationLink, CallReceived], Coroutine[Any, Any, None]]

# HTTP statuses that say the CSMS refuses the station itself (credentials, identity, budget).
REFUSALS = frozenset({401, 403, 404, 429})
MAX_REQUEST = 1 << 20  # a CSMS request larger than this is refused with 413
_MAX_HEAD = 16 * 1024
_HEAD_TIMEOUT = 30.0  # an idle keep-alive connection of the CSMS is closed after this


class SoapLink:
    """One SOAP station's transport: requests to the CSMS, its ChargePointService endpoint."""

    def __init__(
        self,
        *,
        identity: str,
        codec: StationCodec,
        url: str,
        on_call: SoapCallHandler,
        password: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        call_timeout: float = 30.0,
    ) -> None:
        self.identity = identity
        self.codec = codec
        self.url = url
        self.endpoint = ""  # the ChargePointService URL (WS-Addressing From), once started
        self._on_call = on_call
        self._client = httpx.AsyncClient(
            auth=None if password is None else (identity, password),
            verify=ssl_context if ssl_context is not None else True,
            timeout=call_timeout,
            follow_redirects=False,
            trust_env=False,
        )
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._lock = asyncio.Lock()  # one request of the station at a time, in order
        self._answers: dict[str, asyncio.Future[tuple[int, bytes]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = asyncio.Event()

    @classmethod
    async def open(cls, *, host: str = "127.0.0.1", **options: Any) -> SoapLink:
        """A link whose ChargePointService listens on ``host`` at a free port.

        Raises:
            OSError: the endpoint could not listen.
        """
        link = cls(**options)
        await link.start(host)
        return link

    async def start(self, host: str) -> None:
        """Start the ChargePointService endpoint (its URL becomes :attr:`endpoint`)."""
        self._server = await asyncio.start_server(
            self._connection, host, 0, limit=_MAX_HEAD, reuse_address=True
        )
        port = self._server.sockets[0].getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        self.endpoint = f"http://{shown}:{port}/"

    # ------------------------------------------------------------------ the station's requests

    async def call(self, action: str, payload: Payload) -> Reply:
        """POST ``action`` to the CentralSystemService and read its answer."""
        if self._closed.is_set():
            return Reply(error=ABORTED, description="link closed")
        try:
            envelope = self.codec.request(
                action, payload, identity=self.identity, to=self.url, from_address=self.endpoint
            )
        except CallErrorReply as exc:
            if exc.code in (ErrorCode.NOT_SUPPORTED, ErrorCode.NOT_IMPLEMENTED):
                logger.debug("%s: %s not sent over SOAP: %s", self.identity, action, exc)
                return Reply(payload={})  # nothing a SOAP station of this version would send
            logger.error(
                "%s: invalid OCPP %s %s: %s", self.identity, self.codec.version, action, exc
            )
            return Reply(error=exc.code.wire(OcppVersion.V16), description=exc.description)
        except SoapFault as exc:  # the payload does not fit the WSDL: ours to fix
            logger.error("%s: %s does not fit the WSDL: %s", self.identity, action, exc.reason)
            return Reply(error="FormationViolation", description=exc.reason)
        operation = self.codec.operation(action)
        headers = {
            "Content-Type": f'{CONTENT_TYPE}; action="{operation.action if operation else ""}"'
        }
        async with self._lock:
            if self._closed.is_set():
                return Reply(error=ABORTED, description="link closed")
            try:
                response = await self._client.post(self.url, content=envelope, headers=headers)
            except httpx.TimeoutException:
                return Reply(error=TIMEOUT)
            except httpx.HTTPError as exc:
                logger.info("%s: CSMS unreachable: %s", self.identity, exc)
                self._closed.set()  # as a lost connection: the agent backs off, comes back
                return Reply(error=ABORTED, description=type(exc).__name__)
            except RuntimeError:  # the link closed its client meanwhile
                if not self._closed.is_set():
                    raise
                return Reply(error=ABORTED, description="link closed")
        if response.status_code in REFUSALS:
            return Reply(error=f"http {response.status_code}", description=_reason(response))
        answer = self.codec.read_answer(action, response.content)
        return Reply(payload=answer.payload, error=answer.error, description=answer.description)

    # ------------------------------------------------------------------ the CSMS's requests

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One HTTP/1.1 connection of the CSMS (keep-alive): POST in, SOAP answer out."""
        self._writers.add(writer)
        try:
            while not self._closed.is_set():
                try:
                    async with asyncio.timeout(_HEAD_TIMEOUT):
                        head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
                    return
                method, length, keep_alive = _request_head(head)
                if method != "POST" or length is None or length > MAX_REQUEST:
                    status = 405 if method != "POST" else (411 if length is None else 413)
                    writer.write(_http(status, b"", "text/plain", keep_alive=False))
                    await writer.drain()
                    return
                body = await reader.readexactly(length)
                status, answer = await self._answer(body)
                writer.write(_http(status, answer, CONTENT_TYPE, keep_alive=keep_alive))
                await writer.drain()
                if not keep_alive:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _answer(self, data: bytes) -> tuple[int, bytes]:
        """Hand the CSMS's request to the agent and wait for its answer (or a fault)."""
        try:
            call = self.codec.read_call(data, identity=self.identity)
        except SoapFault as fault:
            logger.warning("%s: refused a CSMS request: %s", self.identity, fault.reason)
            return fault.status, fault_envelope(fault.code, fault.reason)
        future: asyncio.Future[tuple[int, bytes]] = asyncio.get_running_loop().create_future()
        self._answers[call.message_id] = future
        task = asyncio.create_task(
            self._on_call(self, CallReceived(call.message_id, call.action, call.payload))
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        try:
            return await future
        finally:
            self._answers.pop(call.message_id, None)

    def send_result(self, message_id: str, action: str, payload: Payload) -> None:
        """Answer the CSMS's call ``action`` (spelled for this version)."""
        future = self._answers.get(message_id)
        if future is None or future.done():
            return
        try:
            envelope = self.codec.answer(action, payload, relates_to=message_id)
        except (CallErrorReply, SoapFault) as exc:
            logger.error("%s: invalid SOAP answer to %s: %s", self.identity, action, exc)
            self.send_error(message_id, ErrorCode.INTERNAL_ERROR, "simulator bug")
            return
        future.set_result((200, envelope))

    def send_error(self, message_id: str, code: ErrorCode, description: str) -> None:
        """Answer the CSMS's call with the SOAP Fault of a CALLERROR."""
        future = self._answers.get(message_id)
        if future is not None and not future.done():
            future.set_result(self.codec.error(code, description, relates_to=message_id))

    async def flush(self) -> None:
        """Nothing to flush: each answer is written on its own HTTP exchange."""

    # ------------------------------------------------------------------ life

    async def run(self) -> None:
        """Serve until closed; then stop the endpoint and abort what is still waiting."""
        try:
            await self._closed.wait()
        finally:
            self._closed.set()
            if self._server is not None:
                self._server.close()
            for writer in list(self._writers):
                writer.close()
            for future in self._answers.values():
                if not future.done():
                    future.cancel()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            with contextlib.suppress(Exception):
                await self._client.aclose()

    async def close(self) -> None:
        """Go away (a reset or reboot): the endpoint stops, :meth:`run` returns."""
        self._closed.set()

    def abort(self) -> None:
        """The network goes down: as :meth:`close` (there is no connection to drop)."""
        self._closed.set()


def _request_head(head: bytes) -> tuple[str, int | None, bool]:
    """Method, Content-Length (None if absent or chunked) and keep-alive of a request head."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    method = parts[0] if len(parts) == 3 else ""
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    length_text = headers.get("content-length", "")
    length = int(length_text) if length_text.isdigit() else None
    if "transfer-encoding" in headers:
        length = None
    keep_alive = headers.get("connection", "").lower() != "close"
    return method, length, keep_alive


def _http(status: int, body: bytes, content_type: str, *, keep_alive: bool) -> bytes:
    reason = {200: "OK", 400: "Bad Request", 405: "Method Not Allowed", 411: "Length Required"}
    reason |= {413: "Content Too Large", 500: "Internal Server Error"}
    head = (
        f"HTTP/1.1 {status} {reason.get(status, 'Error')}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
    )
    return head.encode() + body


def _reason(response: httpx.Response) -> str:
    """The refusal's SOAP Fault reason (csms's gateway sends one with 401/403/404/429)."""
    try:
        reason = read_fault(read_request(parse_message(response.content)).body)
    except SoapFault:
        reason = None
    return reason or f"HTTP {response.status_code}"
