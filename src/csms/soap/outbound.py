"""CSMS-initiated calls to SOAP stations: csms POSTs to the station's ChargePointService.

The station announced its endpoint as the WS-Addressing From of its latest call
(:mod:`csms.soap.presence`); csms posts one SOAP 1.2 request there per command and reads the
answer from the same HTTP exchange. Checks and outcomes are those of a WebSocket CALL
(:meth:`Dispatcher.check_outbound` before, :meth:`Dispatcher.check_result` after), so the typed API
commands behave alike:

* not online over SOAP (silent past heartbeat interval + grace), or no usable From address (a
  station behind NAT announces none or an anonymous one), or the address cannot be reached
  (connection refused, DNS, TLS) → :class:`StationNotConnected` (409), never a hang;
* no answer within the timeout → :class:`CallTimeout` (504);
* a SOAP fault, an HTTP error status, an answer that is not the operation's response or violates
  the schema → :class:`CallFailed` (502).

1.5 stations get the request their version spells (:mod:`csms.soap.chargepoint_mapping`; the
payload is checked against 1.6, the shared model; what 1.5 lacks, e.g. a RemoteStart
chargingProfile, is refused as not in its schema). Each call sent is one message log row
(:mod:`csms.soap.exchange_log`): answered, a CALLERROR (fault, HTTP error, invalid answer), or
unanswered (timeout, unreachable).
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from csms.blocks.dispatch import Dispatcher
from csms.domain.errors import (
    CallFailed,
    CallTimeout,
    InvalidPayload,
    StationNotConnected,
)
from csms.domain.ports import SessionCounters, StationGateway
from csms.messages.soap.envelope import CONTENT_TYPE, read_fault, read_request, request_envelope
from csms.messages.soap.errors import SoapFault
from csms.messages.soap.service import Operation, ServiceDescription
from csms.messages.soap.xml import parse_message
from csms.rpc import CallErrorReply
from csms.soap.chargepoint_mapping import request_to_soap, response_to_json
from csms.soap.exchange_log import ExchangeLog, Taps
from csms.soap.presence import PresenceTable

Payload = dict[str, Any]


class SoapStations:
    """Sends CALLs to online SOAP stations; the SOAP half of :class:`CombinedGateway`."""

    def __init__(
        self,
        presence: PresenceTable,
        dispatcher: Dispatcher,
        *,
        call_timeout: float,
        max_response: int,
        client: httpx.AsyncClient | None = None,
        frame_taps: Taps | None = None,
    ) -> None:
        self._presence = presence
        self._dispatcher = dispatcher
        self._timeout = call_timeout
        self._max_response = max_response
        self._exchanges = ExchangeLog(frame_taps)  # the message log (CSMS_MESSAGE_LOG)
        self._client = client or httpx.AsyncClient(follow_redirects=False, trust_env=False)
        # Compiled once: the ChargePointService schema of each version.
        self._services = {v: ServiceDescription(v, charge_point=True) for v in ("1.6", "1.5")}

    async def aclose(self) -> None:
        """Close the HTTP client's connections."""
        await self._client.aclose()

    def is_connected(self, station_id: str) -> bool:
        """True while the station is online over SOAP."""
        return self._presence.get(station_id) is not None

    def ocpp_version(self, station_id: str) -> str | None:
        """Commands are spelled for the shared 1.6 model (1.5 is mapped on the wire)."""
        return "1.6" if self.is_connected(station_id) else None

    def session_counters(self, station_id: str) -> SessionCounters | None:
        """The counters of the station's CallContext while online."""
        presence = self._presence.get(station_id)
        if presence is None:
            return None
        ctx = presence.ctx
        return SessionCounters(
            ctx.protocol_violations, ctx.schema_violations, ctx.suppressed_log_lines
        )

    async def call(
        self,
        station_id: str,
        action: str,
        payload: Payload,
        *,
        timeout: float | None = None,
        password_rotation: bool = False,
    ) -> Payload:
        """POST ``action`` to the station's ChargePointService; see the module docstring."""
        presence = self._presence.get(station_id)
        if presence is None:
            raise StationNotConnected(f"station {station_id!r} is not online over SOAP")
        if presence.endpoint is None:
            raise StationNotConnected(
                f"SOAP station {station_id!r} announced no reachable address (WS-Addressing "
                "From); it cannot be called (behind NAT?)"
            )
        ctx = presence.ctx
        self._dispatcher.check_outbound(ctx, action, payload, password_rotation=password_rotation)
        service = self._services[presence.ocpp_version]
        operation = service.operations.get(action)
        if operation is None:
            raise InvalidPayload(
                f"{action!r} is not an OCPP {presence.ocpp_version} SOAP operation",
                code="NotImplemented",
            )
        version = presence.ocpp_version
        try:
            body = service.encode(operation.request, request_to_soap(version, action, payload))
        except SoapFault as exc:  # valid for 1.6J, not for this version's schema
            raise InvalidPayload(
                f"{action} is not valid for OCPP {version} over SOAP",
                code="FormationViolation",
            ) from exc
        message_id = str(uuid.uuid4())
        envelope = request_envelope(
            body,
            identity=station_id,
            namespace=service.namespace,
            action=operation.action,
            to=presence.endpoint,
            message_id=f"urn:uuid:{message_id}",
        )
        exchange = self._exchanges.begin(
            station_id, inbound=False, message_id=message_id, action=action, payload=payload
        )
        try:
            data = await self._post(
                station_id, presence.endpoint, envelope, operation.action, timeout
            )
            result = response_to_json(version, action, self._answer(service, operation, data))
            try:
                self._dispatcher.check_result(ctx, action, result)
            except CallErrorReply as exc:
                raise CallFailed(str(exc.code.value), exc.description) from None
        except CallFailed as exc:
            exchange.failed(exc.code, exc.description)
            raise
        except BaseException:  # timeout, unreachable, cancelled: sent, never answered
            exchange.unanswered()
            raise
        exchange.answered(result)
        return result

    @staticmethod
    def _answer(service: ServiceDescription, operation: Operation, data: bytes) -> Payload:
        """The decoded response body of a station's answer.

        Raises:
            CallFailed: a SOAP fault, or not the operation's valid response.
        """
        try:
            answer = read_request(parse_message(data))
            if (fault := read_fault(answer.body)) is not None:
                raise CallFailed("SoapFault", f"the station answered {fault}")
            if answer.body.tag != f"{{{service.namespace}}}{operation.response}":
                raise CallFailed("FormationViolation", f"the answer is not a {operation.response}")
            return service.decode(answer.body)
        except SoapFault as exc:
            raise CallFailed("FormationViolation", f"invalid SOAP answer: {exc.reason}") from None

    async def _post(
        self, station_id: str, endpoint: str, envelope: bytes, action: str, timeout: float | None
    ) -> bytes:
        headers = {"Content-Type": f'{CONTENT_TYPE}; action="{action}"'}
        try:
            async with self._client.stream(
                "POST",
                endpoint,
                content=envelope,
                headers=headers,
                timeout=timeout if timeout is not None else self._timeout,
            ) as response:
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > self._max_response:
                        raise CallFailed("FormationViolation", "the answer is too large")
                    chunks.append(chunk)
        except httpx.TimeoutException:
            raise CallTimeout(f"SOAP station {station_id!r} did not answer {action}") from None
        except httpx.HTTPError as exc:
            raise StationNotConnected(
                f"SOAP station {station_id!r} cannot be reached at its From address "
                f"({type(exc).__name__})"
            ) from None
        if response.status_code >= 300 and response.status_code not in (400, 500):
            raise CallFailed("HttpError", f"the station answered HTTP {response.status_code}")
        return b"".join(chunks)


