"""The station registry routes: list, get, status history, register, update."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from csms.domain.credentials import verify_password
from csms.domain.errors import StorageError
from csms.domain.model import ConnectorState, RegistrationStatus, Station, StatusReport

if TYPE_CHECKING:
    from tests.unit.api.conftest import FakeGateway, FakeStationRepository, ProblemCheck

T0 = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
PASSWORD = "0123456789abcdefXYZ"  # 19 bytes: within 16..40

SUMMARY_KEYS = {
    "id",
    "registration_status",
    "ocpp_version",
    "vendor_name",
    "model",
    "serial_number",
    "firmware_version",
    "online",
    "transport",
    "last_seen_at",
    "last_boot_at",
    "connected_at",
    "decommissioned_at",
    "connectors",
}


def _station(station_id: str, **kwargs: Any) -> Station:
    return Station(id=station_id, **kwargs)


# --- GET /api/v1/stations -------------------------------------------------------------------


async def test_list_is_empty_without_stations(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/stations")
    assert response.status_code == 200
    assert response.json() == {"items": [], "next_cursor": None, "total": 0}


async def test_list_reports_fields_and_never_the_password_hash(
    client: httpx.AsyncClient, repo: FakeStationRepository
) -> None:
    repo.put(
        _station(
            "CS-1",
            registration_status=RegistrationStatus.ACCEPTED,
            ocpp_version="2.0.1",
            vendor_name="Acme",
            model="X1",
            serial_number="SN1",
            firmware_version="1.2.3",
            password_hash="sha256$00$secret-hash",
            last_seen_at=T0,
            last_boot_at=T0 - timedelta(hours=1),
            connected_at=T0 - timedelta(hours=2),
        )
    )
    response = await client.get("/api/v1/stations")
    assert response.status_code == 200
    [item] = response.json()["items"]
    assert set(item) == SUMMARY_KEYS
    assert item == {
        "id": "CS-1",
        "registration_status": "Accepted",
        "ocpp_version": "2.0.1",
        "vendor_name": "Acme",
        "model": "X1",
        "serial_number": "SN1",
        "firmware_version": "1.2.3",
        "online": False,
        "transport": None,
        "last_seen_at": "2025-01-02T03:04:05Z",
        "last_boot_at": "2025-01-02T02:04:05Z",
        "connected_at": "2025-01-02T01:04:05Z",
        "decommissioned_at": None,
        "connectors": None,  # only with ?with_connectors=true
    }
    assert "secret-hash" not in response.text


async def test_online_and_version_come_from_the_gateway_not_the_stored_flag(
    client: httpx.AsyncClient, repo: FakeStationRepository, gateway: FakeGateway
) -> None:
    # Stale: stored online after a crash, but no live session.
    repo.put(_station("stale", online=True, ocpp_version="1.6"))
    # Live: connected and negotiated 2.1 although storage has not caught up yet.
    repo.put(_station("live", online=False, ocpp_version="2.0.1"))
    gateway.sessions["live"] = "2.1"
    items = {s["id"]: s for s in (await client.get("/api/v1/stations")).json()["items"]}
    assert items["stale"]["online"] is False
    assert items["stale"]["ocpp_version"] == "1.6"
    assert items["live"]["online"] is True
    assert items["live"]["ocpp_version"] == "2.1"
    assert (items["live"]["transport"], items["stale"]["transport"]) == ("json", None)


async def test_list_pages_with_an_opaque_cursor_and_a_total(
    client: httpx.AsyncClient, repo: FakeStationRepository
) -> None:
    for n in range(5):
        repo.put(_station(f"CS-{n}"))
    first = (await client.get("/api/v1/stations", params={"limit": 2})).json()
    assert [s["id"] for s in first["items"]] == ["CS-0", "CS-1"]
    assert first["total"] == 5
    second = (
        await client.get("/api/v1/stations", params={"limit": 2, "cursor": first["next_cursor"]})
    ).json()
    assert [s["id"] for s in second["items"]] == ["CS-2", "CS-3"]
    last = (
        await client.get("/api/v1/stations", params={"limit": 2, "cursor": second["next_cursor"]})
    ).json()
    assert [s["id"] for s in last["items"]] == ["CS-4"]
    assert last["next_cursor"] is None
    await client.get("/api/v1/stations")
    assert repo.search_calls[-1][2] == 50  # the default page


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": 501}, {"limit": "many"}, {"online": "maybe"}]
)
async def test_list_rejects_bad_paging(
    client: httpx.AsyncClient, problem: ProblemCheck, params: dict[str, int | str]
) -> None:
    body = problem(await client.get("/api/v1/stations", params=params), 422, "validation-error")
    assert body["errors"][0]["loc"][0] == "query"


@pytest.mark.parametrize("cursor", ["not base64!", "e30", "eyJrIjoidHgiLCJpIjoxfQ", "x" * 1024])
async def test_list_refuses_a_bad_cursor(
    client: httpx.AsyncClient, problem: ProblemCheck, cursor: str
) -> None:
    body = problem(await client.get("/api/v1/stations", params={"cursor": cursor}), 400)
    assert body["type"] == "urn:csms:problem:bad-cursor"
    assert "next_cursor" in body["detail"]


async def test_list_filters_and_searches(
    client: httpx.AsyncClient, repo: FakeStationRepository
) -> None:
    repo.put(_station("CS-A", vendor_name="Acme", registration_status=RegistrationStatus.ACCEPTED))
    repo.put(_station("CS-B", model="ACME-2", ocpp_version="1.6"))
    repo.put(_station("CS-C", decommissioned_at=T0))
    ids = lambda r: [s["id"] for s in r.json()["items"]]  # noqa: E731
    assert ids(await client.get("/api/v1/stations", params={"q": "acme"})) == ["CS-A", "CS-B"]
    assert ids(await client.get("/api/v1/stations", params={"ocpp_version": "1.6"})) == ["CS-B"]
    accepted = {"registration_status": "Accepted"}
    assert ids(await client.get("/api/v1/stations", params=accepted)) == ["CS-A"]
    assert ids(await client.get("/api/v1/stations")) == ["CS-A", "CS-B"]
    everything = {"include_decommissioned": "true"}
    assert ids(await client.get("/api/v1/stations", params=everything))[-1] == "CS-C"


async def test_decommission_hides_keeps_and_reactivates(
    client: httpx.AsyncClient, repo: FakeStationRepository, problem: ProblemCheck
) -> None:
    repo.put(_station("CS-D", registration_status=RegistrationStatus.ACCEPTED))
    assert (await client.delete("/api/v1/stations/CS-D")).status_code == 204
    assert (await client.delete("/api/v1/stations/CS-D")).status_code == 204  # idempotent
    assert repo.stations["CS-D"].decommissioned_at is not None
    detail = (await client.get("/api/v1/stations/CS-D")).json()
    assert detail["decommissioned_at"] is not None
    problem(await client.delete("/api/v1/stations/nope"), 404, "unknown-station")
    again = await client.post("/api/v1/stations", json={"id": "CS-D", "password": PASSWORD})
    assert again.status_code == 201
    assert again.json()["decommissioned_at"] is None
    assert repo.stations["CS-D"].decommissioned_at is None
    assert repo.stations["CS-D"].password_hash is not None


# --- GET /api/v1/stations/{id} --------------------------------------------------------------


async def test_get_station_with_connectors(
    client: httpx.AsyncClient, repo: FakeStationRepository, gateway: FakeGateway
) -> None:
    repo.put(_station("CS-1", lenient=True, password_hash="sha256$00$h", created_at=T0))
    repo.connectors["CS-1"] = [
        ConnectorState(evse_id=0, connector_id=0, status="Available", timestamp=T0),
        ConnectorState(
            evse_id=1,
            connector_id=1,
            status="Faulted",
            timestamp=T0,
            error_code="GroundFailure",
            info="tripped",
        ),
    ]
    gateway.sessions["CS-1"] = "1.6"
    response = await client.get("/api/v1/stations/CS-1")
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= SUMMARY_KEYS
    assert "password_hash" not in body
    assert body["online"] is True
    assert body["lenient"] is True
    assert body["has_password"] is True
    assert body["created_at"] == "2025-01-02T03:04:05Z"
    assert body["connectors"] == [
        {
            "evse_id": 0,
            "connector_id": 0,
            "status": "Available",
            "timestamp": "2025-01-02T03:04:05Z",
            "error_code": None,
            "info": None,
        },
        {
            "evse_id": 1,
            "connector_id": 1,
            "status": "Faulted",
            "timestamp": "2025-01-02T03:04:05Z",
            "error_code": "GroundFailure",
            "info": "tripped",
        },
    ]


async def test_get_unknown_station_is_404(client: httpx.AsyncClient, problem: ProblemCheck) -> None:
    body = problem(await client.get("/api/v1/stations/nope"), 404, "unknown-station")
    assert body["instance"] == "/api/v1/stations/nope"
    assert "nope" in body["detail"]


async def test_percent_encoded_ids_reach_the_repository_decoded(
    client: httpx.AsyncClient, repo: FakeStationRepository
) -> None:
    repo.put(_station("CS 1#ä"))
    response = await client.get("/api/v1/stations/CS%201%23%C3%A4")
    assert response.status_code == 200
    assert response.json()["id"] == "CS 1#ä"


# --- GET /api/v1/stations/{id}/status-history -----------------------------------------------


async def test_status_history_newest_first_with_limit(
    client: httpx.AsyncClient, repo: FakeStationRepository
) -> None:
    repo.put(_station("CS-1"))
    for n, status in enumerate(["Available", "Preparing", "Charging"]):
        await repo.record_status(
            StatusReport(
                station_id="CS-1",
                evse_id=1,
                connector_id=1,
                status=status,
                timestamp=T0 + timedelta(minutes=n),
                error_code="NoError",
                vendor_id="acme",
                vendor_error_code="E0",
            )
        )
    response = await client.get("/api/v1/stations/CS-1/status-history", params={"limit": 2})
    assert response.status_code == 200
    body = response.json()
    assert [r["status"] for r in body] == ["Charging", "Preparing"]
    assert body[0] == {
        "evse_id": 1,
        "connector_id": 1,
        "status": "Charging",
        "timestamp": "2025-01-02T03:06:05Z",
        "error_code": "NoError",
        "info": None,
        "vendor_id": "acme",
        "vendor_error_code": "E0",
    }
    assert repo.history_calls == [("CS-1", 2)]


async def test_status_history_of_unknown_station_is_404(
    client: httpx.AsyncClient, repo: FakeStationRepository, problem: ProblemCheck
) -> None:
    problem(await client.get("/api/v1/stations/nope/status-history"), 404, "unknown-station")
    assert repo.history_calls == []


@pytest.mark.parametrize("limit", [0, 1001])
async def test_status_history_limit_is_bounded(
    client: httpx.AsyncClient, repo: FakeStationRepository, problem: ProblemCheck, limit: int
) -> None:
    repo.put(_station("CS-1"))
    response = await client.get("/api/v1/stations/CS-1/status-history", params={"limit": limit})
    problem(response, 422, "validation-error")


# --- POST /api/v1/stations ------------------------------------------------------------------


async def test_register_defaults_to_accepted_without_password(
    client: httpx.AsyncClient, repo: FakeStationRepository
) -> None:
    response = await client.post("/api/v1/stations", json={"id": "CS-1"})
    assert response.status_code == 201
    assert response.headers["location"] == "/api/v1/stations/CS-1"
    body = response.json()
    assert body["id"] == "CS-1"
    assert body["registration_status"] == "Accepted"
    assert body["lenient"] is False
    assert body["has_password"] is False
    assert body["online"] is False
    assert body["connectors"] == []
    stored = repo.stations["CS-1"]
    assert stored.registration_status is RegistrationStatus.ACCEPTED
    assert stored.password_hash is None
    assert stored.created_at is not None


async def test_register_hashes_the_password_and_never_echoes_or_logs_it(
    client: httpx.AsyncClient, repo: FakeStationRepository, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    response = await client.post(
        "/api/v1/stations",
        json={
            "id": "CS-2",
            "password": PASSWORD,
            "registration_status": "Pending",
            "lenient": True,
        },
    )
    assert response.status_code == 201
    assert PASSWORD not in response.text
    assert response.json()["has_password"] is True
    stored = repo.stations["CS-2"]
    assert stored.password_hash is not None
    assert verify_password(PASSWORD.encode(), stored.password_hash)
    assert stored.registration_status is RegistrationStatus.PENDING
    assert stored.lenient is True
    assert PASSWORD not in caplog.text
    assert stored.password_hash not in caplog.text


async def test_register_location_is_percent_encoded(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/stations", json={"id": "CS 1?#"})
    assert response.status_code == 201
    assert response.headers["location"] == "/api/v1/stations/CS%201%3F%23"


@pytest.mark.parametrize("password", ["", "short", "x" * 15, "x" * 41, "é" * 21])
async def test_register_refuses_weak_passwords(
    client: httpx.AsyncClient,
    repo: FakeStationRepository,
    problem: ProblemCheck,
    password: str,
) -> None:
    response = await client.post("/api/v1/stations", json={"id": "CS-1", "password": password})
    body = problem(response, 422, "weak-password")
    assert "16 to 40 bytes" in body["detail"]
    if password:
        assert password not in response.text
    assert repo.stations == {}


@pytest.mark.parametrize("password", ["x" * 16, "x" * 40, "é" * 20])
async def test_register_accepts_passwords_of_16_to_40_bytes(
    client: httpx.AsyncClient, password: str
) -> None:
    response = await client.post("/api/v1/stations", json={"id": "CS-1", "password": password})
    assert response.status_code == 201


async def test_register_existing_station_is_409(
    client: httpx.AsyncClient, repo: FakeStationRepository, problem: ProblemCheck
) -> None:
    repo.put(_station("CS-1", registration_status=RegistrationStatus.REJECTED))
    response = await client.post("/api/v1/stations", json={"id": "CS-1"})
    problem(response, 409, "station-exists")
    assert repo.stations["CS-1"].registration_status is RegistrationStatus.REJECTED


async def test_register_race_lost_to_a_concurrent_registration_is_409(
    client: httpx.AsyncClient, repo: FakeStationRepository, problem: ProblemCheck
) -> None:
    # Someone else registers the id between our existence check and our insert.
    repo.add_hook = lambda station: repo.put(_station(station.id))
    problem(await client.post("/api/v1/stations", json={"id": "CS-1"}), 409, "station-exists")


async def test_register_storage_failure_is_503(
    client: httpx.AsyncClient, repo: FakeStationRepository, problem: ProblemCheck
) -> None:
    def fail(station: Station) -> None:
        raise StorageError("database is down")

    repo.add_hook = fail
    problem(await client.post("/api/v1/stations", json={"id": "CS-1"}), 503, "storage-unavailable")


@pytest.mark.parametrize(
    "station_id",
    ["", "x" * 49, "CS:1", ":", "CS/1", "CS\x001", "CS\n1", "CS\t1"],
    ids=["empty", "49-chars", "colon", "only-colon", "slash", "nul", "newline", "tab"],
)
async def test_register_refuses_bad_ids(
    client: httpx.AsyncClient,
    repo: FakeStationRepository,
    problem: ProblemCheck,
    station_id: str,
) -> None:
    response = await client.post("/api/v1/stations", json={"id": station_id})
    body = problem(response, 422, "validation-error")
    assert body["errors"][0]["loc"] == ["body", "id"]
    assert repo.stations == {}


@pytest.mark.parametrize("station_id", ["x" * 48, "a", "CS-01_x.y*=+|@", "Ladesäule 7"])
async def test_register_accepts_good_ids(client: httpx.AsyncClient, station_id: str) -> None:
    response = await client.post("/api/v1/stations", json={"id": station_id})
    assert response.status_code == 201
    assert response.json()["id"] == station_id


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"id": "CS-1", "registration_status": "Maybe"},
        {"id": "CS-1", "lenient": "sometimes"},
        {"id": "CS-1", "registrationStatus": "Pending"},  # unknown member: a typo, not a no-op
        {"id": 7},
        {"id": "CS-1", "password": 1234567890123456789},
    ],
)
async def test_register_refuses_malformed_bodies(
    client: httpx.AsyncClient, problem: ProblemCheck, payload: dict[str, object]
) -> None:
    response = await client.post("/api/v1/stations", json=payload)
    body = problem(response, 422, "validation-error")
    assert body["errors"]
    # Validation errors never echo the input (it may hold a password).
    assert all(set(error) == {"loc", "msg", "type"} for error in body["errors"])
    assert "1234567890123456789" not in response.text


# --- PATCH /api/v1/stations/{id} ------------------------------------------------------------


async def test_accept_a_pending_station(
    client: httpx.AsyncClient, repo: FakeStationRepository
) -> None:
    repo.put(_station("CS-1", registration_status=RegistrationStatus.PENDING))
    response = await client.patch("/api/v1/stations/CS-1", json={"registration_status": "Accepted"})
    assert response.status_code == 200
    assert response.json()["registration_status"] == "Accepted"
    assert repo.stations["CS-1"].registration_status is RegistrationStatus.ACCEPTED


async def test_update_password_and_lenient(
    client: httpx.AsyncClient, repo: FakeStationRepository
) -> None:
    repo.put(_station("CS-1"))
    response = await client.patch(
        "/api/v1/stations/CS-1", json={"password": PASSWORD, "lenient": True}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["lenient"] is True
    assert body["has_password"] is True
    assert PASSWORD not in response.text
    stored = repo.stations["CS-1"]
    assert stored.password_hash is not None
    assert verify_password(PASSWORD.encode(), stored.password_hash)
    assert stored.lenient is True
    assert stored.registration_status is RegistrationStatus.PENDING  # untouched


async def test_null_password_removes_it(
    client: httpx.AsyncClient, repo: FakeStationRepository
) -> None:
    repo.put(_station("CS-1", password_hash="sha256$00$h"))
    response = await client.patch("/api/v1/stations/CS-1", json={"password": None})
    assert response.status_code == 200
    assert response.json()["has_password"] is False
    assert repo.stations["CS-1"].password_hash is None


async def test_empty_patch_changes_nothing(
    client: httpx.AsyncClient, repo: FakeStationRepository
) -> None:
    repo.put(_station("CS-1", password_hash="sha256$00$h", lenient=True))
    response = await client.patch("/api/v1/stations/CS-1", json={})
    assert response.status_code == 200
    assert repo.stations["CS-1"] == _station("CS-1", password_hash="sha256$00$h", lenient=True)


async def test_weak_password_update_changes_nothing(
    client: httpx.AsyncClient, repo: FakeStationRepository, problem: ProblemCheck
) -> None:
    repo.put(_station("CS-1", registration_status=RegistrationStatus.PENDING))
    response = await client.patch(
        "/api/v1/stations/CS-1",
        json={"registration_status": "Accepted", "password": "short", "lenient": True},
    )
    problem(response, 422, "weak-password")
    assert repo.stations["CS-1"] == _station("CS-1", registration_status=RegistrationStatus.PENDING)


async def test_update_unknown_station_is_404(
    client: httpx.AsyncClient, problem: ProblemCheck
) -> None:
    response = await client.patch("/api/v1/stations/nope", json={"lenient": True})
    problem(response, 404, "unknown-station")


@pytest.mark.parametrize(
    "payload",
    [
        {"registration_status": None},
        {"lenient": None},
        {"registration_status": "accepted"},
        {"id": "renamed"},
        [],
    ],
)
async def test_update_refuses_malformed_bodies(
    client: httpx.AsyncClient,
    repo: FakeStationRepository,
    problem: ProblemCheck,
    payload: object,
) -> None:
    repo.put(_station("CS-1"))
    response = await client.patch("/api/v1/stations/CS-1", json=payload)
    problem(response, 422, "validation-error")
    assert repo.stations["CS-1"] == _station("CS-1")
