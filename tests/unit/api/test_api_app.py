"""The app as a whole: factory arguments, bearer auth, health, OpenAPI, generic problems."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import httpx
import pytest

import csms
from csms.api import create_app
from csms.domain.model import Station

if TYPE_CHECKING:
    from tests.unit.api.conftest import (
        AppFactory,
        ClientFactory,
        FakeGateway,
        FakeStationRepository,
        ProblemCheck,
    )

TOKEN = "test-token-0123456789abcdef"

# One request per /api/v1 route; with a token configured each must answer 401 without it.
API_REQUESTS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/api/v1/stations", None),
    ("POST", "/api/v1/stations", {"id": "CS-2"}),
    ("GET", "/api/v1/stations/CS-1", None),
    ("PATCH", "/api/v1/stations/CS-1", {"lenient": True}),
    ("GET", "/api/v1/stations/CS-1/status-history", None),
    ("POST", "/api/v1/stations/CS-1/call/Reset", {"type": "Soft"}),
]


@pytest.fixture
def station(repo: FakeStationRepository, gateway: FakeGateway) -> None:
    repo.put(Station(id="CS-1"))
    gateway.sessions["CS-1"] = "1.6"


@pytest.fixture
def secured(make_app: AppFactory, make_client: ClientFactory) -> httpx.AsyncClient:
    """A client that sends no token by itself."""
    return make_client(make_app(api_token=TOKEN), token=None)


# --- factory --------------------------------------------------------------------------------


def test_empty_token_is_a_configuration_error(
    repo: FakeStationRepository, gateway: FakeGateway
) -> None:
    with pytest.raises(ValueError, match="api_token"):
        create_app(stations=repo, gateway=gateway, api_token="")


@pytest.mark.parametrize("call_timeout", [0, -1])
def test_call_timeout_must_be_positive(
    repo: FakeStationRepository, gateway: FakeGateway, call_timeout: float
) -> None:
    with pytest.raises(ValueError, match="call_timeout"):
        create_app(stations=repo, gateway=gateway, api_token=TOKEN, call_timeout=call_timeout)


async def test_apps_share_no_state(
    repo: FakeStationRepository, gateway: FakeGateway, make_client: ClientFactory
) -> None:
    other_repo = type(repo)()
    repo.put(Station(id="only-in-first"))
    client_1 = make_client(create_app(stations=repo, gateway=gateway, api_token=TOKEN))
    client_2 = make_client(
        create_app(stations=other_repo, gateway=gateway, api_token="other-token")
    )
    listed = (await client_1.get("/api/v1/stations")).json()["items"]
    assert [s["id"] for s in listed] == ["only-in-first"]
    # The second app has its own token and its own repository.
    assert (await client_2.get("/api/v1/stations")).status_code == 401
    other = {"Authorization": "Bearer other-token"}
    assert (await client_2.get("/api/v1/stations", headers=other)).json()["items"] == []
    assert (await client_1.get("/api/v1/stations", headers=other)).status_code == 401


# --- bearer auth ----------------------------------------------------------------------------


def test_without_a_credential_the_app_is_not_built(
    repo: FakeStationRepository, gateway: FakeGateway
) -> None:
    with pytest.raises(ValueError, match="fails closed"):
        create_app(stations=repo, gateway=gateway)


async def test_auth_none_is_explicit_and_open(
    make_app: AppFactory, make_client: ClientFactory
) -> None:
    client = make_client(make_app(auth="none"), token=None)
    assert (await client.get("/api/v1/stations")).status_code == 200


@pytest.mark.usefixtures("station")
@pytest.mark.parametrize("route", API_REQUESTS, ids=lambda route: f"{route[0]} {route[1]}")
@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Basic {TOKEN}", "Bearer", f"Bearer {TOKEN}x", f"{TOKEN}"],
    ids=["missing", "wrong", "basic-scheme", "no-credentials", "longer", "no-scheme"],
)
async def test_every_api_route_requires_the_token(
    *,
    secured: httpx.AsyncClient,
    gateway: FakeGateway,
    repo: FakeStationRepository,
    problem: ProblemCheck,
    route: tuple[str, str, dict[str, Any] | None],
    authorization: str | None,
) -> None:
    method, url, body = route
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await secured.request(method, url, json=body, headers=headers)
    problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert gateway.calls == []
    assert set(repo.stations) == {"CS-1"}


@pytest.mark.usefixtures("station")
@pytest.mark.parametrize("route", API_REQUESTS, ids=lambda route: f"{route[0]} {route[1]}")
@pytest.mark.parametrize("scheme", ["Bearer", "bearer"])
async def test_every_api_route_accepts_the_token(
    secured: httpx.AsyncClient, route: tuple[str, str, dict[str, Any] | None], scheme: str
) -> None:
    method, url, body = route
    response = await secured.request(
        method, url, json=body, headers={"Authorization": f"{scheme} {TOKEN}"}
    )
    assert response.status_code in (200, 201), response.text


async def test_auth_is_checked_before_the_body_is_parsed(
    secured: httpx.AsyncClient, problem: ProblemCheck
) -> None:
    response = await secured.post(
        "/api/v1/stations", content=b"{not json", headers={"content-type": "application/json"}
    )
    problem(response, 401, "unauthorized")


async def test_unknown_paths_need_the_token_too(
    secured: httpx.AsyncClient, problem: ProblemCheck
) -> None:
    problem(await secured.get("/api/v1/nothing-here"), 401, "unauthorized")
    response = await secured.get(
        "/api/v1/nothing-here", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    problem(response, 404)


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/openapi.json", "/docs"])
async def test_health_and_docs_stay_public(secured: httpx.AsyncClient, path: str) -> None:
    assert (await secured.get(path)).status_code == 200


async def test_tokens_are_never_logged(
    secured: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await secured.get("/api/v1/stations", headers={"Authorization": "Bearer guess-1234567"})
    await secured.get("/api/v1/stations", headers={"Authorization": f"Bearer {TOKEN}"})
    assert "refused unauthenticated" in caplog.text
    assert "guess-1234567" not in caplog.text
    assert TOKEN not in caplog.text


# --- health ---------------------------------------------------------------------------------


async def test_healthz_reports_the_package_version(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": csms.__version__}


async def test_healthz_reports_the_given_version(
    make_app: AppFactory, make_client: ClientFactory
) -> None:
    client = make_client(make_app(version="9.9.9"))
    assert (await client.get("/healthz")).json() == {"status": "ok", "version": "9.9.9"}


# --- generic problems -----------------------------------------------------------------------


async def test_unknown_route_is_a_404_problem(
    client: httpx.AsyncClient, problem: ProblemCheck
) -> None:
    body = problem(await client.get("/nowhere"), 404)
    assert body == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "instance": "/nowhere",
    }


async def test_wrong_method_is_a_405_problem_with_allow(
    client: httpx.AsyncClient, problem: ProblemCheck
) -> None:
    response = await client.delete("/api/v1/stations")
    problem(response, 405)
    assert "GET" in response.headers["allow"]


# --- OpenAPI --------------------------------------------------------------------------------


async def _openapi(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    spec: dict[str, Any] = response.json()
    return spec


async def test_openapi_lists_the_routes(client: httpx.AsyncClient) -> None:
    spec = await _openapi(client)
    assert spec["info"]["title"] == "csms HTTP API"
    assert spec["info"]["version"] == csms.__version__
    assert "problem" in spec["info"]["description"]
    operations = {
        (method.upper(), path): op["operationId"]
        for path, item in spec["paths"].items()
        for method, op in item.items()
    }
    assert operations == {
        ("GET", "/api/v1/stations"): "listStations",
        ("POST", "/api/v1/stations"): "registerStation",
        ("GET", "/api/v1/stations/{station_id}"): "getStation",
        ("PATCH", "/api/v1/stations/{station_id}"): "updateStation",
        ("DELETE", "/api/v1/stations/{station_id}"): "decommissionStation",
        ("GET", "/api/v1/stations/{station_id}/status-history"): "getStatusHistory",
        ("POST", "/api/v1/stations/{station_id}/call/{action}"): "callStation",
        ("GET", "/healthz"): "healthz",
        ("GET", "/readyz"): "readyz",
    }
    assert {tag["name"] for tag in spec["tags"]} == {"stations", "commands", "health"}


async def test_openapi_documents_dtos_and_problem_responses(client: httpx.AsyncClient) -> None:
    spec = await _openapi(client)
    schemas = spec["components"]["schemas"]
    assert {"StationSummary", "StationDetail", "StationCreate", "StationUpdate", "Problem"} <= set(
        schemas
    )
    for name in ("StationSummary", "StationDetail"):
        assert "password_hash" not in schemas[name]["properties"]
    get_station = spec["paths"]["/api/v1/stations/{station_id}"]["get"]
    ok = get_station["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/StationDetail"}
    call = spec["paths"]["/api/v1/stations/{station_id}/call/{action}"]["post"]
    for status in ("404", "409", "422", "429", "502", "503", "504"):
        assert set(call["responses"][status]["content"]) == {"application/problem+json"}
    assert call["security"] == [{"bearerAuth": []}]


async def test_openapi_declares_bearer_auth(
    secured: httpx.AsyncClient,
) -> None:
    spec = await _openapi(secured)
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    for path, item in spec["paths"].items():
        for op in item.values():
            if path.startswith("/api/v1/"):
                assert op["security"] == [{"bearerAuth": []}]
                assert "401" in op["responses"]
            else:
                assert "security" not in op