class CombinedGateway:
    """The :class:`StationGateway` of the typed commands: a station's WebSocket session if it has
    one, else its SOAP presence."""

    def __init__(self, websocket: StationGateway, soap: SoapStations) -> None:
        self._ws = websocket
        self._soap = soap

    def is_connected(self, station_id: str) -> bool:
        """True while the station has a WebSocket session or is online over SOAP."""
        return self._ws.is_connected(station_id) or self._soap.is_connected(station_id)

    def ocpp_version(self, station_id: str) -> str | None:
        """The WebSocket session's version, else 1.6 for a SOAP station."""
        if self._ws.is_connected(station_id):
            return self._ws.ocpp_version(station_id)
        return self._soap.ocpp_version(station_id)

    def session_counters(self, station_id: str) -> SessionCounters | None:
        """The live session's counters (WebSocket first)."""
        return self._ws.session_counters(station_id) or self._soap.session_counters(station_id)

    async def call(
        self,
        station_id: str,
        action: str,
        payload: Payload,
        *,
        timeout: float | None = None,
        password_rotation: bool = False,
    ) -> Payload:
        """Send through the WebSocket session if any, else over SOAP."""
        target: StationGateway | SoapStations = (
            self._ws if self._ws.is_connected(station_id) else self._soap
        )
        return await target.call(
            station_id, action, payload, timeout=timeout, password_rotation=password_rotation
        )
