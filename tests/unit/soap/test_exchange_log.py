"""SOAP exchanges as message log frames (sans I/O): one tap per exchange, always closed, so no
CALL stays waiting in the recorder; ids fit the OCPP-J limit."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from csms.config import ServerSettings
from csms.domain.model import RegistrationStatus, Station
from csms.soap.exchange_log import ExchangeLog, log_message_id
from csms.soap.gateway import Caller, SoapGateway
from csms.soap.presence import PresenceTable

T = datetime(2024, 5, 1, tzinfo=UTC)
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
WSA = "http://www.w3.org/2005/08/addressing"
NS16 = "urn://Ocpp/Cs/2015/10/"


class Tap:
    def __init__(self, log: list[tuple[str, Any]]) -> None:
        self.log = log

    def frame(self, inbound: bool, frame: str | bytes) -> None:
        self.log.append(("in" if inbound else "out", orjson.loads(frame)))

    def closed(self) -> None:
        self.log.append(("closed", None))


def test_ids_fit_ocpp_j() -> None:
    assert log_message_id("urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e") == (
        "0f8fad5b-d9cb-469f-a165-70867728950e"
    )
    assert log_message_id("short-1") == "short-1"
    for odd in (None, "", "x" * 37, 'a"b'):
        made = log_message_id(odd)
        assert len(made) == 36 and made != odd


def test_an_exchange_is_a_call_and_its_answer_then_closed() -> None:
    frames: list[tuple[str, Any]] = []
    log = ExchangeLog(lambda station_id: Tap(frames))
    log.begin(
        "CP", inbound=False, message_id="m1", action="Reset", payload={"type": "Hard"}
    ).failed("SoapFault", "env:Receiver: busy")
    assert frames == [
        ("out", [2, "m1", "Reset", {"type": "Hard"}]),
        ("in", [4, "m1", "SoapFault", "env:Receiver: busy", {}]),
        ("closed", None),
    ]
    frames.clear()
    exchange = log.begin("CP", inbound=True, message_id=None, action="Heartbeat", payload={})
    exchange.unanswered()
    exchange.answered({"late": True})  # ended once: ignored
    assert [kind for kind, _ in frames] == ["in", "closed"]
    ExchangeLog(None).begin("CP", inbound=True, message_id="m", action="A", payload={}).answered({})


class Stations:
    async def get(self, station_id: str) -> Station:
        return Station(station_id, RegistrationStatus.ACCEPTED, created_at=T)

    async def record_connection(self, station_id: str, **_: Any) -> None:
        pass

    def touch(self, station_id: str, now: datetime) -> None:
        pass


class Broken:
    async def handle_call(self, ctx: Any, action: str, payload: Any) -> Any:
        raise RuntimeError("bug")


async def test_a_bug_of_ours_is_logged_as_internal_error_and_closed() -> None:
    frames: list[tuple[str, Any]] = []
    gateway = SoapGateway(
        ServerSettings(security_profile=0),
        stations=Stations(),  # type: ignore[arg-type]
        dispatcher=Broken(),  # type: ignore[arg-type]
        presence=PresenceTable(timeout=360),
        clock=lambda: T,
        versions=("1.6",),
        frame_taps=lambda station_id: Tap(frames),
    )
    envelope = (
        f'<env:Envelope xmlns:env="{SOAP12}"><env:Header>'
        f'<chargeBoxIdentity xmlns="{NS16}">CP</chargeBoxIdentity>'
        f'<wsa:MessageID xmlns:wsa="{WSA}">urn:uuid:11111111-2222-3333-4444-555555555555'
        "</wsa:MessageID></env:Header>"
        f'<env:Body><heartbeatRequest xmlns="{NS16}"/></env:Body></env:Envelope>'
    ).encode()
    reply = await gateway.handle(envelope, Caller(None, "192.0.2.1", tls=False))
    assert reply.status == 500
    message_id = "11111111-2222-3333-4444-555555555555"
    assert frames == [
        ("in", [2, message_id, "Heartbeat", {}]),
        ("out", [4, message_id, "InternalError", "internal error", {}]),
        ("closed", None),
    ]
