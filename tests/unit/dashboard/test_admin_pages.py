"""The fleet-level and admin pages: public shells like the others, each with its own module,
and the links to the admin-only pages hidden until the script knows the account is an admin."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI

from csms.dashboard import install_dashboard
from tests.unit.api.conftest import AppFactory, ClientFactory

PAGES = {
    "/firmware": "firmware",
    "/security-events": "security",
    "/audit": "audit",
    "/users": "users",
}


@pytest.fixture
def app(make_app: AppFactory) -> FastAPI:
    built = make_app()
    install_dashboard(built, version="9.9.9")
    return built


@pytest.mark.parametrize(("path", "script"), PAGES.items())
async def test_each_page_is_a_public_shell_with_its_own_module(
    app: FastAPI, make_client: ClientFactory, path: str, script: str
) -> None:
    client = make_client(app, token=None)
    response = await client.get(path)
    assert response.status_code == 200
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert f'<script type="module" src="/ui/static/{script}.js?v=9.9.9">' in response.text
    assert f'<body data-api="/api/v1" data-page="{script}">' in response.text
    module = await client.get(f"/ui/static/{script}.js")
    assert module.status_code == 200
    assert module.headers["content-type"].startswith("text/javascript")
    assert (await client.get("/ui/static/kit.js")).status_code == 200


async def test_admin_links_are_hidden_until_the_account_is_known_to_be_an_admin(
    app: FastAPI, make_client: ClientFactory
) -> None:
    html = (await make_client(app, token=None).get("/tokens")).text
    for path in ("/audit", "/users"):
        assert re.search(rf'<a href="{path}" data-admin hidden\b', html), path
    for path in ("/firmware", "/security-events"):
        assert re.search(rf'<a href="{path}" (?!data-admin)', html), path
