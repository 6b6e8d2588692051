"""The dashboard on the API app: pages are public shells with strict headers, assets come from a
fixed table in the package, and data still needs a credential (the pages hold none)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from fastapi import FastAPI

from csms.dashboard import install_dashboard
from csms.domain.model import ConnectorState, RegistrationStatus, Station
from tests.unit.api.conftest import T0, AppFactory, ClientFactory, FakeStationRepository

PAGES = ("/", "/login", "/stations/CS-1", "/transactions", "/transactions/v16-1", "/tokens")
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def app(make_app: AppFactory) -> FastAPI:
    built = make_app()
    install_dashboard(built, version="9.9.9")
    return built


@pytest.mark.parametrize("path", PAGES)
async def test_pages_are_served_without_a_credential_with_strict_headers(
    app: FastAPI, make_client: ClientFactory, path: str
) -> None:
    response = await make_client(app, token=None).get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["cache-control"] == "no-store"
    assert '<html lang="en">' in response.text
    assert "/ui/static/vendor/uplot/uPlot.iife.min.js?v=9.9.9" in response.text


async def test_a_page_escapes_what_the_url_names(app: FastAPI, make_client: ClientFactory) -> None:
    response = await make_client(app, token=None).get("/stations/%3Cscript%3Ex")
    assert "<script>x" not in response.text
    assert "&lt;script&gt;x" in response.text


async def test_assets_come_from_the_package_and_nothing_else(
    app: FastAPI, make_client: ClientFactory
) -> None:
    client = make_client(app, token=None)
    script = await client.get("/ui/static/app.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    vendored = await client.get("/ui/static/vendor/uplot/uPlot.iife.min.js")
    assert vendored.status_code == 200
    for path in (
        "/ui/static/%2e%2e/pages.py",
        "/ui/static/pages.py",
        "/ui/static/vendor/uplot/LICENSE",
    ):
        assert (await client.get(path)).status_code == 404, path


async def test_the_api_behind_the_pages_still_needs_a_credential(
    app: FastAPI, make_client: ClientFactory
) -> None:
    assert (await make_client(app, token=None).get("/api/v1/stations")).status_code == 401


async def test_the_dashboard_routes_stay_out_of_the_api_description(
    app: FastAPI, make_client: ClientFactory
) -> None:
    paths = (await make_client(app).get("/openapi.json")).json()["paths"]
    assert not [p for p in paths if not p.startswith(("/api/v1", "/files", "/healthz", "/readyz"))]


async def test_the_station_listing_adds_connectors_when_asked(
    app: FastAPI, make_client: ClientFactory, repo: FakeStationRepository
) -> None:
    repo.put(Station("CS-1", RegistrationStatus.ACCEPTED))
    repo.connectors["CS-1"] = [ConnectorState(1, 1, "Charging", T0)]
    client = make_client(app)
    plain = (await client.get("/api/v1/stations")).json()["items"][0]
    assert plain["connectors"] is None
    rich = (await client.get("/api/v1/stations?with_connectors=true")).json()["items"][0]
    assert [(c["evse_id"], c["status"]) for c in rich["connectors"]] == [(1, "Charging")]


def test_vendored_files_match_the_pinned_digests() -> None:
    """scripts/vendor_assets.py pins them; a hand-edited vendored file fails here."""
    script = (ROOT / "scripts/vendor_assets.py").read_text()
    vendor = ROOT / "src/csms/dashboard/static/vendor/uplot"
    for name in ("uPlot.iife.min.js", "uPlot.min.css", "LICENSE"):
        digest = hashlib.sha256((vendor / name).read_bytes()).hexdigest()
        assert digest in script, name
