"""The OCPP WebSocket endpoint: handshake checks, subprotocol negotiation, and one session per station.

Handshake (before any upgrade, so nothing is processed for a refused client):

1. a path without a valid identity, or an identity that is not registered while unknown stations are
   rejected, gets 404 (OCPP-J 1.6 §3.2; 2.0.1 Part 4 §3.2);
2. a station certificate (security profile 3, verified by the TLS layer) authenticates the station
   when its CN is the identity (and its O the operator's, if configured); otherwise 403
   (A00.FR.404/405/407; server/client_certificates.py). No Basic auth is needed then: the
   certificate is the profile 3 credential (A00.FR.401; Part 6 TC_A_04_CSMS: "the HTTP request only
   contains a username/password combination when the CSMS uses security profile 2");
   without a certificate, Basic auth (security profile ≥ 1, and whenever the station has a
   password): wrong username or password, or no header, gets 401 (1.6 security whitepaper
   A00.FR.202–204; OCTT TC_A_02/03_CSMS), or 429 once the identity's or the address's failure
   budget is spent (CWE-307). Credentials are checked first, so a right password is never
   throttled (server/admission.py);
   then a station on a lower security profile than its minimum (``min_security_profile``, default
   CSMS_SECURITY_PROFILE) gets 403; one on a higher profile has its minimum raised to it: csms
   "SHALL NOT allow the Charge Point to connect with a lower security profile anymore" (A05.FR.09);
3. an unknown station under the ``pending``/``accept`` policies registers itself, paced per process
   and per address (429) and, under ``pending``, up to a cap of Pending stations (503);
4. a second connection for a connected identity: the live session is pinged; if it answers within
   ``duplicate_probe_timeout`` the newcomer gets 409, otherwise the newcomer replaces it
   (ocpp-rules.md §2.5; SaiFlow 2023) — never two live sessions.

The subprotocol is the first one the station offers that csms speaks: ``ocpp2.1``, ``ocpp2.0.1``,
``ocpp1.6`` and, unless CSMS_OCPP15_JSON is off, the unofficial ``ocpp1.5`` (OCPP-J framing with
1.5 payloads, checked against the 1.5 WSDL's types and mapped onto the 1.6 handlers by
:class:`~csms.messages.ocpp15.Ocpp15Json`; everything else is as for 1.6J). With none acceptable (or no
header at all) the handshake completes without Sec-WebSocket-Protocol and the connection is closed at
once (OCPP-J 1.6 §3.2; 2.0.1 Part 4 §3.2; OCTT TC_088_CSMS) — it is never served as a default version.
"""

from __future__ import annotations

import asyncio
import logging
import math
import ssl
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from http import HTTPStatus

from websockets.asyncio.server import Server, ServerConnection
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from csms.blocks.context import CallContext
from csms.blocks.dispatch import Dispatcher
from csms.config import ServerSettings
from csms.domain.connections import Disconnection, close_reason
from csms.domain.credentials import (
    password_candidates,
    verify_password,
)
from csms.domain.errors import DomainError, StorageError
from csms.domain.load import ConnectionLoad
from csms.domain.metrics import ServerStats
from csms.domain.model import RegistrationStatus, Station, UnknownStationPolicy
from csms.domain.ports import StationRepository
from csms.log import KindLog
from csms.messages.ocpp15 import SUBPROTOCOL as OCPP15_SUBPROTOCOL
from csms.messages.ocpp15 import Ocpp15Json
from csms.rpc import ALL_VERSIONS, OcppVersion
from csms.server.acceptor import StationAcceptor, serve_stations
from csms.server.admission import Admission, first_use_password_hash
from csms.server.auth import basic_auth_password
from csms.server.client_certificates import (
    PeerCertificate,
    connection_profile,
    name_mismatch,
    peer_certificate,
)
from csms.server.connection import (
    CLOSE_GOING_AWAY,
    CLOSE_PROTOCOL_ERROR,
    FrameHook,
    StationConnection,
    StationLog,
)
from csms.server.identity import identity_from_path
from csms.server.keepalive import Keepalive
from csms.server.limits import (
    ConnectionLimits,
    Ticket,
    default_max_connections,
    descriptor_reserve,
    parse_networks,
    raise_nofile_limit,
)
from csms.server.registry import ConnectionRegistry
from csms.server.saturation import HandshakeShedder, pending_handshakes_bound
from csms.server.tls import server_context

