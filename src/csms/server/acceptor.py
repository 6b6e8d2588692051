"""The OCPP endpoint's own accept loop: limits at accept, one deadline per handshake, TLS failures
and accept errors logged at a bounded rate (issue 7 findings 3 and 9).

asyncio and uvloop accept for websockets out of reach: uvloop drops connections silently when the
process is out of file descriptors (libuv's EMFILE trick), asyncio logs every failed accept, and a
failed TLS handshake is logged by neither. So csms accepts itself and hands each admitted socket to
websockets' protocol factory through ``loop.connect_accepted_socket``:

* a connection over ``max_connections``, or from an address (IPv6: a /64) that already has
  ``max_handshakes_per_address`` handshakes in progress, is closed at accept, before any byte is
  read (cheap, and the descriptor is free again at once);
* from accept to the end of the HTTP upgrade — the TLS handshake included — a connection has
  ``handshake_timeout`` seconds; a client that sends nothing or trickles its headers (slowloris) is
  aborted when they run out;
* EMFILE/ENFILE/ENOBUFS/ENOMEM at accept are logged once per interval with a count; accepting
  resumes by itself (the pending connections wait in the kernel's backlog meanwhile);
* a failed TLS handshake is logged with the peer address and OpenSSL's reason (A00.FR.323);
* while the process is saturated or too many connections are accepted and not yet upgraded
  (server/saturation.py, ``HandshakeShedder.pause_reason``), accept() is not called: connections
  wait in the kernel's backlog, their deadline not started, instead of being accepted only to wait
  in the event loop until it runs out. Accepting resumes when a handshake slot frees up, or at the
  next poll (every ``PAUSE_POLL`` s, for the loop-lag signal); pauses are logged at a bounded rate.
"""

from __future__ import annotations

import asyncio
import collections
import errno
import inspect
import logging
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

from websockets.asyncio.server import Server, ServerConnection, serve

from csms.domain.load import ConnectionLoad
from csms.log import KindLog
from csms.server.limits import ConnectionLimits, Refusal, Ticket
from csms.server.saturation import HandshakeShedder
from csms.server.tls import handshake_failure

logger = logging.getLogger(__name__)

# Accept errors that mean "no resources now", after which accepting is retried.
RESOURCE_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
ACCEPT_RETRY_DELAY = 0.1
# Connections accepted in a row before other tasks get a turn.
ACCEPT_BATCH = 64
LOG_INTERVAL = 10.0
# Seconds between two checks of the pause signal while accept() waits (a freed handshake slot
# wakes it sooner).
PAUSE_POLL = 0.05
# Seconds a connection accepted and silent still counts as "request coming": a burst's requests
# are in the socket buffer at accept; a client silent for longer is slow (or a slowloris) and must
# not hold accept() back (it is bounded by CSMS_MAX_PENDING_HANDSHAKES and the deadline instead).
UNREAD_GRACE = 0.5


class TrackedConnection(ServerConnection):
    """A websockets connection that tells the limits when its handshake ends and when it closes."""

    ticket: Ticket | None = None
    limits: ConnectionLimits | None = None

    async def handshake(self, *args: Any, **kwargs: Any) -> None:
        try:
            await super().handshake(*args, **kwargs)
        finally:
            if self.limits is not None and self.ticket is not None:
                self.limits.handshake_done(self.ticket)

    def connection_lost(self, exc: Exception | None) -> None:
        try:
            super().connection_lost(exc)
        finally:
            if self.limits is not None and self.ticket is not None:
                self.limits.release(self.ticket)


