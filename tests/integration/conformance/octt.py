"""The OCTT's side of the OCPP 2.0.1 Part 6 CSMS test cases: a station speaking raw OCPP-J frames.

:class:`Octt` sends the station's CALLs and answers the CSMS's, frame by frame, so a test states
exactly what the OCTT sends and checks exactly what csms answers or asks. The reusable states of
Part 6 §3.18 (Booted, Authorized, EVConnectedPreSession, EnergyTransferStarted, StopAuthorized,
EVConnectedPostSession, EVDisconnected) are methods of :class:`Octt` and :class:`Transaction`.

An operator action ("Manual Action: request the CSMS to ...") is a typed command sent with
:func:`operator`, which runs it as a task while the test plays the station's answer::

    task = operator(server, Reset(ResetType.ON_IDLE))
    request = await octt.answer("Reset", {"status": "Accepted"})
    assert request == {"type": "OnIdle"}
    assert (await task).status is ChangeStatus.ACCEPTED
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import orjson
from websockets.asyncio.client import ClientConnection

from csms.blocks.authorization.commands import add_token
from csms.blocks.outbound import Command, send
from tests.integration.harness import PASSWORD, RunningCsms

Payload = dict[str, Any]
R = TypeVar("R")

STATION = "OCTT-CS"
SUBPROTOCOL = "ocpp2.0.1"
# <Configured valid_idtoken_idtoken> / <Configured valid_idtoken_type>
VALID_TOKEN = {"idToken": "OCTT-VALID-1", "type": "ISO14443"}
# <Configured model> / <Configured vendorName>
BOOT = {"chargingStation": {"model": "OCTT-Model", "vendorName": "OCTT-Vendor"}}
WAIT = 5.0  # seconds the OCTT waits for a message csms must send
CALL, CALLRESULT, CALLERROR = 2, 3, 4  # OCPP-J MessageTypeId


def timestamp(at: datetime | None = None) -> str:
    """An RFC 3339 UTC timestamp as stations send them."""
    return (at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


async def prepare(server: RunningCsms, station_id: str = STATION) -> None:
    """Register the station (Accepted, with the harness password) and the valid id token."""
    await server.add_station(station_id)
    assert server.csms.store is not None
    await add_token(server.csms.store.tokens, VALID_TOKEN["idToken"], now=datetime.now(UTC))


def operator(
    server: RunningCsms, command: Command[R], station_id: str = STATION
) -> asyncio.Task[R]:
    """Send an operator command to the station as a task (the test answers it as the station)."""
    return background(send(server.csms.registry, station_id, command))


def background(operation: Coroutine[Any, Any, R]) -> asyncio.Task[R]:
    """Run an operator's operation (e.g. ``get_variables``) while the test plays the station."""
    return asyncio.ensure_future(operation)


