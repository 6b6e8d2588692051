"""The SOAP gateway without sockets: a handler's bug is a Receiver fault, never an exception out
of ``handle``; a storage outage is a Receiver fault the station retries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from csms.config import ServerSettings
from csms.domain.errors import StorageError
from csms.domain.model import RegistrationStatus, Station
from csms.soap.gateway import Caller, SoapGateway
from csms.soap.presence import PresenceTable

T = datetime(2024, 5, 1, tzinfo=UTC)
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
NS16 = "urn://Ocpp/Cs/2015/10/"
HEARTBEAT = (
    f'<env:Envelope xmlns:env="{SOAP12}"><env:Header>'
    f'<chargeBoxIdentity xmlns="{NS16}">CP</chargeBoxIdentity></env:Header>'
    f'<env:Body><heartbeatRequest xmlns="{NS16}"/></env:Body></env:Envelope>'
).encode()


class Stations:
    def __init__(self) -> None:
        self.seen: list[str] = []

    async def get(self, station_id: str) -> Station:
        return Station(station_id, RegistrationStatus.ACCEPTED, created_at=T)

    async def record_connection(self, station_id: str, **_: Any) -> None:
        pass

    def touch(self, station_id: str, now: datetime) -> None:
        self.seen.append(station_id)


class Dispatcher:
    def __init__(self, error: Exception) -> None:
        self.error = error

    async def handle_call(self, ctx: Any, action: str, payload: Any) -> Any:
        raise self.error


@pytest.mark.parametrize(
    ("error", "reason"),
    [(RuntimeError("bug"), "internal error"), (StorageError("down"), "storage unavailable")],
)
async def test_failures_of_ours_are_receiver_faults(error: Exception, reason: str) -> None:
    stations = Stations()
    gateway = SoapGateway(
        ServerSettings(security_profile=0),
        stations=stations,  # type: ignore[arg-type]
        dispatcher=Dispatcher(error),  # type: ignore[arg-type]
        presence=PresenceTable(timeout=360),
        clock=lambda: T,
        versions=("1.6",),
    )
    reply = await gateway.handle(HEARTBEAT, Caller(None, "192.0.2.1", tls=False))
    assert reply.status == 500
    assert b"env:Receiver" in reply.body and reason.encode() in reply.body
    assert stations.seen == ["CP"]  # it called: last_seen_at moves even when csms fails
