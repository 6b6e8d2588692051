"""The HTTP side of the SOAP endpoint: a small ASGI app served by uvicorn on CSMS_SOAP_PORT.

Only ``POST`` with a SOAP 1.2 (``application/soap+xml``) or SOAP 1.1 (``text/xml``, answered with
a VersionMismatch fault) body is read; anything else gets 405 or 415 before the body is read. The
body is bounded (CSMS_SOAP_MAX_MESSAGE_SIZE) by its Content-Length and again while it streams in,
so an oversize document is refused with 413 and never parsed. TLS is the WebSocket endpoint's
context (server/tls.py: TLS ≥ 1.2, the A00.FR.317 suites) whenever CSMS_TLS_CERT is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from typing import Any

import uvicorn

from csms.soap.gateway import Caller, SoapGateway

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_SOAP_TYPES = ("application/soap+xml", "text/xml")


class SoapApp:
    """ASGI application: one SOAP request per POST, answered by the :class:`SoapGateway`."""

    def __init__(self, gateway: SoapGateway, *, max_body: int) -> None:
        self._gateway = gateway
        self._max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if scope["method"] != "POST":
            await _plain(send, 405, "Only POST: send a SOAP 1.2 request.\n", (("Allow", "POST"),))
            return
        media = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media not in _SOAP_TYPES:
            await _plain(send, 415, "Send application/soap+xml (SOAP 1.2).\n")
            return
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self._max_body):
            await _plain(send, 413, f"At most {self._max_body} bytes.\n")
            return
        body = await _read_body(receive, self._max_body)
        if body is None:
            await _plain(send, 413, f"At most {self._max_body} bytes.\n")
            return
        client = scope.get("client")
        caller = Caller(
            authorization=headers.get("authorization"),
            address=str(client[0]) if client else "",
            tls=scope.get("scheme") == "https",
        )
        reply = await self._gateway.handle(body, caller)
        await send(
            {
                "type": "http.response.start",
                "status": reply.status,
                # A Content-Length (not chunked): one write, no Nagle/delayed-ACK stall per call.
                "headers": [
                    *((k.encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers),
                    (b"content-length", str(len(reply.body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": reply.body})


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The request body, or None as soon as it exceeds ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b""
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _plain(
    send: Send, status: int, text: str, extra: tuple[tuple[str, str], ...] = ()
) -> None:
    data = text.encode()
    headers = [(b"content-type", b"text/plain; charset=utf-8")]
    headers += [(b"content-length", str(len(data)).encode())]
    headers += [(k.encode(), v.encode()) for k, v in extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


class _EmbeddedUvicorn(uvicorn.Server):
    """uvicorn without its signal handlers: csms's CLI owns SIGINT/SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class SoapEndpoint:
    """The SOAP endpoint: uvicorn on its own socket, and the presence sweeper."""

    def __init__(
        self,
        gateway: SoapGateway,
        *,
        sock: socket.socket,
        max_body: int,
        ssl_context: ssl.SSLContext | None,
        sweep_interval: float,
    ) -> None:
        self._gateway = gateway
        self._sock = sock
        self._sweep_interval = sweep_interval
        config = uvicorn.Config(
            SoapApp(gateway, max_body=max_body),
            log_config=None,
            access_log=False,
            lifespan="on",
            timeout_keep_alive=30,
            server_header=False,
        )
        # Loaded here so the TLS context is server/tls.py's (serve() keeps a loaded config).
        config.load()
        config.ssl = ssl_context
        self._server = _EmbeddedUvicorn(config)
        self._task: asyncio.Task[None] | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self.tls = ssl_context is not None

    @property
    def port(self) -> int:
        """The bound TCP port (useful with port 0)."""
        return int(self._sock.getsockname()[1])

    async def start(self) -> None:
        """Serve until :meth:`close`; return once uvicorn is listening."""
        self._task = asyncio.create_task(self._server.serve(sockets=[self._sock]))
        while not self._server.started:
            if self._task.done():
                with contextlib.suppress(SystemExit):
                    await self._task
                raise RuntimeError("the SOAP endpoint stopped during start-up")
            await asyncio.sleep(0.01)
        self._sweeper = asyncio.create_task(self._sweep())

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self._sweep_interval)
            try:
                await self._gateway.expire()
            except Exception:  # never let the sweeper die: presence would stop expiring
                logger.exception("SOAP presence sweep failed")

    async def close(self) -> None:
        """Stop the sweeper and uvicorn (in-flight requests finish)."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        if self._task is not None:
            self._server.should_exit = True
            with contextlib.suppress(SystemExit):
                await self._task
            self._task = None