class Octt:
    """One station connection, frame by frame."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self._ids = itertools.count(1)
        self._event_ids = itertools.count(1)
        self._inbox: list[list[Any]] = []  # CSMS CALLs that arrived while we waited for a reply

    async def _read(self, timeout: float = WAIT) -> list[Any]:
        frame = orjson.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        assert isinstance(frame, list), frame
        return frame

    async def send(self, action: str, payload: Payload) -> list[Any]:
        """Send a CALL and return csms's reply frame (CALLRESULT or CALLERROR)."""
        message_id = f"octt-{next(self._ids)}"
        await self.ws.send(orjson.dumps([2, message_id, action, payload]).decode())
        while True:
            frame = await self._read()
            if frame[0] == CALL:
                self._inbox.append(frame)
            elif frame[1] == message_id:
                return frame

    async def call(self, action: str, payload: Payload) -> Payload:
        """Send a CALL that csms must answer with a CALLRESULT; return its payload."""
        frame = await self.send(action, payload)
        assert frame[0] == CALLRESULT, f"{action} answered {frame}"
        result: Payload = frame[2]
        return result

    async def refused(self, action: str, payload: Payload) -> str:
        """Send a CALL that csms must answer with a CALLERROR; return its error code."""
        frame = await self.send(action, payload)
        assert frame[0] == CALLERROR, f"{action} answered {frame}"
        return str(frame[2])

    async def expect(self, action: str, timeout: float = WAIT) -> tuple[str, Payload]:
        """The next CALL csms sends; it must be ``action``. Returns its message id and payload."""
        frame = self._inbox.pop(0) if self._inbox else await self._read(timeout)
        assert frame[0] == CALL and frame[2] == action, f"expected a {action} CALL, got {frame}"
        return str(frame[1]), frame[3]

    async def reply(self, message_id: str, payload: Payload) -> None:
        """Answer a CSMS CALL with a CALLRESULT."""
        await self.ws.send(orjson.dumps([3, message_id, payload]).decode())

    async def answer(self, action: str, payload: Payload) -> Payload:
        """Receive csms's ``action`` CALL, answer it with ``payload``; return the request."""
        message_id, request = await self.expect(action)
        await self.reply(message_id, payload)
        return request

    async def nothing_sent(self, timeout: float = 0.2) -> None:
        """Assert that csms sends nothing (more) for ``timeout`` seconds."""
        assert not self._inbox, self._inbox
        try:
            frame = await self._read(timeout)
        except TimeoutError:
            return
        raise AssertionError(f"csms sent {frame}")

    # --- the station's messages

    async def boot(self, reason: str = "PowerUp") -> Payload:
        """BootNotificationRequest with <Configured model> / <Configured vendorName>."""
        return await self.call("BootNotification", {**BOOT, "reason": reason})

    def status_notification(self, evse_id: int, connector_id: int, status: str) -> Payload:
        """A StatusNotificationRequest payload."""
        return {
            "timestamp": timestamp(),
            "connectorStatus": status,
            "evseId": evse_id,
            "connectorId": connector_id,
        }

    def notify_event(
        self,
        component: Payload,
        variable: str,
        actual_value: str,
        *,
        trigger: str = "Delta",
        notification: str = "HardWiredNotification",
    ) -> Payload:
        """A NotifyEventRequest payload with one event."""
        return {
            "generatedAt": timestamp(),
            "seqNo": 0,
            "eventData": [
                {
                    "eventId": next(self._event_ids),
                    "timestamp": timestamp(),
                    "trigger": trigger,
                    "actualValue": actual_value,
                    "eventNotificationType": notification,
                    "component": component,
                    "variable": {"name": variable},
                }
            ],
        }

    async def connector_status(self, evse_id: int, connector_id: int, status: str) -> None:
        """Notify csms of a connector's state, both ways the OCTT does (StatusNotification and
        NotifyEvent AvailabilityState, trigger Delta); csms answers each with an empty result."""
        assert (
            await self.call(
                "StatusNotification", self.status_notification(evse_id, connector_id, status)
            )
            == {}
        )
        connector = {"name": "Connector", "evse": {"id": evse_id, "connectorId": connector_id}}
        assert (
            await self.call(
                "NotifyEvent", self.notify_event(connector, "AvailabilityState", status)
            )
            == {}
        )

    async def booted(self, connectors: tuple[tuple[int, int], ...] = ((1, 1),)) -> Payload:
        """Reusable State Booted (Part 6 Table 390): BootNotification PowerUp answered Accepted,
        then every connector Available."""
        response = await self.boot()
        assert response["status"] == "Accepted", response
        for evse_id, connector_id in connectors:
            await self.connector_status(evse_id, connector_id, "Available")
        return response

    def transaction(self, transaction_id: str = "OCTT-TX-1", evse_id: int = 1) -> Transaction:
        """A transaction on ``evse_id``, connector 1 (<Configured evseId> / connectorId)."""
        return Transaction(self, transaction_id, evse_id)


def meter_value(
    value: float, context: str, *, at: datetime | None = None, signed: Payload | None = None
) -> Payload:
    """One MeterValueType with an Energy.Active.Import.Register sample in Wh."""
    sample: Payload = {
        "value": value,
        "context": context,
        "measurand": "Energy.Active.Import.Register",
        "unitOfMeasure": {"unit": "Wh"},
    }
    if signed is not None:
        sample["signedMeterValue"] = signed
    return {"timestamp": timestamp(at), "sampledValue": [sample]}


