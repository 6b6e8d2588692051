"""SOAP stations in the load test (``--versions 1.5s,1.6s``): the 1.6 scenario over SOAP 1.2.

A SOAP station is the WebSocket station of :mod:`csms.loadtest.station` (the same scenario,
timers, one CALL at a time, call timeout and counters) with a :class:`SoapChannel` where its
WebSocket would be: each CALL frame the station writes becomes a POST to csms's
CentralSystemService (SOAP 1.2 with WS-Addressing and ``chargeBoxIdentity``, built and read by
:class:`~csms.messages.soap.station.StationCodec`, 1.5 mapped from the shared 1.6 model), and
each answer a CALLRESULT or CALLERROR frame handed back to the station. The JSON stations' path
is not involved.

What differs from a JSON station:

* there is no connection: "connecting" opens nothing (the HTTP client keeps connections alive
  and reopens them as needed), so the handshake row counts stations started, not TCP handshakes;
* the station announces no ChargePointService (no WS-Addressing From), so csms cannot call it:
  the load test measures the station-initiated direction;
* its figures are reported apart, as ``soap:<action>`` rows and ``soap_calls_per_s``;
* a refusal by HTTP status (401, 403, 404, 429) is an error ``http_<status>``; an unreachable
  CSMS one named after the client's exception (``ConnectError``).

The SOAP client (httpx) and the XML Schema encoding cost far more CPU per message than the
JSON stations' frames: spread a large SOAP fleet over ``--workers``.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING, Any

import httpx
import orjson

from csms.loadtest.payloads import basic_auth_header
from csms.loadtest.station import CALLERROR, CALLRESULT, SimStation, _wire_action
from csms.loadtest.stats import ActionStats
from csms.messages.soap.envelope import CONTENT_TYPE
from csms.messages.soap.errors import SoapFault
from csms.messages.soap.station import StationCodec
from csms.rpc.errors import CallErrorReply
from csms.rpc.versions import OcppVersion

if TYPE_CHECKING:
    from csms.loadtest.engine import Engine

# The load test's names of OCPP over SOAP, and the version each speaks.
SOAP_VERSIONS = {"1.5s": "1.5", "1.6s": "1.6"}
# Prefix of the SOAP stations' rows in the report.
SOAP_PREFIX = "soap:"
_REFUSALS = frozenset({401, 403, 404, 429})


class SoapStation(SimStation):
    """A load-test station whose CALLs go over SOAP; its figures are kept apart."""

    __slots__ = ()

    def _stats(self, action: str) -> ActionStats:
        return self.engine.stats.action(SOAP_PREFIX + _wire_action(action))


class SoapChannel:
    """Stands in for a SOAP station's WebSocket (see the module docstring)."""

    __slots__ = ("_auth", "_closed", "_codec", "_engine", "_station", "_tasks", "_url")

    def __init__(self, engine: Engine, station: SimStation, codec: StationCodec, url: str) -> None:
        self._engine = engine
        self._station = station
        self._codec = codec
        self._url = url
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        # HTTP Basic auth, the identity as username (security profile 1), as on the WebSocket.
        self._auth = (
            {"Authorization": basic_auth_header(station.id, engine.password(station))}
            if engine.config.auth
            else {}
        )

    def send(self, data: bytes) -> None:
        """POST the CALL frame ``data`` as a SOAP request; its answer comes back as a frame."""
        if self._closed:
            return
        _, message_id, action, payload = orjson.loads(data)
        try:
            envelope = self._codec.request(
                action,
                payload,
                identity=self._station.id,
                to=self._url,
                from_address=None,
                message_id=f"urn:uuid:{uuid.uuid4()}",
            )
        except CallErrorReply as exc:
            self._answer([CALLERROR, message_id, exc.code.wire(OcppVersion.V16), str(exc), {}])
            return
        except SoapFault as exc:
            self._answer([CALLERROR, message_id, "FormationViolation", exc.reason, {}])
            return
        task = self._engine.loop.create_task(self._post(message_id, action, envelope))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _post(self, message_id: str, action: str, envelope: bytes) -> None:
        headers = {"Content-Type": f'{CONTENT_TYPE}; action="/{action}"', **self._auth}
        try:
            response = await self._engine.soap_client().post(
                self._url, content=envelope, headers=headers
            )
        except httpx.TimeoutException:
            return  # the station's own call timeout counts it
        except httpx.HTTPError as exc:
            self._answer([CALLERROR, message_id, type(exc).__name__, "", {}])
            return
        if response.status_code in _REFUSALS:
            self._answer([CALLERROR, message_id, f"http_{response.status_code}", "", {}])
            return
        answer = self._codec.read_answer(action, response.content)
        if answer.error is None:
            self._answer([CALLRESULT, message_id, answer.payload or {}])
        else:
            self._answer([CALLERROR, message_id, answer.error, answer.description, {}])

    def _answer(self, frame: list[Any]) -> None:
        if not self._closed:
            self._station.ws_message(orjson.dumps(frame))

    def close(self) -> None:
        """The station stops or is dropped: forget what is in flight; it is closed at once."""
        if self._closed:
            return
        self._closed = True
        for task in self._tasks:
            task.cancel()
        self._engine.loop.call_soon(self._station.ws_closed)

    def abort(self) -> None:
        """As :meth:`close` (there is no connection of its own to drop)."""
        self.close()
