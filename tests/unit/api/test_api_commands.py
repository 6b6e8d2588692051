"""POST /api/v1/stations/{id}/call/{action}: pass-through and the domain error mapping."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from csms.domain.errors import (
    CallFailed,
    CallOutcomeUnknown,
    CallTimeout,
    CommandNotAllowed,
    DomainError,
    InvalidPayload,
    StationBusy,
    StationNotConnected,
    StorageError,
    UnknownStation,
)
from csms.domain.model import Station

if TYPE_CHECKING:
    from tests.unit.api.conftest import (
        AppFactory,
        ClientFactory,
        FakeGateway,
        FakeStationRepository,
        ProblemCheck,
    )

URL = "/api/v1/stations/CS-1/call/Reset"


@pytest.fixture
def connected(repo: FakeStationRepository, gateway: FakeGateway) -> None:
    repo.put(Station(id="CS-1"))
    gateway.sessions["CS-1"] = "2.0.1"


@pytest.mark.usefixtures("connected")
async def test_call_returns_the_station_answer(
    client: httpx.AsyncClient, gateway: FakeGateway
) -> None:
    gateway.result = {"status": "Scheduled", "statusInfo": {"reasonCode": "TxInProgress"}}
    response = await client.post(URL, json={"type": "Immediate"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"status": "Scheduled", "statusInfo": {"reasonCode": "TxInProgress"}}
    [sent] = gateway.calls
    assert (sent.station_id, sent.action, sent.payload) == ("CS-1", "Reset", {"type": "Immediate"})
    assert sent.timeout == 30.0


@pytest.mark.usefixtures("connected")
async def test_empty_object_payload_is_passed_through(
    client: httpx.AsyncClient, gateway: FakeGateway
) -> None:
    response = await client.post("/api/v1/stations/CS-1/call/ClearCache", json={})
    assert response.status_code == 200
    assert gateway.calls[0].payload == {}


@pytest.mark.usefixtures("connected")
async def test_default_timeout_comes_from_the_factory(
    make_app: AppFactory, make_client: ClientFactory, gateway: FakeGateway
) -> None:
    client = make_client(make_app(call_timeout=7.5))
    assert (await client.post(URL, json={"type": "Soft"})).status_code == 200
    assert gateway.calls[0].timeout == 7.5


@pytest.mark.usefixtures("connected")
@pytest.mark.parametrize("seconds", [1, 12.5, 300])
async def test_timeout_query_is_passed_to_the_gateway(
    client: httpx.AsyncClient, gateway: FakeGateway, seconds: float
) -> None:
    response = await client.post(URL, params={"timeout": seconds}, json={"type": "Soft"})
    assert response.status_code == 200
    assert gateway.calls[0].timeout == seconds


@pytest.mark.usefixtures("connected")
@pytest.mark.parametrize("seconds", ["0", "0.5", "300.1", "-1", "soon"])
async def test_timeout_query_is_bounded(
    client: httpx.AsyncClient, gateway: FakeGateway, problem: ProblemCheck, seconds: str
) -> None:
    response = await client.post(URL, params={"timeout": seconds}, json={"type": "Soft"})
    body = problem(response, 422, "validation-error")
    assert body["errors"][0]["loc"] == ["query", "timeout"]
    assert gateway.calls == []


@pytest.mark.usefixtures("connected")
@pytest.mark.parametrize(
    "content",
    [b"[]", b'["Soft"]', b'"Soft"', b"42", b"null", b"true", b"{not json", b""],
    ids=["empty-array", "array", "string", "number", "null", "bool", "malformed", "no-body"],
)
async def test_payload_must_be_a_json_object(
    client: httpx.AsyncClient, gateway: FakeGateway, problem: ProblemCheck, content: bytes
) -> None:
    response = await client.post(URL, content=content, headers={"content-type": "application/json"})
    body = problem(response, 422, "validation-error")
    assert body["errors"][0]["loc"][0] == "body"
    assert gateway.calls == []


@pytest.mark.usefixtures("connected")
@pytest.mark.parametrize("action", ["Re-set", "1Reset", "x" * 65, "Reset%20Now"])
async def test_malformed_action_names_are_refused(
    client: httpx.AsyncClient, gateway: FakeGateway, problem: ProblemCheck, action: str
) -> None:
    response = await client.post(f"/api/v1/stations/CS-1/call/{action}", json={})
    problem(response, 422, "validation-error")
    assert gateway.calls == []


async def test_unknown_station_is_404_even_if_something_is_connected_under_that_name(
    client: httpx.AsyncClient, gateway: FakeGateway, problem: ProblemCheck
) -> None:
    gateway.sessions["ghost"] = "1.6"
    response = await client.post("/api/v1/stations/ghost/call/Reset", json={"type": "Soft"})
    problem(response, 404, "unknown-station")
    assert gateway.calls == []


async def test_registered_but_offline_station_is_409(
    client: httpx.AsyncClient, repo: FakeStationRepository, problem: ProblemCheck
) -> None:
    repo.put(Station(id="CS-1"))
    body = problem(await client.post(URL, json={"type": "Soft"}), 409, "station-not-connected")
    assert body["instance"] == URL


@pytest.mark.usefixtures("connected")
@pytest.mark.parametrize(
    "case",
    [
        (UnknownStation("gone"), 404, "unknown-station"),
        (StationNotConnected("offline"), 409, "station-not-connected"),
        (StationBusy("queue full"), 429, "station-busy"),
        (CommandNotAllowed("station is Pending"), 409, "command-not-allowed"),
        (CallTimeout("no answer in 30 s"), 504, "call-timeout"),
        (StorageError("database is down"), 503, "storage-unavailable"),
        (DomainError("something new"), 500, "domain-error"),
    ],
    ids=lambda case: type(case[0]).__name__,
)
async def test_domain_errors_map_to_problems(
    client: httpx.AsyncClient,
    gateway: FakeGateway,
    problem: ProblemCheck,
    case: tuple[DomainError, int, str],
) -> None:
    error, status, slug = case
    gateway.error = error
    body = problem(await client.post(URL, json={"type": "Soft"}), status, slug)
    assert body["detail"] == str(error)
    assert body["instance"] == URL


@pytest.mark.usefixtures("connected")
async def test_invalid_payload_is_422_with_code_and_path(
    client: httpx.AsyncClient, gateway: FakeGateway, problem: ProblemCheck
) -> None:
    gateway.error = InvalidPayload(
        "'Sideways' is not one of ['Immediate', 'OnIdle']", code="enum", path="/type"
    )
    body = problem(await client.post(URL, json={"type": "Sideways"}), 422, "invalid-payload")
    assert body["detail"] == "'Sideways' is not one of ['Immediate', 'OnIdle']"
    assert body["code"] == "enum"
    assert body["path"] == "/type"


@pytest.mark.usefixtures("connected")
async def test_callerror_is_502_with_the_station_error(
    client: httpx.AsyncClient, gateway: FakeGateway, problem: ProblemCheck
) -> None:
    gateway.error = CallFailed("NotImplemented", "Reset is not supported", {"hint": "upgrade"})
    body = problem(await client.post(URL, json={"type": "Soft"}), 502, "call-failed")
    assert body["error_code"] == "NotImplemented"
    assert body["error_description"] == "Reset is not supported"
    assert body["error_details"] == {"hint": "upgrade"}


@pytest.mark.usefixtures("connected")
async def test_callerror_without_details_has_empty_details(
    client: httpx.AsyncClient, gateway: FakeGateway, problem: ProblemCheck
) -> None:
    gateway.error = CallFailed("InternalError", "")
    body = problem(await client.post(URL, json={"type": "Soft"}), 502, "call-failed")
    assert body["error_code"] == "InternalError"
    assert body["error_description"] == ""
    assert body["error_details"] == {}


@pytest.mark.usefixtures("connected")
async def test_unknown_outcome_is_502_and_says_so(
    client: httpx.AsyncClient, gateway: FakeGateway, problem: ProblemCheck
) -> None:
    gateway.error = CallOutcomeUnknown("connection closed")
    body = problem(await client.post(URL, json={"type": "Soft"}), 502, "call-outcome-unknown")
    assert "outcome is unknown" in body["detail"]
    assert "error_code" not in body


@pytest.mark.usefixtures("connected")
async def test_subclasses_of_domain_errors_map_like_their_base(
    client: httpx.AsyncClient, gateway: FakeGateway, problem: ProblemCheck
) -> None:
    class QueueFull(StationBusy):
        pass

    gateway.error = QueueFull("8 commands pending")
    problem(await client.post(URL, json={"type": "Soft"}), 429, "station-busy")


@pytest.mark.usefixtures("connected")
async def test_unexpected_errors_are_500_problems(
    make_app: AppFactory, make_client: ClientFactory, gateway: FakeGateway, problem: ProblemCheck
) -> None:
    gateway.error = RuntimeError("bug with secret-ish internals")
    client = make_client(make_app(), raise_app_exceptions=False)
    response = await client.post(URL, json={"type": "Soft"})
    body = problem(response, 500)
    assert body["type"] == "about:blank"
    assert "secret-ish" not in response.text


@pytest.mark.usefixtures("connected")
async def test_payloads_are_never_logged(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    payload: dict[str, Any] = {
        "setVariableData": [
            {
                "attributeValue": "super-secret-password-123",
                "component": {"name": "SecurityCtrlr"},
                "variable": {"name": "BasicAuthPassword"},
            }
        ]
    }
    response = await client.post("/api/v1/stations/CS-1/call/SetVariables", json=payload)
    assert response.status_code == 200
    assert "SetVariables" in caplog.text
    assert "super-secret-password-123" not in caplog.text
