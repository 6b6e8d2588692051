"""Roles on every route, generated from the OpenAPI document of a csms with every optional router
attached (issue 9 "Done when": a viewer cannot start a transaction; no route without auth except
health/readiness).

For each operation: its ``x-required-role`` is published; without credentials it answers 401
(except health, the login route and the stations' URL-token file routes); a viewer token gets 403
exactly on operator and admin operations, an operator token exactly on admin ones, the bootstrap
admin never. Routes other helpers add are covered as soon as the container attaches them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.harness import RunningCsms, running_csms, settings_for

PASSWORD = "correct horse battery"
RANK = {"public": -1, "viewer": 0, "operator": 1, "admin": 2}
HEALTH = ("/healthz", "/readyz")


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningCsms]:
    settings = settings_for(tmp_path)
    settings = dataclasses.replace(
        settings,
        api=dataclasses.replace(settings.api, password_hash_memory=1024, password_hash_time=1),
    )
    async with running_csms(settings) as running:
        yield running


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "CP-1", path)


async def _status(
    client: httpx.AsyncClient, method: str, path: str, headers: dict[str, str]
) -> int:
    """The status only: the body is never read (an event stream would not end)."""
    body: Any = {} if method not in ("GET", "HEAD") else None

    async def send() -> int:
        async with client.stream(method, _concrete(path), json=body, headers=headers) as response:
            return response.status_code

    return await asyncio.wait_for(send(), timeout=20)


async def _token_of(server: RunningCsms, name: str, role: str) -> dict[str, str]:
    async with server.api() as admin:
        made = await admin.post(
            "/api/v1/users", json={"name": name, "role": role, "password": PASSWORD}
        )
        assert made.status_code == 201, made.text
        token = await admin.post("/api/v1/api-tokens", json={"name": "t", "account": name})
        assert token.status_code == 201, token.text
        return {"Authorization": f"Bearer {token.json()['token']}"}


async def test_every_operation_enforces_its_published_role(server: RunningCsms) -> None:
    await server.add_station("CP-1")
    viewer = await _token_of(server, "vera", "viewer")
    operator = await _token_of(server, "otto", "operator")
    bootstrap = {"Authorization": f"Bearer {server.csms.settings.api.token}"}
    async with server.api(authenticated=False) as client:
        spec = (await client.get("/openapi.json")).json()
        operations = [
            (method.upper(), path, operation.get("x-required-role"))
            for path, item in spec["paths"].items()
            for method, operation in item.items()
        ]
        assert len(operations) >= 40
        assert {role for _, _, role in operations} <= set(RANK), "a role is missing or unknown"
        admin_ops = [(m, p) for m, p, role in operations if role == "admin"]
        assert ("GET", "/api/v1/audit") in admin_ops and ("POST", "/api/v1/users") in admin_ops
        checked = 0
        for caller, headers, rank in (
            ("nobody", {}, None),
            ("viewer", viewer, RANK["viewer"]),
            ("operator", operator, RANK["operator"]),
            ("admin", bootstrap, RANK["admin"]),
        ):
            for method, path, role in operations:
                status = await _status(client, method, path, headers)
                where = (caller, method, path, role, status)
                if rank is None:
                    if path in HEALTH:
                        assert status in (200, 503), where
                    elif path.startswith("/files/"):
                        assert status == 404, where  # the URL token is the credential
                    elif role == "public":
                        assert status not in (401, 403) and status < 500, where
                    else:
                        assert status == 401, where
                elif RANK[role] > rank:
                    assert status == 403, where
                else:
                    assert status not in (401, 403), where
                checked += 1
    assert checked == 4 * len(operations)


async def test_a_viewer_cannot_start_a_transaction(server: RunningCsms) -> None:
    await server.add_station("CP-1")
    viewer = await _token_of(server, "vera", "viewer")
    async with server.api(authenticated=False) as client:
        spec = (await client.get("/openapi.json")).json()
        starts = [p for p in spec["paths"] if re.search(r"remote-?start|start", p, re.I)]
        assert starts
        for path in starts:
            for method in spec["paths"][path]:
                if method.upper() in ("POST", "PUT", "PATCH", "DELETE"):
                    assert await _status(client, method.upper(), path, viewer) == 403, path
