"""In-memory fakes of the domain ports and an httpx client on the ASGI app.

Test modules get the fakes through fixtures and import names from here only for type checking.

Fakes (not mocks) because these tests are about the HTTP boundary: they need ports that behave
like the real ones — unknown ids, duplicates, ordering — without a database or a WebSocket.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from csms.api import create_app
from csms.domain.connections import Disconnection
from csms.domain.errors import StationNotConnected, StorageError, UnknownStation
from csms.domain.ledger import StationQuery, StationSearch
from csms.domain.model import (
    BootInfo,
    ConnectorState,
    RegistrationStatus,
    Station,
    StatusReport,
)

T0 = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
TOKEN = "test-token-0123456789abcdef"
STRONG_PASSWORD = "0123456789abcdefXYZ"


class FakeStationRepository:
    """Stations in a dict; returns copies so a route cannot mutate "stored" state by accident."""

    def __init__(self) -> None:
        self.stations: dict[str, Station] = {}
        self.connectors: dict[str, list[ConnectorState]] = {}
        self.history: dict[str, list[StatusReport]] = {}
        self.add_hook: Callable[[Station], object] | None = None
        self.list_calls: list[tuple[int, int]] = []
        self.search_calls: list[tuple[StationQuery, str | None, int]] = []
        self.history_calls: list[tuple[str, int]] = []

    def put(self, station: Station) -> Station:
        self.stations[station.id] = station
        return station

    def _require(self, station_id: str) -> Station:
        try:
            return self.stations[station_id]
        except KeyError:
            raise UnknownStation(station_id) from None

    async def get(self, station_id: str) -> Station | None:
        station = self.stations.get(station_id)
        return None if station is None else replace(station)

    async def list(self, *, limit: int = 100, offset: int = 0) -> Sequence[Station]:
        self.list_calls.append((limit, offset))
        ordered = sorted(self.stations.values(), key=lambda s: s.id)
        return [replace(s) for s in ordered[offset : offset + limit]]

    async def search(self, query: StationQuery, *, after: str | None, limit: int) -> StationSearch:
        """The filters of the SQL search that need no connectors (those run on the database)."""
        self.search_calls.append((query, after, limit))
        needle = (query.q or "").lower()
        found = [
            s
            for s in sorted(self.stations.values(), key=lambda s: s.id)
            if (query.include_decommissioned or s.decommissioned_at is None)
            and (query.registration_status in (None, s.registration_status))
            and (query.online is None or s.online is query.online)
            and (query.ocpp_version in (None, s.ocpp_version))
            and any(needle in (v or "").lower() for v in (s.id, s.vendor_name, s.model))
        ]
        page = [s for s in found if after is None or s.id > after]
        return StationSearch([replace(s) for s in page[:limit]], len(found), more=len(page) > limit)

    async def add(self, station: Station) -> None:
        if self.add_hook is not None:
            self.add_hook(station)
        if station.id in self.stations:
            raise StorageError(f"duplicate station {station.id}")
        self.stations[station.id] = replace(station)

    async def set_registration(self, station_id: str, status: RegistrationStatus) -> None:
        self._require(station_id).registration_status = status

    async def set_password_hash(self, station_id: str, password_hash: str | None) -> None:
        station = self._require(station_id)
        station.password_hash, station.pending_password_hash = password_hash, None

    async def set_pending_password_hash(self, station_id: str, password_hash: str | None) -> None:
        self._require(station_id).pending_password_hash = password_hash

    async def set_lenient(self, station_id: str, lenient: bool) -> None:
        self._require(station_id).lenient = lenient

    async def set_soap_endpoint(self, station_id: str, endpoint: str | None) -> None:
        self._require(station_id).soap_endpoint = endpoint

    async def set_min_security_profile(self, station_id: str, profile: int | None) -> None:
        self._require(station_id).min_security_profile = profile

    async def set_decommissioned(self, station_id: str, at: datetime | None) -> None:
        self._require(station_id).decommissioned_at = at

    async def record_boot(
        self, station_id: str, boot: BootInfo, status: RegistrationStatus, now: datetime
    ) -> None:
        station = self._require(station_id)
        station.vendor_name, station.model = boot.vendor_name, boot.model
        station.registration_status, station.last_boot_at = status, now

    async def record_connection(
        self,
        station_id: str,
        *,
        online: bool,
        ocpp_version: str | None,
        now: datetime,
        reason: str | None = None,
    ) -> None:
        station = self._require(station_id)
        station.online, station.ocpp_version = online, ocpp_version

    async def record_disconnections(
        self, disconnections: Sequence[Disconnection], *, at: datetime
    ) -> None:
        for d in disconnections:
            self._require(d.station_id).online = False

    def touch(self, station_id: str, now: datetime) -> None:
        self._require(station_id).last_seen_at = now

    async def record_status(self, report: StatusReport) -> None:
        self.history.setdefault(report.station_id, []).insert(0, report)

    async def connector_states(self, station_id: str) -> Sequence[ConnectorState]:
        return list(self.connectors.get(station_id, []))

    async def status_history(self, station_id: str, *, limit: int = 100) -> Sequence[StatusReport]:
        self.history_calls.append((station_id, limit))
        return self.history.get(station_id, [])[:limit]


@dataclass
class SentCall:
    station_id: str
    action: str
    payload: dict[str, Any]
    timeout: float | None


@dataclass
class FakeGateway:
    """Live sessions as a dict of station id → negotiated version; ``error`` is raised by call."""

    sessions: dict[str, str] = field(default_factory=dict)
    result: dict[str, Any] = field(default_factory=lambda: {"status": "Accepted"})
    error: Exception | None = None
    calls: list[SentCall] = field(default_factory=list)

    def is_connected(self, station_id: str) -> bool:
        return station_id in self.sessions

    def ocpp_version(self, station_id: str) -> str | None:
        return self.sessions.get(station_id)

    def session_counters(self, station_id: str) -> None:
        return None

    async def call(
        self,
        station_id: str,
        action: str,
        payload: dict[str, Any],
        *,
        timeout: float | None = None,
        password_rotation: bool = False,
    ) -> dict[str, Any]:
        self.calls.append(SentCall(station_id, action, payload, timeout))
        if self.error is not None:
            raise self.error
        if station_id not in self.sessions:
            raise StationNotConnected(f"station {station_id!r} is not connected")
        return self.result


@pytest.fixture
def repo() -> FakeStationRepository:
    return FakeStationRepository()


@pytest.fixture
def gateway() -> FakeGateway:
    return FakeGateway()


AppFactory = Callable[..., FastAPI]
ClientFactory = Callable[..., httpx.AsyncClient]


@pytest.fixture
def make_app(repo: FakeStationRepository, gateway: FakeGateway) -> AppFactory:
    """``make_app(**create_app_kwargs)``: the API requires :data:`TOKEN` unless told otherwise
    (another ``api_token``/``credentials``, or ``auth="none"``)."""

    def make(**kwargs: Any) -> FastAPI:
        if kwargs.get("auth") != "none" and "credentials" not in kwargs:
            kwargs.setdefault("api_token", TOKEN)
        return create_app(stations=repo, gateway=gateway, **kwargs)

    return make


@pytest.fixture
async def make_client() -> AsyncIterator[ClientFactory]:
    """``make_client(app, token=TOKEN)``: an httpx client on ``app`` (Host ``localhost``) that
    sends ``Authorization: Bearer <token>``; ``token=None`` sends none."""
    clients: list[httpx.AsyncClient] = []

    def make(
        app: FastAPI, *, raise_app_exceptions: bool = True, token: str | None = TOKEN
    ) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        client = httpx.AsyncClient(
            transport=transport, base_url="http://localhost", headers=headers
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
async def client(make_app: AppFactory, make_client: ClientFactory) -> httpx.AsyncClient:
    """An authenticated client on an app that requires :data:`TOKEN`."""
    return make_client(make_app())


def _check_problem(
    response: httpx.Response, status: int, slug: str | None = None
) -> dict[str, Any]:
    """Assert ``response`` is an RFC 9457 problem with ``status`` (and type ``slug``)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    if slug is not None:
        assert body["type"] == f"urn:csms:problem:{slug}"
    return body


ProblemCheck = Callable[..., dict[str, Any]]


@pytest.fixture
def problem() -> ProblemCheck:
    """``problem(response, status, slug)`` checks a problem+json answer and returns its body."""
    return _check_problem