class StationAcceptor:
    """Listening sockets and their accept loops; stands in for the ``asyncio.Server`` of websockets."""

    def __init__(
        self,
        protocol_factory: Callable[[], TrackedConnection],
        limits: ConnectionLimits,
        *,
        ssl_context: ssl.SSLContext | None,
        handshake_timeout: float,
        shedder: HandshakeShedder | None = None,
        log_interval: float = LOG_INTERVAL,
    ) -> None:
        self._factory = protocol_factory
        self.limits = limits
        self.shedder = shedder
        self._ssl = ssl_context
        self._timeout = handshake_timeout
        # One line per kind per interval, then a count: accept errors and refusals come in floods.
        self._log = KindLog(logger, burst=1, interval=log_interval)
        self._log_interval = log_interval
        self._sockets: list[socket.socket] = []
        self._accepting: set[asyncio.Task[None]] = set()
        self._setups: set[asyncio.Task[None]] = set()
        # Transports until their handshake deadline, to abort unfinished handshakes at close.
        self._deadlines: dict[Ticket, asyncio.BaseTransport] = {}
        self._serving = False
        self._last_accept_error = -float("inf")
        self._loop: asyncio.AbstractEventLoop | None = None
        # Why accept() waits now (None: it does not), the future a freed slot or the poll sets,
        # and how many times it paused (for /metrics).
        self._paused: str | None = None
        self._resume: asyncio.Future[None] | None = None
        self.pauses_total = 0
        self.deadline_closures = 0  # handshakes cut by the deadline (for /metrics and tests)
        # Connections just accepted (accept time, ticket) whose request may not be read yet.
        self._recent: collections.deque[tuple[float, Ticket]] = collections.deque()
        limits.on_free = self._wake

    # ------------------------------------------------------------ asyncio.Server's part

    @property
    def sockets(self) -> tuple[socket.socket, ...]:
        return tuple(self._sockets)

    def get_loop(self) -> asyncio.AbstractEventLoop:
        assert self._loop is not None
        return self._loop

    def is_serving(self) -> bool:
        return self._serving

    async def start_serving(self) -> None:
        """Start the accept loops (once)."""
        if self._serving:
            return
        self._loop = asyncio.get_running_loop()
        self._serving = True
        if self.shedder is not None and self.shedder.lag is not None:
            self.shedder.lag.start(self._loop)
        for sock in self._sockets:
            task = self._loop.create_task(self._accept_loop(sock))
            self._accepting.add(task)

    def close(self) -> None:
        """Stop accepting and abandon handshakes still in TLS; sessions are websockets' to close."""
        self._serving = False
        if self.shedder is not None and self.shedder.lag is not None:
            self.shedder.lag.stop()
        for task in (*self._accepting, *self._setups):
            task.cancel()
        for ticket, transport in self._deadlines.items():
            if ticket.in_handshake and not ticket.released:
                cast(asyncio.Transport, transport).abort()
        self._deadlines.clear()
        if not self._accepting:  # never started; otherwise each loop closes its socket
            for sock in self._sockets:
                sock.close()

    async def wait_closed(self) -> None:
        tasks = (*self._accepting, *self._setups)
        if tasks:
            await asyncio.wait(tasks)

    # ------------------------------------------------------------ binding and accepting

    async def bind(
        self, host: str | None, port: int, backlog: int, *, reuse_port: bool = False
    ) -> None:
        """Bind every address ``host`` resolves to (all interfaces for "" or None); with
        ``reuse_port``, SO_REUSEPORT: processes bound to one port share its connections (Linux
        spreads them by a hash of the peer's address and port; `csms serve --workers`)."""
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
        seen: set[Any] = set()
        try:
            for family, kind, proto, _, address in infos:
                if address in seen:
                    continue
                seen.add(address)
                sock = socket.socket(family, kind, proto)
                self._sockets.append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if reuse_port:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                try:
                    sock.bind(address)
                except OSError as exc:
                    # The wording of asyncio's create_server, which callers may already expect.
                    raise OSError(
                        exc.errno,
                        f"error while attempting to bind on address {address!r}: "
                        f"{(exc.strerror or '').lower()}",
                    ) from None
                sock.listen(backlog)
                sock.setblocking(False)
        except BaseException:
            for sock in self._sockets:
                sock.close()
            self._sockets.clear()
            raise

    async def _accept_loop(self, listening: socket.socket) -> None:
        try:
            await self._accept_forever(listening)
        finally:
            listening.close()

    async def _accept_forever(self, listening: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        batch = 0
        while True:
            if (reason := self._pause_reason()) is not None:
                batch = 0
                await self._pause(loop, reason)
                continue
            self._paused = None
            try:
                sock, peer = listening.accept()
            except (BlockingIOError, InterruptedError):
                batch = 0
                await _readable(loop, listening)
                continue
            except OSError as exc:
                if exc.errno in RESOURCE_ERRNOS:
                    self._accept_failed(exc)
                elif exc.errno not in (errno.ECONNABORTED, errno.EPROTO, errno.EPERM):
                    self._log.log(logging.ERROR, "accept", "accept failed: %s", exc)
                await asyncio.sleep(ACCEPT_RETRY_DELAY)
                continue
            self._accepted(sock, str(peer[0]) if isinstance(peer, tuple) else str(peer))
            batch += 1
            if batch >= ACCEPT_BATCH:
                batch = 0
                await asyncio.sleep(0)

    def _pause_reason(self) -> str | None:
        if self.shedder is None:
            return None
        limits = self.limits
        return self.shedder.pause_reason(
            limits.working, limits.reading, limits.in_handshake, self._unread()
        )

    def _unread(self) -> int:
        """Connections accepted within UNREAD_GRACE whose request is not read yet."""
        recent = self._recent
        if recent:
            stale = time.monotonic() - UNREAD_GRACE
            forget = self.limits.forget_unread
            while recent and (recent[0][0] < stale or not recent[0][1].unread):
                forget(recent.popleft()[1])
        return self.limits.unread_recent

    async def _pause(self, loop: asyncio.AbstractEventLoop, reason: str) -> None:
        """Leave new connections in the kernel's backlog until a slot frees up or the next poll."""
        if self._paused is None:
            self.pauses_total += 1
            self._log.log(
                logging.WARNING,
                "paused",
                "OCPP endpoint paused accepting: %s; new connections wait in the listen backlog",
                reason,
            )
        self._paused = reason
        if self._resume is None or self._resume.done():
            self._resume = loop.create_future()
        resume = self._resume
        timer = loop.call_later(PAUSE_POLL, self._wake)
        try:
            await resume
        finally:
            timer.cancel()

    def _wake(self) -> None:
        """A handshake slot was freed (or the poll is due): the accept loops check again."""
        if self._resume is not None and not self._resume.done():
            self._resume.set_result(None)

    def _accept_failed(self, exc: OSError) -> None:
        self._last_accept_error = time.monotonic()
        self._log.log(
            logging.ERROR,
            "resources",
            "OCPP endpoint cannot accept connections: %s (%s); %d station connections open, "
            "max %d; retrying",
            exc.strerror,
            errno.errorcode.get(exc.errno or 0, exc.errno),
            self.limits.load().open,
            self.limits.max_connections,
        )

    def _accepted(self, sock: socket.socket, address: str) -> None:
        admitted = self.limits.admit(address)
        if isinstance(admitted, Refusal):
            sock.close()
            load = self.limits.load()
            self._log.log(
                logging.WARNING,
                admitted.name,
                "connection from %s closed at accept: %s (%d open, %d in handshake, max %d)",
                address,
                admitted.value,
                load.open,
                load.in_handshake,
                load.max,
            )
            return
        if self.shedder is not None and (self.shedder.max_handshakes or self.shedder.max_reads):
            self._recent.append((time.monotonic(), admitted))
            self.limits.count_unread(admitted)
        sock.setblocking(False)
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        task = asyncio.get_running_loop().create_task(self._set_up(sock, address, admitted))
        self._setups.add(task)
        task.add_done_callback(self._setups.discard)

    async def _set_up(self, sock: socket.socket, address: str, ticket: Ticket) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout

        def connection() -> TrackedConnection:
            conn = self._factory()
            conn.limits, conn.ticket = self.limits, ticket
            return conn

        try:
            transport, conn = await loop.connect_accepted_socket(
                connection,
                sock,
                ssl=self._ssl,
                ssl_handshake_timeout=self._timeout if self._ssl is not None else None,
            )
        except BaseException as exc:
            self.limits.release(ticket)
            if sock.fileno() != -1:
                sock.close()
            if isinstance(exc, Exception):
                # asyncio and uvloop report the TLS deadline as a ConnectionAbortedError.
                timed_out = isinstance(exc, TimeoutError) or loop.time() >= deadline - 0.01
                reason = (
                    f"no TLS handshake within {self._timeout:g} s"
                    if timed_out
                    else handshake_failure(exc)
                )
                self._log.log(
                    logging.WARNING,
                    f"tls:{reason}",
                    "security: TLS handshake from %s failed: %s",
                    address,
                    reason,
                )
                return
            raise
        self._deadlines[ticket] = transport
        loop.call_at(deadline, self._expire, ticket, address)
        del conn

    def _expire(self, ticket: Ticket, address: str) -> None:
        transport = self._deadlines.pop(ticket, None)
        if transport is not None and ticket.in_handshake and not ticket.released:
            self.deadline_closures += 1
            self._log.log(
                logging.WARNING,
                "deadline",
                "handshake from %s not finished within %.0f s; connection closed",
                address,
                self._timeout,
            )
            cast(asyncio.Transport, transport).abort()

    def load(self) -> ConnectionLoad:
        """Counters and saturation for the health report."""
        recent = time.monotonic() - self._last_accept_error < self._log_interval
        return self.limits.load(accept_errors=recent, paused=self._paused)


async def _readable(loop: asyncio.AbstractEventLoop, sock: socket.socket) -> None:
    waiter: asyncio.Future[None] = loop.create_future()

    def ready() -> None:
        if not waiter.done():
            waiter.set_result(None)

    loop.add_reader(sock.fileno(), ready)
    try:
        await waiter
    finally:
        loop.remove_reader(sock.fileno())


async def serve_stations(
    handler: Callable[[ServerConnection], Awaitable[None]],
    *,
    host: str | None,
    port: int,
    backlog: int,
    limits: ConnectionLimits,
    ssl_context: ssl.SSLContext | None,
    handshake_timeout: float,
    shedder: HandshakeShedder | None = None,
    reuse_port: bool = False,
    **websockets_options: Any,
) -> tuple[Server, StationAcceptor]:
    """A websockets server whose connections come from a :class:`StationAcceptor`.

    websockets builds its protocol factory inside ``serve``; it is taken from there (the closure of
    ``create_server``, websockets 17) and the acceptor stands in for the asyncio server.
    """
    server = serve(
        handler,
        create_connection=TrackedConnection,
        open_timeout=handshake_timeout,
        **websockets_options,
    )
    factory = inspect.getclosurevars(server.create_server).nonlocals.get("protocol_factory")
    if not callable(factory):  # pragma: no cover - guards a websockets upgrade
        raise RuntimeError("this websockets version does not expose its protocol factory")
    acceptor = StationAcceptor(
        factory,
        limits,
        ssl_context=ssl_context,
        handshake_timeout=handshake_timeout,
        shedder=shedder,
    )
    await acceptor.bind(host, port, backlog, reuse_port=reuse_port)

    async def create_server() -> asyncio.Server:
        await acceptor.start_serving()
        return cast(asyncio.Server, acceptor)

    server.create_server = create_server
    await server
    return server, acceptor