@dataclass
class Transaction:
    """A transaction the OCTT runs: each event gets the next seqNo."""

    octt: Octt
    transaction_id: str
    evse_id: int
    connector_id: int = 1
    seq_no: int = 0
    started: bool = False
    authorized: bool = False
    ev_connected: bool = False
    responses: list[Payload] = field(default_factory=list)

    async def event(
        self,
        event_type: str,
        trigger: str,
        *,
        charging_state: str | None = None,
        stopped_reason: str | None = None,
        id_token: Payload | None = None,
        meter_values: list[Payload] | None = None,
        with_evse: bool = False,
        extra: Payload | None = None,
    ) -> Payload:
        """Send a TransactionEventRequest and return csms's response."""
        info: Payload = {"transactionId": self.transaction_id}
        if charging_state is not None:
            info["chargingState"] = charging_state
        if stopped_reason is not None:
            info["stoppedReason"] = stopped_reason
        payload: Payload = {
            "eventType": event_type,
            "timestamp": timestamp(),
            "triggerReason": trigger,
            "seqNo": self.seq_no,
            "transactionInfo": info,
        }
        if with_evse or event_type == "Started":
            payload["evse"] = {"id": self.evse_id, "connectorId": self.connector_id}
        if id_token is not None:
            payload["idToken"] = id_token
        if meter_values:
            payload["meterValue"] = meter_values
        payload.update(extra or {})
        self.seq_no += 1
        response = await self.octt.call("TransactionEvent", payload)
        self.responses.append(response)
        if event_type == "Started":
            self.started = True
        return response

    def _type(self) -> str:
        return "Updated" if self.started else "Started"

    async def authorize(self) -> Payload:
        """Reusable State Authorized (Table 394): Authorize, then TransactionEvent Authorized."""
        response = await self.octt.call("Authorize", {"idToken": VALID_TOKEN})
        assert response["idTokenInfo"]["status"] == "Accepted", response
        event = await self.event(self._type(), "Authorized", id_token=VALID_TOKEN)
        _token_accepted(event)
        self.authorized = True
        return event

    async def ev_connected_pre_session(self, meter_values: list[Payload] | None = None) -> Payload:
        """Reusable State EVConnectedPreSession (Table 393): Occupied, then CablePluggedIn."""
        await self.octt.connector_status(self.evse_id, self.connector_id, "Occupied")
        event = await self.event(
            self._type(),
            "CablePluggedIn",
            charging_state="EVConnected",
            with_evse=True,
            meter_values=meter_values,
        )
        self.ev_connected = True
        return event

    async def energy_transfer_started(self) -> Payload:
        """Reusable State EnergyTransferStarted (Table 395): Authorized (if not yet), EV connected
        (if not yet), then ChargingStateChanged to Charging."""
        if not self.authorized:
            await self.authorize()
        if not self.ev_connected:
            await self.ev_connected_pre_session()
        return await self.event("Updated", "ChargingStateChanged", charging_state="Charging")

    async def stop_authorized(self) -> Payload:
        """Reusable State StopAuthorized (Table 397): TransactionEvent Updated StopAuthorized."""
        event = await self.event("Updated", "StopAuthorized", id_token=VALID_TOKEN)
        _token_accepted(event)
        return event

    async def ev_connected_post_session(self) -> Payload:
        """Reusable State EVConnectedPostSession (Table 398): charging stopped, EV connected."""
        return await self.event("Updated", "ChargingStateChanged", charging_state="EVConnected")

    async def ev_disconnected(self, meter_values: list[Payload] | None = None) -> Payload:
        """Reusable State EVDisconnected (Table 399): Available, then Ended EVCommunicationLost."""
        await self.octt.connector_status(self.evse_id, self.connector_id, "Available")
        self.ev_connected = False
        return await self.event(
            "Ended",
            "EVCommunicationLost",
            charging_state="Idle",
            stopped_reason="EVDisconnected",
            meter_values=meter_values,
        )


def _token_accepted(response: Payload) -> None:
    """The reusable states' tool validation "idTokenInfo.status must be Accepted": csms answers
    every TransactionEvent carrying an idToken with idTokenInfo (2.0.1 E01.FR.11)."""
    assert response["idTokenInfo"]["status"] == "Accepted", response


def clock_aligned(interval_s: int, count: int, *, start: datetime | None = None) -> list[datetime]:
    """``count`` clock-aligned instants ``interval_s`` apart (J01: aligned to midnight UTC)."""
    base = start or datetime.now(UTC).replace(microsecond=0)
    midnight = base.replace(hour=0, minute=0, second=0)
    first = midnight + timedelta(
        seconds=((base - midnight).total_seconds() // interval_s) * interval_s
    )
    return [first + timedelta(seconds=interval_s * n) for n in range(count)]


async def api_get(server: RunningCsms, path: str, **params: Any) -> Any:
    """GET ``/api/v1/stations/<station>/<path>`` as an operator; return the JSON body."""
    async with server.api() as api:
        response = await api.get(f"/api/v1/stations/{STATION}{path}", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def connector_states(server: RunningCsms) -> dict[tuple[int, int], str]:
    """The connector states an operator sees (HTTP API): (evseId, connectorId) → status."""
    station = await api_get(server, "")
    return {(c["evse_id"], c["connector_id"]): c["status"] for c in station["connectors"]}


@asynccontextmanager
async def connected(
    server: RunningCsms, station_id: str = STATION, *, password: bytes = PASSWORD
) -> AsyncIterator[Octt]:
    """A 2.0.1 WebSocket connection of ``station_id`` (Basic auth, security profile 1)."""
    async with server.connect(station_id, subprotocols=[SUBPROTOCOL], password=password) as ws:
        assert ws.subprotocol == SUBPROTOCOL
        yield Octt(ws)
