"""CSMS-initiated calls to SOAP stations (issue 12): the typed API commands reach a station's
ChargePointService at its WS-Addressing From address. The station is zeep (CentralSystemService
client, from the official WSDL) plus a small ChargePointService this test runs."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from lxml import etree

from tests.integration.test_soap import SOAP12, WSA, soap_csms, soap_station, soap_url

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]

ANSWERS = {
    "Reset": "<resetResponse><status>Accepted</status></resetResponse>",
    "RemoteStartTransaction": (
        "<remoteStartTransactionResponse><status>Accepted</status></remoteStartTransactionResponse>"
    ),
    "RemoteStopTransaction": (
        "<remoteStopTransactionResponse><status>Rejected</status></remoteStopTransactionResponse>"
    ),
    "UnlockConnector": "<unlockConnectorResponse><status>Bogus</status></unlockConnectorResponse>",
}


class ChargePointService:
    """A station's ChargePointService: records each request and answers from ANSWERS."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.received: list[tuple[str, str, dict[str, str], str | None]] = []
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
        action = str(header.findtext(f"{{{WSA}}}Action"))
        identity = str(header.findtext(f"{{{self.namespace}}}chargeBoxIdentity"))
        request = root.find(f"{{{SOAP12}}}Body")[0]  # type: ignore[index]
        fields = {etree.QName(c).localname: str(c.text) for c in request}
        self.received.append((action, identity, fields, header.findtext(f"{{{WSA}}}MessageID")))
        await asyncio.sleep(self.delay)
        answer = ANSWERS[action.lstrip("/")].replace(
            "Response>", f'Response xmlns="{self.namespace}">', 1
        )
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


@contextlib.asynccontextmanager
async def charge_point_service(namespace: str) -> AsyncIterator[tuple[ChargePointService, str]]:
    app = ChargePointService(namespace)
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


@pytest.mark.parametrize(
    ("version", "namespace"), [("1.6", "urn://Ocpp/Cp/2015/10/"), ("1.5", "urn://Ocpp/Cp/2012/06/")]
)
async def test_typed_commands_reach_a_soap_station(
    tmp_path: Path, version: str, namespace: str
) -> None:
    async with soap_csms(tmp_path) as server, charge_point_service(namespace) as (cp_service, url):
        await server.add_station("SOAP-CP")
        station = soap_station(soap_url(server), "SOAP-CP", version)
        station.from_header.address = url
        await station.call("BootNotification", chargePointVendor="V", chargePointModel="M")
        async with server.api() as api:
            reset = await api.post("/api/v1/stations/SOAP-CP/commands/reset", json={"type": "hard"})
            start = await api.post(
                "/api/v1/stations/SOAP-CP/commands/start", json={"id_token": "TAG", "evse_id": 1}
            )
            stop = await api.post(
                "/api/v1/stations/SOAP-CP/commands/stop", json={"transaction_id": "17"}
            )
            invalid = await api.post(
                "/api/v1/stations/SOAP-CP/commands/unlock", json={"evse_id": 1}
            )
            # The generic call route reaches it too (the API's gateway includes SOAP stations).
            generic = await api.post("/api/v1/stations/SOAP-CP/call/Reset", json={"type": "Soft"})
        assert reset.status_code == 200 and reset.json()["status"] == "Accepted", reset.text
        assert start.status_code == 200 and start.json()["status"] == "Accepted", start.text
        assert stop.status_code == 200 and stop.json()["status"] == "Rejected", stop.text
        assert invalid.status_code == 502, invalid.text  # the station's answer violates the schema
        assert generic.status_code == 200, generic.text
        assert generic.json()["status"] == "Accepted", generic.text
        actions = [(a, i) for a, i, _, _ in cp_service.received]
        assert actions == [
            ("/Reset", "SOAP-CP"),
            ("/RemoteStartTransaction", "SOAP-CP"),
            ("/RemoteStopTransaction", "SOAP-CP"),
            ("/UnlockConnector", "SOAP-CP"),
            ("/Reset", "SOAP-CP"),
        ]
        assert cp_service.received[0][2] == {"type": "Hard"}
        assert cp_service.received[1][2] == {"connectorId": "1", "idTag": "TAG"}


async def test_unreachable_or_silent_soap_stations(tmp_path: Path) -> None:
    async with soap_csms(tmp_path) as server:
        await server.add_station("SOAP-NAT")
        station = soap_station(soap_url(server), "SOAP-NAT")
        # Behind NAT: it announces an address nobody listens on.
        with socket.create_server(("127.0.0.1", 0)) as probe:
            dead = f"http://127.0.0.1:{probe.getsockname()[1]}/cp"
        station.from_header.address = dead
        await station.call("BootNotification", chargePointVendor="V", chargePointModel="M")
        async with server.api() as api:
            refused = await api.post("/api/v1/stations/SOAP-NAT/commands/reset", json={})
            never = await api.post("/api/v1/stations/NEVER/commands/reset", json={})
        assert refused.status_code == 409, refused.text
        assert "cannot be reached" in refused.text
        assert never.status_code in (404, 409)


async def test_a_slow_soap_station_times_out(tmp_path: Path) -> None:
    async with (
        soap_csms(tmp_path) as server,
        charge_point_service("urn://Ocpp/Cp/2015/10/") as (cp_service, url),
    ):
        cp_service.delay = 3.0
        await server.add_station("SOAP-SLOW")
        station = soap_station(soap_url(server), "SOAP-SLOW")
        station.from_header.address = url
        await station.call("BootNotification", chargePointVendor="V", chargePointModel="M")
        async with server.api() as api:
            slow = await api.post(
                "/api/v1/stations/SOAP-SLOW/commands/reset", json={}, params={"timeout": 1}
            )
        assert slow.status_code == 504, slow.text
