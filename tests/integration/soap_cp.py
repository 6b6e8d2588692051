"""A station's ChargePointService for SOAP tests, built by zeep from the official WSDLs: each
request csms posts is parsed by zeep (an unexpected or missing element is recorded as an error)
and answered with a response zeep renders from :data:`ANSWERS` (so both directions are checked by
an implementation independent of csms's)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn
from lxml import etree
from zeep import Client
from zeep.helpers import serialize_object

from csms.messages.soap.service import CHARGE_POINT, WSDL_DIR

SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
WSA = "http://www.w3.org/2005/08/addressing"
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]

# A valid answer per operation (1.6 spelling; 1.5 overrides below).
ANSWERS: dict[str, dict[str, Any]] = {
    "CancelReservation": {"status": "Accepted"},
    "ChangeAvailability": {"status": "Scheduled"},
    "ChangeConfiguration": {"status": "Accepted"},
    "ClearCache": {"status": "Accepted"},
    "ClearChargingProfile": {"status": "Accepted"},
    "DataTransfer": {"status": "Accepted", "data": "pong"},
    "GetCompositeSchedule": {"status": "Rejected"},
    "GetConfiguration": {
        "configurationKey": [{"key": "HeartbeatInterval", "readonly": False, "value": "300"}],
        "unknownKey": ["Nope"],
    },
    "GetDiagnostics": {"fileName": "diagnostics.zip"},
    "GetLocalListVersion": {"listVersion": 7},
    "RemoteStartTransaction": {"status": "Accepted"},
    "RemoteStopTransaction": {"status": "Accepted"},
    "ReserveNow": {"status": "Accepted"},
    "Reset": {"status": "Accepted"},
    "SendLocalList": {"status": "Accepted"},
    "SetChargingProfile": {"status": "Accepted"},
    "TriggerMessage": {"status": "Accepted"},
    "UnlockConnector": {"status": "Unlocked"},
    "UpdateFirmware": {},
}
ANSWERS_15: dict[str, dict[str, Any]] = {
    "UnlockConnector": {"status": "Accepted"},  # 1.6 Unlocked
    "SendLocalList": {"status": "HashError", "hash": "abc"},  # 1.6 Failed
}


class ChargePointService:
    """Records ``(action, identity, request as a dict)`` and answers from :data:`ANSWERS`."""

    def __init__(self, version: str) -> None:
        self.namespace, wsdl = CHARGE_POINT[version]
        self.version = version
        self.client = Client(str(WSDL_DIR / wsdl))
        self.received: list[tuple[str, str, dict[str, Any]]] = []
        self.errors: list[str] = []
        self.delay = 0.0

    async def __call__(
        self,
        scope: Scope,
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        root = etree.fromstring(body)
        header = root.find(f"{{{SOAP12}}}Header")
        assert header is not None
        action = str(header.findtext(f"{{{WSA}}}Action")).lstrip("/")
        identity = str(header.findtext(f"{{{self.namespace}}}chargeBoxIdentity"))
        request = root.find(f"{{{SOAP12}}}Body")[0]  # type: ignore[index]
        try:
            element = self.client.get_element(request.tag)
            fields = serialize_object(element.parse(request, self.client.wsdl.types), dict)
        except Exception as exc:  # an invalid request: recorded, answered with a fault
            self.errors.append(f"{action}: {exc}")
            fields = {}
        self.received.append((action, identity, dict(fields or {})))
        await asyncio.sleep(self.delay)
        answer = self._answer(action)
        envelope = (
            f'<env:Envelope xmlns:env="{SOAP12}"><env:Header/><env:Body>{answer}</env:Body>'
            "</env:Envelope>"
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/soap+xml; charset=utf-8")],
            }
        )
        await send({"type": "http.response.body", "body": envelope})

    def _answer(self, action: str) -> str:
        values = (ANSWERS_15 if self.version == "1.5" else {}).get(action, ANSWERS[action])
        name = action[0].lower() + action[1:] + "Response"
        element = self.client.get_element(f"{{{self.namespace}}}{name}")
        node = etree.Element("root")
        element.render(node, element(**values))
        return etree.tostring(node[0]).decode()


@contextlib.asynccontextmanager
async def charge_point_service(version: str) -> AsyncIterator[tuple[ChargePointService, str]]:
    """Serve a :class:`ChargePointService` on loopback; yield it and its URL."""
    app = ChargePointService(version)
    sock = socket.create_server(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="off"))
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
        await asyncio.sleep(0.01)
    try:
        yield app, f"http://127.0.0.1:{sock.getsockname()[1]}/cp"
    finally:
        server.should_exit = True
        await task
