"""The OCPP WebSocket endpoint: handshake checks, subprotocol negotiation, and one session per station.

Handshake (before any upgrade, so nothing is processed for a refused client):

1. a source address that failed authentication too often gets 429 (CWE-307);
2. a path without a valid identity, or an identity that is not registered while unknown stations are
   rejected, gets 404 (OCPP-J 1.6 §3.2; 2.0.1 Part 4 §3.2);
3. Basic auth (security profile ≥ 1, and whenever the station has a password): wrong username or
   password, or no header, gets 401 (1.6 security whitepaper A00.FR.202–204; OCTT TC_A_02/03_CSMS);
4. a second connection for a connected identity: the live session is pinged; if it answers within
   ``duplicate_probe_timeout`` the newcomer gets 409, otherwise the newcomer replaces it
   (ocpp-rules.md §2.5; SaiFlow 2023) — never two live sessions.

The subprotocol is the first one the station offers that csms speaks. With none acceptable (or no
header at all) the handshake completes without Sec-WebSocket-Protocol and the connection is closed at
once (OCPP-J 1.6 §3.2; 2.0.1 Part 4 §3.2; OCTT TC_088_CSMS) — it is never served as a default version.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
import time
import weakref
from collections.abc import Callable, Sequence
from datetime import datetime
from http import HTTPStatus

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from csms.blocks.context import CallContext
from csms.blocks.dispatch import Dispatcher
from csms.config import ServerSettings
from csms.domain.credentials import (
    WeakPassword,
    check_password_strength,
    hash_password,
    password_candidates,
    verify_password,
)
from csms.domain.errors import StorageError
from csms.domain.model import RegistrationStatus, Station, UnknownStationPolicy
from csms.domain.ports import StationRepository
from csms.rpc import ALL_VERSIONS, OcppVersion, select_subprotocol
from csms.server.auth import FailureLimiter, basic_auth_password
from csms.server.connection import CLOSE_PROTOCOL_ERROR, StationConnection, StationLog
from csms.server.identity import identity_from_path
from csms.server.registry import ConnectionRegistry

logger = logging.getLogger(__name__)

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
    ) -> None:
        self._settings = settings
        self._stations = stations
        self._dispatcher = dispatcher
        self._registry = registry
        self._clock = clock
        self._versions = tuple(versions)
        self._log_frames = log_frames
        self._limiter = FailureLimiter(
            per_address=settings.auth_failures_per_address,
            per_identity=settings.auth_failures_per_identity,
            window=settings.auth_failure_window,
        )
        # Stations authenticated by process_request, picked up by the connection handler.
        self._admitted: weakref.WeakKeyDictionary[ServerConnection, Station] = (
            weakref.WeakKeyDictionary()
        )
        self._server: Server | None = None
        # Station id → when the "has no password" refusal was last logged (monotonic seconds).
        self._no_password_warned: dict[str, float] = {}

    @property
    def port(self) -> int:
        """The TCP port the listener is bound to (useful with port 0)."""
        if self._server is None:
            raise RuntimeError("listener not started")
        sock = next(iter(self._server.sockets))
        return int(sock.getsockname()[1])

    async def start(self) -> None:
        """Bind and start accepting connections."""
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
        self._server = await serve(
            self._handle,
            s.host,
            s.port,
            process_request=self._process_request,
            select_subprotocol=self._select_subprotocol,
            compression=None,
            extensions=extensions,
            ssl=self._tls_context(),
            max_size=s.max_message_size,
            max_queue=4,
            ping_interval=s.ping_interval,
            ping_timeout=s.ping_timeout,
            open_timeout=s.open_timeout,
            close_timeout=s.close_timeout,
            server_header="csms",
            backlog=s.listen_backlog,
        )
        logger.info(
            "OCPP endpoint listening on %s://%s:%d/ocpp/{station_id} (security profile %d)",
            "wss" if s.tls_cert else "ws",
            s.host,
            self.port,
            s.security_profile,
        )

    def _tls_context(self) -> ssl.SSLContext | None:
        s = self._settings
        if s.tls_cert is None or s.tls_key is None:
            return None
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        # TLS 1.2 or newer, no TLS compression (A00.FR.312–320).
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.options |= ssl.OP_NO_COMPRESSION
        ctx.load_cert_chain(s.tls_cert, s.tls_key)
        return ctx

    async def close(self) -> None:
        """Stop accepting, close every session (1001) and wait for them to end."""
        if self._server is not None:
            self._server.close(close_connections=True)
            await self._server.wait_closed()
            self._server = None

    # ---------------------------------------------------------------- handshake

    def _select_subprotocol(
        self, connection: ServerConnection, offered: Sequence[Subprotocol]
    ) -> Subprotocol | None:
        version = select_subprotocol(offered, self._versions)
        return None if version is None else Subprotocol(version.subprotocol)

    async def _process_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        address = _address(connection)
        identity = identity_from_path(request.path)
        if identity is None:
            return connection.respond(HTTPStatus.NOT_FOUND, "No station identity in the URL.\n")
        if self._limiter.blocked(address, identity):
            logger.warning("security: handshake from %s for %r throttled", address, identity)
            return connection.respond(HTTPStatus.TOO_MANY_REQUESTS, "Too many failed attempts.\n")
        try:
            station = await self._stations.get(identity)
        except StorageError:
            logger.exception("station lookup failed for %r", identity)
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "Try again later.\n")
        password = basic_auth_password(request.headers.get("Authorization"), identity)
        if station is None:
            return await self._admit_unknown(connection, address, identity, password)
        if not self._authenticated(station, password):
            if station.password_hash is None:
                self._warn_no_password(identity)
            self._limiter.record_failure(address, identity)
            logger.warning("security: authentication failed for %r from %s", identity, address)
            return _unauthorized(connection)
        if (refusal := await self._check_duplicate(connection, identity)) is not None:
            return refusal
        self._admitted[connection] = station
        return None

    def _authenticated(self, station: Station, password: bytes | None) -> bool:
        if station.password_hash is None:
            return self._settings.security_profile == 0
        if password is None:
            return False
        stored = station.password_hash
        return any(verify_password(c, stored) for c in password_candidates(password))

    async def _admit_unknown(
        self, connection: ServerConnection, address: str, identity: str, password: bytes | None
    ) -> Response | None:
        policy = self._settings.unknown_stations
        if policy is UnknownStationPolicy.REJECT:
            self._limiter.record_failure(address, identity)
            logger.info("unknown station %r from %s refused (404)", identity, address)
            return connection.respond(HTTPStatus.NOT_FOUND, "Unknown charging station.\n")
        password_hash = None
        if self._settings.security_profile >= 1:
            # Trust on first use: the first password an unknown station presents becomes its own.
            if password is None:
                self._limiter.record_failure(address, identity)
                return _unauthorized(connection)
            try:
                check_password_strength(password)
            except WeakPassword:
                self._limiter.record_failure(address, identity)
                return _unauthorized(connection)
            password_hash = hash_password(password)
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
        )
        try:
            await self._stations.add(station)
        except StorageError:
            # Two first connections raced; the other one registered it.
            existing = await self._stations.get(identity)
            if existing is None or not self._authenticated(existing, password):
                return _unauthorized(connection)
            station = existing
        logger.info("unknown station %r registered as %s", identity, status.value)
        self._admitted[connection] = station
        return None

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
        if station is None:
            await ws.close(CLOSE_PROTOCOL_ERROR, "not admitted")
            return
        if version is None:
            logger.info("[%s] no acceptable OCPP subprotocol offered; closing", station.id)
            await ws.close(CLOSE_PROTOCOL_ERROR, "no acceptable OCPP subprotocol")
            return
        restored = (
            RegistrationStatus.ACCEPTED
            if station.accepted and station.registration_status is RegistrationStatus.ACCEPTED
            else None
        )
        log = StationLog(logger, {"station_id": station.id, "ocpp_version": version.value})
        ctx = CallContext(
            station_id=station.id,
            version=version,
            registration=restored,
            lenient=station.lenient,
            log=log,
        )
        conn = StationConnection(
            ws,
            ctx,
            self._dispatcher,
            call_timeout=self._settings.call_timeout,
            max_queued_calls=self._settings.max_queued_calls,
            log_frames=self._log_frames,
            mark_seen=functools.partial(self._mark_seen, station.id),
        )
        # The handshake is done: its headers are not needed any more (~2.5 KiB per connection). The
        # request object lives on in websockets' parser, so empty it in place.
        if ws.request is not None:
            ws.request.headers.clear()
        ws.response = None
        self._registry.register(conn)
        log.info("connected (OCPP %s) from %s", version.value, _address(ws))
        try:
            await self._stations.record_connection(
                station.id, online=True, ocpp_version=version.value, now=self._clock()
            )
            await conn.run()
        finally:
            if self._registry.unregister(conn):
                try:
                    await self._stations.record_connection(
                        station.id, online=False, ocpp_version=version.value, now=self._clock()
                    )
                except StorageError:
                    log.exception("could not record the disconnection")
            log.info("disconnected (code %s)", ws.close_code)

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


def _address(connection: ServerConnection) -> str:
    remote = connection.remote_address
    if isinstance(remote, tuple) and remote:
        return str(remote[0])
    return str(remote)


def _unauthorized(connection: ServerConnection) -> Response:
    response = connection.respond(HTTPStatus.UNAUTHORIZED, "Authentication required.\n")
    response.headers["WWW-Authenticate"] = 'Basic realm="csms", charset="UTF-8"'
    return response