logger = logging.getLogger(__name__)

# Seconds between two lines about handshakes answered 503 while saturated (then a count).
SATURATION_LOG_INTERVAL = 10.0
# Seconds between two "has no password" warnings for one station (its retries are refused too).
NO_PASSWORD_WARNING_INTERVAL = 60.0


class StationListener:
    """Accepts station connections and runs one :class:`StationConnection` per identity."""

    def __init__(
        self,
        settings: ServerSettings,
        *,
        stations: StationRepository,
        dispatcher: Dispatcher,
        registry: ConnectionRegistry,
        clock: Callable[[], datetime],
        versions: Sequence[OcppVersion] = ALL_VERSIONS,
        log_frames: bool = False,
        client_ca: str | None = None,
        frame_taps: Callable[[str], FrameHook] | None = None,
        stats: ServerStats | None = None,
    ) -> None:
        self._settings = settings
        # The stations' CAs (CSMS_TLS_CLIENT_CA, or the built-in CA's certificate under profile 3).
        self._client_ca = client_ca if client_ca is not None else settings.tls_client_ca
        self._stations = stations
        self._dispatcher = dispatcher
        self._registry = registry
        self._clock = clock
        self._versions = tuple(versions)
        self._log_frames = log_frames
        # The message log's hook per connection (None: the log is off) and the message counters.
        self._frame_taps = frame_taps
        self.stats = stats
        self._admission = Admission.from_settings(settings, logger)
        # Handshake admission under load (issue 11): 503 while saturated, one line per 10 s.
        self._shedder = HandshakeShedder(
            max_handshakes=settings.max_handshakes,
            max_loop_lag=settings.max_loop_lag,
            retry_after=settings.shed_retry_after,
            max_reads=settings.max_handshake_reads,
            max_pending=pending_handshakes_bound(
                settings.max_pending_handshakes, settings.max_handshakes
            ),
        )
        self._saturation_log = KindLog(logger, burst=1, interval=SATURATION_LOG_INTERVAL)
        # Serialises "count Pending stations, then add one" so the cap holds within this process.
        self._registering = asyncio.Lock()
        # Stations authenticated by process_request, picked up by the connection handler.
        self._admitted: weakref.WeakKeyDictionary[ServerConnection, Station] = (
            weakref.WeakKeyDictionary()
        )
        self._server: Server | None = None
        self._acceptor: StationAcceptor | None = None
        # While stopping (close): when the stop began, and the sessions that ended since, whose
        # disconnects are written together at the end instead of one by one.
        self._stop_at: datetime | None = None
        self._stopped: list[Disconnection] | None = None
        # Station id → when the "has no password" refusal was last logged (monotonic seconds).
        self._no_password_warned: dict[str, float] = {}
        # 1.5J's schemas and mapping, built at the first ocpp1.5 session (None: not yet).
        self._ocpp15: Ocpp15Json | None = None
        # One bound method for every session's "seen" note (not one object per connection).
        self._seen = self._mark_seen
        # Server pings for all sessions from one timer (idle cost, issue 11); websockets' own
        # keepalive (a task per connection) is off.
        self.keepalive = (
            Keepalive(settings.ping_interval, settings.ping_timeout)
            if settings.ping_interval is not None
            else None
        )

    @property
    def port(self) -> int:
        """The TCP port the listener is bound to (useful with port 0)."""
        if self._server is None:
            raise RuntimeError("listener not started")
        sock = next(iter(self._server.sockets))
        return int(sock.getsockname()[1])

    async def start(self) -> None:
        """Bind and start accepting connections (server/acceptor.py: limits, deadline, TLS)."""
        s = self._settings
        extensions = None
        if s.compression:
            # Memory-lean deflate: no context takeover either way, so an idle connection keeps no
            # zlib state (websockets docs, "Compression"; performance-anchors.md §4).
            extensions = [
                ServerPerMessageDeflateFactory(
                    server_no_context_takeover=True,
                    client_no_context_takeover=True,
                    server_max_window_bits=12,
                    compress_settings={"memLevel": 5},
                )
            ]
        self._server, self._acceptor = await serve_stations(
            self._handle,
            host=s.host,
            port=s.port,
            backlog=s.listen_backlog,
            limits=self._connection_limits(),
            ssl_context=self._tls_context(),
            handshake_timeout=s.open_timeout,
            shedder=self._shedder,
            reuse_port=s.reuse_port,
            process_request=self._process_request,
            select_subprotocol=self._select_subprotocol,
            compression=None,
            extensions=extensions,
            max_size=s.max_message_size,
            max_queue=4,
            ping_interval=None,  # self.keepalive pings every session
            close_timeout=s.close_timeout,
            server_header="csms",
        )
        logger.info(
            "OCPP endpoint listening on %s://%s:%d/ocpp/{station_id} (security profile %d)",
            "wss" if s.tls_cert else "ws",
            s.host,
            self.port,
            s.security_profile,
        )

    def _connection_limits(self) -> ConnectionLimits:
        """The cap on station connections: configured, or the open-files limit less a reserve."""
        s = self._settings
        limit = raise_nofile_limit()
        reserve = descriptor_reserve(limit)
        maximum = s.max_connections or default_max_connections(limit)
        if s.max_connections and s.max_connections > limit - reserve:
            logger.warning(
                "CSMS_MAX_CONNECTIONS=%d leaves fewer than %d of the %d file descriptors for the "
                "API, the database and files: at the limit they may fail",
                s.max_connections,
                reserve,
                limit,
            )
        logger.info(
            "station connections: at most %d (open-files limit %d), %d in handshake per address",
            maximum,
            limit,
            s.max_handshakes_per_address,
        )
        exempt = parse_networks(s.handshake_limit_exempt)
        return ConnectionLimits(maximum, s.max_handshakes_per_address, exempt)

    def load(self) -> ConnectionLoad | None:
        """Station connections open and in handshake, the cap and saturation (None if stopped)."""
        return None if self._acceptor is None else self._acceptor.load()

    def admission(self) -> dict[str, int]:
        """Handshake admission now and since start, for /metrics (server/saturation.py)."""
        acceptor = self._acceptor
        if acceptor is None:
            return {"shed": self._shedder.shed_total}
        load = acceptor.load()
        return {
            "in_handshake": load.in_handshake,
            "reading": load.reading,
            "accept_paused": int(load.accepting_paused is not None),
            "accept_pauses": acceptor.pauses_total,
            "deadline_closures": acceptor.deadline_closures,
            "shed": self._shedder.shed_total,
        }

    def _tls_context(self) -> ssl.SSLContext | None:
        """TLS ≥ 1.2, the A00.FR.317 suites, an RSA and/or an ECDSA certificate (server/tls.py)."""
        s = self._settings
        if s.tls_cert is None or s.tls_key is None:
            return None
        pairs = [(s.tls_cert, s.tls_key)]
        if s.tls_cert2 is not None and s.tls_key2 is not None:
            pairs.append((s.tls_cert2, s.tls_key2))
        return server_context(
            pairs,
            client_ca=self._client_ca,
            require_client_certificate=s.security_profile == 3,
        )

    async def close(self) -> None:
        """Stop accepting, close every session (1001) in bounded batches, wait for them to end,
        then write all their disconnects at once (docs/behaviour.md "Stopping").

        A session's teardown during the stop does no storage round trip of its own: 14,000 of
        them, each awaiting its "offline" write while the sockets close, took a worker past its
        60 s stop timeout (docs/performance.md, "100,000 stations across 7 processes").
        """
        server = self._server
        if server is not None:
            started = time.monotonic()
            self._stop_at = self._clock()
            self._stopped = []
            server.close(close_connections=False)  # stop accepting; late handshakes get 503
            closed, silent = await self._close_sessions(server)
            await server.wait_closed()  # every handler has returned
            stopped, self._stopped = self._stopped, None
            if stopped:
                try:
                    await self._stations.record_disconnections(stopped, at=self._stop_at)
                except StorageError:
                    logger.exception(
                        "could not record the disconnection of %d stations", len(stopped)
                    )
            logger.info(
                "stopped: %d sessions closed in %.1f s (%d did not answer the close frame "
                "within %g s and were aborted); %d disconnects written",
                closed,
                time.monotonic() - started,
                silent,
                self._settings.stop_close_timeout,
                len(stopped),
            )
            self._server = None
            self._acceptor = None
        if self.keepalive is not None:
            self.keepalive.close()

    async def _close_sessions(self, server: Server) -> tuple[int, int]:
        """Close every open session with 1001, at most CSMS_STOP_CLOSE_BATCH at a time, each
        waiting at most CSMS_STOP_CLOSE_TIMEOUT for the station's close frame (then aborted);
        return how many were closed and how many of them did not answer."""
        s = self._settings
        timeout = min(s.stop_close_timeout, s.close_timeout)  # never longer than outside a stop
        silent = 0

        async def closer(sessions: Iterator[ServerConnection]) -> None:
            # A pool of closers sharing one iterator (not a semaphore: its wake-ups scan the
            # waiters, quadratic in the sessions: 0.6 s of CPU for 3,000).
            nonlocal silent
            for ws in sessions:
                ws.close_timeout = timeout
                try:
                    await ws.close(CLOSE_GOING_AWAY)
                except Exception:  # the session ends anyway; its handler records it
                    logger.debug("closing a session failed", exc_info=True)
                if ws.protocol.close_rcvd is None:
                    silent += 1

        closed = 0
        # Sessions whose handshake completed while the first round closed are closed next round
        # (their handler also closes them at once, see _handle).
        for _ in range(3):
            sessions = list(server.connections)
            if not sessions:
                break
            closed += len(sessions)
            shared = iter(sessions)
            await asyncio.gather(
                *(closer(shared) for _ in range(min(s.stop_close_batch, len(sessions))))
            )
        return closed, silent

    # ---------------------------------------------------------------- handshake

    def _select_subprotocol(
        self, connection: ServerConnection, offered: Sequence[Subprotocol]
    ) -> Subprotocol | None:
        """The first offered subprotocol csms speaks (the station's order, OCPP-J 1.6 §3.2)."""
        for offer in offered:
            name = offer.strip()
            if name == OCPP15_SUBPROTOCOL and self._settings.ocpp15_json:
                return Subprotocol(name)
            version = OcppVersion.from_subprotocol(name)
            if version is not None and version in self._versions:
                return Subprotocol(version.subprotocol)
        return None

    async def _process_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        if connection.transport.is_closing():
            # The peer left (reset, timed out) while its request waited for its turn: nothing to
            # answer, no storage to touch (found in a 100,000-station reconnect storm).
            return connection.respond(HTTPStatus.BAD_REQUEST, "Connection closed.\n")
        if (refusal := self._shed(connection)) is not None:
            return refusal
        try:
            return await self._serve_request(connection, request)
        finally:
            ticket: Ticket | None = getattr(connection, "ticket", None)
            if ticket is not None and self._acceptor is not None:
                self._acceptor.limits.end_work(ticket)

    async def _serve_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        """The handshake checks (module docstring), once admitted under load."""
        address = _address(connection)
        identity = identity_from_path(request.path)
        if identity is None:
            return connection.respond(HTTPStatus.NOT_FOUND, "No station identity in the URL.\n")
        try:
            station = await self._read_station(connection, identity)
        except (
            StorageError
        ) as exc:  # an outage: one traceback per class and window, not per handshake
            self._admission.refusals.log(
                logging.ERROR,
                "storage unavailable",
                "station lookup failed for %r",
                identity,
                exc=exc,
            )
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "Try again later.\n")
        ssl_object = connection.transport.get_extra_info("ssl_object")
        certificate = peer_certificate(ssl_object)
        if (
            refusal := self._check_certificate(connection, address, identity, certificate)
        ) is not None:
            return refusal
        password = basic_auth_password(request.headers.get("Authorization"), identity)
        if station is not None and station.decommissioned_at is not None:
            # Decommissioned (issue 9): refused like an unknown identity, never re-registered.
            return self._refuse_unknown(connection, address, identity, HTTPStatus.NOT_FOUND)
        if station is None:
            return await self._admit_unknown(
                connection, address, identity, password, certified=certificate is not None
            )
        authenticated = certificate is not None or self._authenticated(station, password)
        refusals = self._admission.refusals
        wait = self._admission.throttle.login(identity, address, authenticated=authenticated)
        if wait:
            refusals.log(
                logging.WARNING,
                "security: failure budget spent",
                "security: authentication failed for %r from %s; failure budget spent (429)",
                identity,
                address,
            )
            return _too_many(connection, wait, "Too many failed attempts.\n")
        if not authenticated:
            if station.password_hash is None:
                self._warn_no_password(identity)
            refusals.log(
                logging.WARNING,
                "security: authentication failed",
                "security: authentication failed for %r from %s",
                identity,
                address,
            )
            return _unauthorized(connection)
        profile = connection_profile(
            tls=ssl_object is not None,
            certificate=certificate is not None,
            password=station.password_hash is not None,
        )
        if (
            refusal := await self._check_profile(connection, address, station, profile)
        ) is not None:
            return refusal
        if (refusal := await self._check_duplicate(connection, identity)) is not None:
            return refusal
        pending = station.pending_password_hash
        if certificate is None and pending is not None and _matches(password, pending):
            await self._take_pending_password(station, pending)
        self._admitted[connection] = station
        return None

    async def _read_station(self, connection: ServerConnection, identity: str) -> Station | None:
        """The handshake's station read, counted while it waits (for a pooled database connection
        or the read): that queue above CSMS_MAX_HANDSHAKE_READS is saturation."""
        ticket: Ticket | None = getattr(connection, "ticket", None)
        acceptor = self._acceptor
        if ticket is None or acceptor is None:
            return await self._stations.get(identity)
        acceptor.limits.start_read(ticket)
        try:
            return await self._stations.get(identity)
        finally:
            acceptor.limits.end_read(ticket)

    def _shed(self, connection: ServerConnection) -> Response | None:
        """503 with Retry-After while the process is saturated (server/saturation.py), before
        storage is touched; otherwise this handshake counts as served until its checks end."""
        ticket: Ticket | None = getattr(connection, "ticket", None)
        acceptor = self._acceptor
        if ticket is None or acceptor is None:
            return None
        limits = acceptor.limits
        limits.request_read(ticket)
        if (judged := self._shedder.judge(limits.working, limits.reading)) is None:
            acceptor.limits.start_work(ticket)
            return None
        retry_after, reason = judged
        self._saturation_log.log(
            logging.WARNING,
            "saturated",
            "handshake from %s answered 503 (Retry-After %d): %s",
            _address(connection),
            retry_after,
            reason,
        )
        return _retry_later(
            connection,
            HTTPStatus.SERVICE_UNAVAILABLE,
            retry_after,
            "Server busy; try again later.\n",
        )

    def _check_certificate(
        self,
        connection: ServerConnection,
        address: str,
        identity: str,
        certificate: PeerCertificate | None,
    ) -> Response | None:
        """403 for a station certificate of another station or operator (A00.FR.404/405/407),
        and for no certificate under profile 3 (the TLS layer already requires one: fail closed)."""
        if certificate is None:
            reason = "no station certificate" if self._settings.security_profile == 3 else None
        else:
            reason = name_mismatch(certificate, identity, self._settings.tls_organization)
        if reason is None:
            return None
        self._admission.refusals.log(
            logging.WARNING,
            f"security: certificate: {reason}",
            "security: station certificate refused for %r from %s (403): %s",
            identity,
            address,
            reason,
        )
        return connection.respond(HTTPStatus.FORBIDDEN, "Station certificate refused.\n")

    async def _check_profile(
        self, connection: ServerConnection, address: str, station: Station, profile: int
    ) -> Response | None:
        """403 below the station's minimum security profile; a higher one becomes its minimum
        (A05.FR.09: no downgrade once it connected on a higher profile)."""
        minimum = max(station.min_security_profile or 0, self._settings.security_profile)
        if profile < minimum:
            self._admission.refusals.log(
                logging.WARNING,
                "security: profile downgrade",
                "security: %r from %s refused (403): security profile %d is below its minimum %d "
                "(A05.FR.09)",
                station.id,
                address,
                profile,
                minimum,
            )
            return connection.respond(
                HTTPStatus.FORBIDDEN, "Security profile below the station's minimum.\n"
            )
        if profile > minimum:
            try:
                await self._stations.set_min_security_profile(station.id, profile)
            except StorageError:
                logger.exception("could not raise the security profile of %r", station.id)
            else:
                logger.warning(
                    "security: %r connected with security profile %d; lower profiles are refused "
                    "from now on (A05.FR.09)",
                    station.id,
                    profile,
                )
        return None

    def _authenticated(self, station: Station, password: bytes | None) -> bool:
        if station.password_hash is None:
            return self._settings.security_profile == 0
        # A01 answered RebootRequired: the station uses its old password until it reboots, then
        # the new one, so both are accepted until it first connects with the new one.
        return _matches(password, station.password_hash) or _matches(
            password, station.pending_password_hash
        )

    async def _take_pending_password(self, station: Station, pending: str) -> None:
        """The station connected with its pending password (A01, RebootRequired): it rebooted and
        took it, so from now on it is the only one accepted."""
        try:
            await self._stations.set_password_hash(station.id, pending)
        except DomainError:  # storage outage or station just deleted: the old one stays valid
            logger.exception("could not make the new password of %r its only one", station.id)
            return
        station.password_hash, station.pending_password_hash = pending, None
        logger.warning(
            "security: %r connected with its new password; the old one is refused from now on "
            "(A01)",
            station.id,
        )

    async def _admit_unknown(
        self,
        connection: ServerConnection,
        address: str,
        identity: str,
        password: bytes | None,
        *,
        certified: bool = False,
    ) -> Response | None:
        policy = self._settings.unknown_stations
        if policy is UnknownStationPolicy.REJECT:
            return self._refuse_unknown(connection, address, identity, HTTPStatus.NOT_FOUND)
        password_hash = None
        if not certified and self._settings.security_profile >= 1:
            # Trust on first use: the first password an unknown station presents becomes its own.
            password_hash = first_use_password_hash(password)
            if password_hash is None:
                return self._refuse_unknown(connection, address, identity, HTTPStatus.UNAUTHORIZED)
        if wait := self._admission.registration_wait(identity, address):
            return _too_many(connection, wait, "Too many new stations; try again later.\n")
        status = (
            RegistrationStatus.ACCEPTED
            if policy is UnknownStationPolicy.ACCEPT
            else RegistrationStatus.PENDING
        )
        station = Station(
            id=identity,
            registration_status=status,
            password_hash=password_hash,
            created_at=self._clock(),
            # A station certificate makes it a profile 3 station from the start (A05.FR.09).
            min_security_profile=3 if certified else None,
        )
        try:
            if status is RegistrationStatus.PENDING:
                async with self._registering:
                    refusal = await self._pending_cap(connection, address, identity)
                    if refusal is not None:
                        return refusal
                    await self._stations.add(station)
            else:
                await self._stations.add(station)
        except StorageError:
            # Two first connections raced (the other one registered it), or storage failed.
            try:
                existing = await self._stations.get(identity)
            except StorageError as exc:
                self._admission.refusals.log(
                    logging.ERROR,
                    "storage unavailable",
                    "station registration failed for %r",
                    identity,
                    exc=exc,
                )
                return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "Try again later.\n")
            if existing is None or not (certified or self._authenticated(existing, password)):
                return _unauthorized(connection)
            station = existing
        logger.info("unknown station %r registered as %s", identity, status.value)
        self._admitted[connection] = station
        return None

    async def _pending_cap(
        self, connection: ServerConnection, address: str, identity: str
    ) -> Response | None:
        """503 if CSMS_MAX_PENDING_REGISTRATIONS stations are Pending already (the caller holds
        the registration lock, so racing registrations cannot exceed the cap)."""
        try:
            pending = await self._stations.count(registration_status=RegistrationStatus.PENDING)
        except StorageError as exc:
            self._admission.refusals.log(
                logging.WARNING, "storage unavailable", "could not count Pending stations: %s", exc
            )
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "Try again later.\n")
        if pending < self._settings.max_pending_registrations:
            return None
        self._admission.refusals.log(
            logging.WARNING,
            "pending registration cap",
            "unknown station %r from %s refused (503): %d stations are Pending "
            "(CSMS_MAX_PENDING_REGISTRATIONS); accept or reject some",
            identity,
            address,
            pending,
        )
        return _retry_later(
            connection,
            HTTPStatus.SERVICE_UNAVAILABLE,
            self._settings.boot_retry_interval,
            "Too many stations await registration; try again later.\n",
        )

    def _refuse_unknown(
        self, connection: ServerConnection, address: str, identity: str, status: HTTPStatus
    ) -> Response:
        """Refuse a request for an unregistered identity (404, or 401 for an unusable first
        password), or 429 once the address spent its budget for such requests."""
        refusals = self._admission.refusals
        if wait := self._admission.throttle.unknown_identity(address):
            refusals.log(
                logging.INFO,
                "unknown stations: budget spent",
                "unknown station %r from %s refused (429): budget for unknown identities spent",
                identity,
                address,
            )
            return _too_many(connection, wait, "Too many requests for unknown stations.\n")
        refusals.log(
            logging.INFO,
            "unknown stations",
            "unknown station %r from %s refused (%d)",
            identity,
            address,
            status.value,
        )
        if status is HTTPStatus.UNAUTHORIZED:
            return _unauthorized(connection)
        return connection.respond(status, "Unknown charging station.\n")

    async def _check_duplicate(
        self, connection: ServerConnection, identity: str
    ) -> Response | None:
        live = self._registry.get(identity)
        if live is None:
            return None
        try:
            pong = await live.ws.ping()
            await asyncio.wait_for(pong, self._settings.duplicate_probe_timeout)
        except Exception:
            logger.warning(
                "security: %r reconnected; the previous session did not answer a ping and is "
                "replaced",
                identity,
            )
            return None
        logger.warning(
            "security: second connection for %r from %s refused; the live session answers",
            identity,
            _address(connection),
        )
        return connection.respond(HTTPStatus.CONFLICT, "This station is already connected.\n")

    # ---------------------------------------------------------------- session

    async def _handle(self, ws: ServerConnection) -> None:
        station = self._admitted.pop(ws, None)
        version = OcppVersion.from_subprotocol(ws.subprotocol or "")
        dialect = None
        if ws.subprotocol == OCPP15_SUBPROTOCOL:  # 1.5J: the 1.6 handlers, payloads mapped
            if self._ocpp15 is None:
                self._ocpp15 = Ocpp15Json()
            version, dialect = OcppVersion.V16, self._ocpp15
        if station is None:
            await ws.close(CLOSE_PROTOCOL_ERROR, "not admitted")
            return
        if version is None:
            logger.info("[%s] no acceptable OCPP subprotocol offered; closing", station.id)
            await ws.close(CLOSE_PROTOCOL_ERROR, "no acceptable OCPP subprotocol")
            return
        if self._stopping:  # its handshake completed as the stop began
            await ws.close(CLOSE_GOING_AWAY)
            return
        restored = (
            RegistrationStatus.ACCEPTED
            if station.accepted and station.registration_status is RegistrationStatus.ACCEPTED
            else None
        )
        negotiated = "1.5" if dialect is not None else version.value
        log = StationLog(logger, {"station_id": station.id, "ocpp_version": negotiated})
        ctx = CallContext(
            station_id=station.id,
            version=version,
            registration=restored,
            lenient=station.lenient,
            log=log,
            handshake_status=station.registration_status,
            handshake_at=time.monotonic(),
        )
        conn = StationConnection(
            ws,
            ctx,
            self._dispatcher,
            call_timeout=self._settings.call_timeout,
            max_queued_calls=self._settings.max_queued_calls,
            log_frames=self._log_frames,
            mark_seen=self._seen,
            tap=self._frame_taps(station.id) if self._frame_taps is not None else None,
            stats=self.stats,
            dialect=dialect,
            keepalive=self.keepalive,
        )
        # The handshake is done: its headers are not needed any more (~2.5 KiB per connection). The
        # request object lives on in websockets' parser, so empty it in place.
        if ws.request is not None:
            ws.request.headers.clear()
        ws.response = None
        # Nor is the station as read for the handshake: this frame lives as long as the session.
        station_id = station.id
        del station
        self._registry.register(conn)
        log.info("connected (OCPP %s) from %s", negotiated, _address(ws))
        try:
            await self._stations.record_connection(
                station_id, online=True, ocpp_version=negotiated, now=self._clock()
            )
            await conn.run()
        finally:
            if self._registry.unregister(conn):
                reason = close_reason(ws.close_code, ws.close_reason)
                if self._stopped is not None:  # stopping: written with the others (close)
                    self._stopped.append(Disconnection(station_id, negotiated, reason))
                else:
                    try:
                        await self._stations.record_connection(
                            station_id,
                            online=False,
                            ocpp_version=negotiated,
                            now=self._clock(),
                            reason=reason,
                        )
                    except StorageError:
                        log.exception("could not record the disconnection")
            if self._stopped is None:
                log.info("disconnected (code %s)", ws.close_code)
            else:  # one line for all of them (close)
                log.debug("disconnected (code %s)", ws.close_code)

    @property
    def _stopping(self) -> bool:
        return self._stopped is not None

    def _mark_seen(self, station_id: str) -> None:
        self._stations.touch(station_id, self._clock())

    def _warn_no_password(self, station_id: str) -> None:
        """Say why a station without a password is refused, at most once a minute per station."""
        now = time.monotonic()
        last = self._no_password_warned.get(station_id)
        if last is not None and now - last < NO_PASSWORD_WARNING_INTERVAL:
            return
        if len(self._no_password_warned) >= 1024:  # bounded: forget the oldest warnings
            self._no_password_warned.clear()
        self._no_password_warned[station_id] = now
        logger.warning(
            "station %r has no password, so it cannot connect under security profile %d: set one "
            'with PATCH /api/v1/stations/%s {"password": ...} (16 to 40 characters)',
            station_id,
            self._settings.security_profile,
            station_id,
        )


