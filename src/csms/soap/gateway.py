"""One SOAP request in, one SOAP response (or Fault) out, through the same Dispatcher as OCPP-J.

Order of checks for ``POST`` (the HTTP layer, :mod:`csms.soap.app`, bounded the body already):

1. parse with the hardened parser (no DTD, so no entity; :mod:`csms.messages.soap.xml`) →
   Sender fault;
2. a SOAP 1.2 envelope → VersionMismatch; a request element of a CentralSystemService namespace
   (1.6 ``urn://Ocpp/Cs/2015/10/``, 1.5 ``urn://Ocpp/Cs/2012/06/``) naming one of its operations,
   matching the WS-Addressing Action when one is given → Sender fault "unknown operation";
3. ``chargeBoxIdentity`` present → Sender fault; the station registered and not decommissioned →
   Sender fault (404); HTTP Basic auth with the identity as username and the station's password
   (as for OCPP-J security profiles 1 and 2, 1.6 security whitepaper A00.FR.202–204) → 401, or
   429 once the identity's or the address's failure budget is spent (server/admission.py, the
   budgets of the WebSocket handshake); a connection below the station's minimum security
   profile → 403 (A05.FR.09);
4. the body validated against the WSDL's XML Schema → Sender fault naming the rule and path;
5. mapped onto the 1.6J payload (:mod:`csms.soap.mapping`) and handled by
   :meth:`Dispatcher.handle_call` with the station's :class:`CallContext` (version 1.6: the 1.6J
   handlers, JSON schema, registration rules, storage and idempotency are shared); a CALLERROR
   becomes a Sender fault (InternalError: Receiver) whose reason names the OCPP error code;
6. the answer mapped back, validated against the schema, sent with RelatesTo = MessageID.

An unregistered ``chargeBoxIdentity`` is handled by CSMS_UNKNOWN_STATIONS as on the WebSocket
endpoint (:mod:`csms.soap.registration`): refused (404), or registered Pending/Accepted with the
handshake's budgets (the first password it presents becomes its own under profile 1 or 2).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from csms.blocks.context import CallContext
from csms.blocks.dispatch import Dispatcher
from csms.config import ServerSettings
from csms.domain.credentials import password_candidates, verify_password
from csms.domain.errors import DomainError, StorageError
from csms.domain.model import RegistrationStatus, Station, UnknownStationPolicy
from csms.domain.ports import StationRepository
from csms.log import LogLimiter
from csms.messages.soap.envelope import CONTENT_TYPE, SoapRequest, fault_envelope, read_request
from csms.messages.soap.envelope import response_envelope as build_response
from csms.messages.soap.errors import FaultCode, SoapFault, retry_after, sender
from csms.messages.soap.service import CENTRAL_SYSTEM, Operation, ServiceDescription
from csms.messages.soap.xml import parse_message
from csms.rpc import CallErrorReply, ErrorCode, OcppVersion
from csms.server.admission import Admission
from csms.server.auth import basic_auth_password
from csms.server.connection import StationLog
from csms.soap.exchange_log import Exchange, ExchangeLog, Taps
from csms.soap.mapping import Payload, request_to_json, response_from_json
from csms.soap.presence import PresenceTable
from csms.soap.registration import SelfRegistration

logger = logging.getLogger(__name__)

_UNAUTHORIZED = (("WWW-Authenticate", 'Basic realm="csms", charset="UTF-8"'),)
MAX_ENDPOINT_LENGTH = 512


@dataclass(frozen=True, slots=True)
class SoapReply:
    """An HTTP response: status, headers and a SOAP envelope."""

    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = (("Content-Type", CONTENT_TYPE),)


@dataclass(frozen=True, slots=True)
class Caller:
    """Who sent the HTTP request: its credentials header, address and whether it used TLS."""

    authorization: str | None
    address: str
    tls: bool


class SoapGateway:
    """Serves CentralSystemService 1.5 and 1.6 over the shared dispatcher."""

    def __init__(
        self,
        settings: ServerSettings,
        *,
        stations: StationRepository,
        dispatcher: Dispatcher,
        presence: PresenceTable,
        clock: Callable[[], datetime],
        log_limiter: LogLimiter | None = None,
        versions: Sequence[str] = ("1.6", "1.5"),
        frame_taps: Taps | None = None,
    ) -> None:
        self._settings = settings
        self._stations = stations
        self._dispatcher = dispatcher
        self.presence = presence
        self._clock = clock
        self._limiter = log_limiter if log_limiter is not None else LogLimiter()
        # Compiled once: the schema of each version's shipped WSDL.
        self._services = {CENTRAL_SYSTEM[v][0]: ServiceDescription(v) for v in versions}
        self._admission = Admission.from_settings(settings, logger)
        self._exchanges = ExchangeLog(frame_taps)  # the message log (CSMS_MESSAGE_LOG)
        self._registration = SelfRegistration(
            settings, stations=stations, admission=self._admission, clock=clock
        )

    async def handle(self, data: bytes, caller: Caller) -> SoapReply:
        """Answer one SOAP request; never raises for anything a station can send."""
        relates_to: str | None = None
        try:
            request = read_request(parse_message(data))
            relates_to = request.message_id
            return await self._serve(request, caller)
        except SoapFault as exc:
            fault = exc
            self._refused(caller, fault)
        except Exception as exc:  # a bug of ours: a Receiver fault, one traceback per window
            self._admission.refusals.log(
                logging.ERROR, "soap internal error", "SOAP request failed", exc=exc
            )
            fault = SoapFault("Receiver", "internal error")
        return SoapReply(
            fault.status,
            fault_envelope(fault.code, fault.reason, relates_to=relates_to),
            (("Content-Type", CONTENT_TYPE), *fault.headers),
        )

    async def _serve(self, request: SoapRequest, caller: Caller) -> SoapReply:
        service, operation = self._operation(request)
        station = await self._authenticate(request, caller)
        version = service.version
        try:
            payload = request_to_json(version, operation.name, service.decode(request.body))
        except SoapFault as fault:  # logged with an empty payload: the body did not decode
            self._begin(station.id, request, operation.name, {}).failed(
                fault.ocpp_error_code, fault.reason
            )
            raise
        exchange = self._begin(station.id, request, operation.name, payload)
        try:
            ctx = await self._context(station, version, request.from_address)
            result = await self._handle(ctx, operation.name, payload)
            answer = response_from_json(version, operation.name, result)
            body_out = service.encode(operation.response, answer)
        except SoapFault as fault:
            exchange.failed(fault.ocpp_error_code, fault.reason)
            raise
        except BaseException:  # a bug of ours (answered with a Receiver fault) or cancelled
            exchange.failed("InternalError", "internal error")
            raise
        exchange.answered(result)
        return SoapReply(
            200,
            build_response(
                body_out, action=operation.response_action, relates_to=request.message_id
            ),
        )

    def _begin(
        self, station_id: str, request: SoapRequest, action: str, payload: Payload
    ) -> Exchange:
        """The message log row of this exchange (see :mod:`csms.soap.exchange_log`)."""
        return self._exchanges.begin(
            station_id,
            inbound=True,
            message_id=request.message_id,
            action=action,
            payload=payload,
        )

    async def _handle(self, ctx: CallContext, action: str, payload: Payload) -> Payload:
        """The dispatcher's answer, or the fault it stands for."""
        try:
            return await self._dispatcher.handle_call(ctx, action, payload)
        except CallErrorReply as exc:
            code: FaultCode = "Receiver" if exc.code is ErrorCode.INTERNAL_ERROR else "Sender"
            wire = exc.code.wire(OcppVersion.V16)
            raise SoapFault(code, f"{wire}: {exc.description}", ocpp_code=wire) from None
        except StorageError as exc:
            ctx.limited(logging.ERROR, "storage error", "could not persist %s", action, exc=exc)
            raise SoapFault("Receiver", "storage unavailable; retry later") from None
        except DomainError as exc:
            ctx.limited(logging.ERROR, "handler error", "handler of %s failed", action, exc=exc)
            raise SoapFault("Receiver", "internal error") from None

    def _operation(self, request: SoapRequest) -> tuple[ServiceDescription, Operation]:
        """The service (by the body's namespace) and the operation (by its request element)."""
        namespace, _, name = request.body.tag[1:].partition("}")
        service = self._services.get(namespace)
        if service is None:
            raise sender(
                f"unknown operation: namespace {namespace[:100]!r} is not an OCPP "
                "CentralSystemService (1.6: urn://Ocpp/Cs/2015/10/, 1.5: urn://Ocpp/Cs/2012/06/)"
            )
        operation = service.request_operation(name, request.action, "CentralSystemService")
        return service, operation

    async def _authenticate(self, request: SoapRequest, caller: Caller) -> Station:
        identity = request.charge_box_identity
        if identity is None:
            raise sender(
                "the chargeBoxIdentity header is missing (it must be in the body's namespace)"
            )
        try:
            station = await self._stations.get(identity)
        except StorageError as exc:
            self._admission.refusals.log(
                logging.ERROR,
                "storage unavailable",
                "station lookup failed for %r",
                identity,
                exc=exc,
            )
            raise SoapFault("Receiver", "storage unavailable; retry later", status=503) from None
        password = basic_auth_password(caller.authorization, identity)
        if station is None and self._settings.unknown_stations is not UnknownStationPolicy.REJECT:
            station = await self._registration.register(identity, password, caller.address)
        if station is None or station.decommissioned_at is not None:
            raise self._registration.refuse(caller.address, 404)
        authenticated = self._authenticated(station, password)
        if wait := self._admission.throttle.login(
            identity, caller.address, authenticated=authenticated
        ):
            raise sender("too many failed attempts", status=429, headers=retry_after(wait))
        if not authenticated:
            raise sender(
                "authentication failed: HTTP Basic auth with the chargeBoxIdentity as username",
                status=401,
                headers=_UNAUTHORIZED,
            )
        profile = 2 if caller.tls else (1 if station.password_hash is not None else 0)
        minimum = max(station.min_security_profile or 0, self._settings.security_profile)
        if profile < minimum:
            raise sender(
                f"security profile {profile} is below the station's minimum {minimum}", status=403
            )
        return station

    def _authenticated(self, station: Station, password: bytes | None) -> bool:
        """As on the WebSocket endpoint: the password or the pending one (A01, RebootRequired);
        no password only under security profile 0."""
        if station.password_hash is None:
            return self._settings.security_profile == 0
        return any(
            _matches(password, stored)
            for stored in (station.password_hash, station.pending_password_hash)
        )

    async def _context(self, station: Station, version: str, endpoint: str | None) -> CallContext:
        """The station's CallContext, kept while it is online; its presence noted."""
        presence = self.presence.get(station.id)
        if presence is not None and presence.ocpp_version == version:
            ctx = presence.ctx
        else:
            restored = (
                RegistrationStatus.ACCEPTED
                if station.accepted and station.registration_status is RegistrationStatus.ACCEPTED
                else None
            )
            log = StationLog(
                logging.getLogger("csms.soap.station"),
                {"station_id": station.id, "ocpp_version": version + "s"},
            )
            ctx = CallContext(
                station_id=station.id,
                version=OcppVersion.V16,
                registration=restored,
                lenient=station.lenient,
                log=log,
                log_limiter=self._limiter,
            )
        now = self._clock()
        if endpoint is not None and (
            len(endpoint) > MAX_ENDPOINT_LENGTH or not endpoint.startswith(("http://", "https://"))
        ):
            ctx.limited(logging.INFO, "soap from", "From address ignored: not an http(s) URL")
            endpoint = None
        if endpoint is not None and endpoint != station.soap_endpoint:
            await self._store_endpoint(ctx, station.id, endpoint)
        elif endpoint is None and (presence is None or presence.ocpp_version != version):
            # Back after a restart or a silence without a From: the address it last announced.
            endpoint = station.soap_endpoint
        if self.presence.seen(station.id, ctx, ocpp_version=version, endpoint=endpoint, now=now):
            ctx.log.info("online over SOAP (OCPP %s)", version)
            await self._stations.record_connection(
                station.id, online=True, ocpp_version=version, now=now
            )
        self._stations.touch(station.id, now)
        return ctx

    async def _store_endpoint(self, ctx: CallContext, station_id: str, endpoint: str) -> None:
        """Persist a new From address (only when it changed, so not on every call); a storage
        failure leaves it in memory and is tried again at the next call."""
        try:
            await self._stations.set_soap_endpoint(station_id, endpoint)
        except DomainError as exc:
            ctx.limited(
                logging.WARNING, "soap endpoint", "could not store the From address: %r", exc
            )
        else:
            ctx.log.info("ChargePointService address is now %s", endpoint)

    async def expire(self) -> int:
        """Record the SOAP stations silent for longer than the presence timeout as offline."""
        gone = self.presence.expire()
        for station_id, version in gone:
            logger.info("[%s] offline: no SOAP call within the presence timeout", station_id)
            try:
                await self._stations.record_connection(
                    station_id, online=False, ocpp_version=version, now=self._clock()
                )
            except StorageError:
                logger.exception("could not record that %r went offline", station_id)
        return len(gone)

    def _refused(self, caller: Caller, fault: SoapFault) -> None:
        self._admission.refusals.log(
            logging.INFO if fault.code != "Receiver" else logging.WARNING,
            f"soap fault {fault.status}",
            "SOAP request from %s refused (%d %s): %s",
            caller.address,
            fault.status,
            fault.code,
            fault.reason,
        )


def _matches(password: bytes | None, stored: str | None) -> bool:
    if password is None or stored is None:
        return False
    return any(verify_password(c, stored) for c in password_candidates(password))