def _matches(password: bytes | None, stored: str | None) -> bool:
    """True if ``password`` (in any form a 1.6 AuthorizationKey may take) verifies ``stored``."""
    if password is None or stored is None:
        return False
    return any(verify_password(c, stored) for c in password_candidates(password))


def _address(connection: ServerConnection) -> str:
    """The peer's address; "" once its transport is closed (uvloop then raises AttributeError)."""
    try:
        remote = connection.remote_address
    except (AttributeError, OSError):
        return ""
    if isinstance(remote, tuple) and remote:
        return str(remote[0])
    return str(remote)


def _retry_later(
    connection: ServerConnection, status: HTTPStatus, wait: float, text: str
) -> Response:
    """A refusal that tells the client when to come back (RFC 9110 §10.2.3)."""
    response = connection.respond(status, text)
    response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
    return response


def _too_many(connection: ServerConnection, wait: float, text: str) -> Response:
    return _retry_later(connection, HTTPStatus.TOO_MANY_REQUESTS, wait, text)


def _unauthorized(connection: ServerConnection) -> Response:
    response = connection.respond(HTTPStatus.UNAUTHORIZED, "Authentication required.\n")
    response.headers["WWW-Authenticate"] = 'Basic realm="csms", charset="UTF-8"'
    return response
