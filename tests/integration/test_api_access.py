"""The HTTP API fails closed, over a real uvicorn on loopback (issue 7 finding 1; finding 10's
"station pointing at the API port").

Every ``/api/v1`` operation the OpenAPI document lists refuses a request without the token; the
Host check (DNS rebinding) and the JSON-only rule (CSRF) are about the wire, so they are tested
with real requests; the generated token is shown once, survives restarts and is rotated by
``csms api-token rotate`` while csms runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from csms.cli import main as csms_main
from csms.storage.api_token_file import RECHECK_INTERVAL
from tests.integration.harness import (
    PASSWORD,
    RunningCsms,
    basic_auth,
    free_port,
    running_csms,
    settings_for,
)

WRONG = {"Authorization": "Bearer not-the-token-0123456789"}


def _generated(settings_dir: Path) -> Any:
    """Test settings as a newcomer has them: no CSMS_API_TOKEN."""
    settings = settings_for(settings_dir)
    return dataclasses.replace(settings, api=dataclasses.replace(settings.api, token=None))


@pytest.fixture
async def fresh(tmp_path: Path) -> AsyncIterator[RunningCsms]:
    """A csms with the default API settings (no operator token configured)."""
    async with running_csms(_generated(tmp_path)) as running:
        yield running


def _operations(spec: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        # Login is the one public operation of /api/v1 (it takes a name and password instead).
        if path.startswith("/api/v1") and operation.get("x-required-role") != "public"
    ]


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "CP-1", path)


async def test_every_api_operation_refuses_a_request_without_the_token(
    fresh: RunningCsms,
) -> None:
    await fresh.add_station("CP-1")
    async with fresh.api(authenticated=False) as api:
        spec = (await api.get("/openapi.json")).json()
        operations = _operations(spec)
        assert len(operations) >= 20  # stations, commands, firmware, file requests, security
        for method, path in operations:
            for headers in ({}, WRONG):
                response = await api.request(
                    method, _concrete(path), json={} if method != "GET" else None, headers=headers
                )
                assert response.status_code == 401, (method, path, response.text)
                assert response.headers["content-type"] == "application/problem+json"
                assert response.headers["www-authenticate"].startswith("Bearer")
        # Health and the API description stay public.
        for public in ("/healthz", "/openapi.json", "/docs", "/redoc"):
            assert (await api.get(public)).status_code == 200, public


async def test_openapi_declares_the_scheme_on_every_operation_that_needs_it(
    server: RunningCsms,
) -> None:
    async with server.api(authenticated=False) as api:
        spec = (await api.get("/openapi.json")).json()
    scheme = spec["components"]["securitySchemes"]["bearerAuth"]
    assert scheme == {**scheme, "type": "http", "scheme": "bearer"}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if operation.get("x-required-role") == "public":  # login, health, /files
                assert operation.get("security", []) == [], (method, path)
            elif path.startswith("/api/v1"):
                assert operation["security"] == [{"bearerAuth": []}, {"sessionCookie": []}], (
                    method,
                    path,
                )
            elif path == "/metrics":  # scraped with a token (Prometheus credentials_file)
                assert operation["security"] == [{"bearerAuth": []}], (method, path)
                assert "401" in operation["responses"]
                if method.upper() in ("POST", "PUT", "PATCH", "DELETE"):
                    assert "415" in operation["responses"]
            else:  # /healthz, and /files (its own URL token)
                assert "security" not in operation, (method, path)


async def test_patching_a_station_password_without_the_token_is_refused(
    fresh: RunningCsms,
) -> None:
    server = fresh
    await server.add_station("CP-1")
    attacker = b"attacker-password-0123456789"
    async with server.api(authenticated=False) as api:
        response = await api.patch("/api/v1/stations/CP-1", json={"password": attacker.decode()})
        assert response.status_code == 401
        response = await api.post("/api/v1/stations/CP-1/call/RemoteStartTransaction", json={})
        assert response.status_code == 401
    # The attacker's password does not open the station's identity; the real one still does.
    with pytest.raises(InvalidStatus) as refused:
        async with server.connect("CP-1", password=attacker):
            pass
    assert refused.value.response.status_code == 401
    async with server.connect("CP-1", password=PASSWORD):
        pass


@pytest.mark.parametrize(
    "host", ["rebind.attacker.example", "rebind.attacker.example:8080", "127.0.0.1.nip.io", ""]
)
async def test_a_foreign_host_header_is_refused_before_anything_else(
    server: RunningCsms, host: str
) -> None:
    await server.add_station("CP-1")
    async with server.api() as api:  # even with the right token
        for method, path, body in (
            ("GET", "/api/v1/stations", None),
            ("PATCH", "/api/v1/stations/CP-1", {"registration_status": "Rejected"}),
            ("GET", "/docs", None),
        ):
            response = await api.request(method, path, json=body, headers={"Host": host})
            assert response.status_code == 400, (path, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["type"] == "urn:csms:problem:untrusted-host"
        station = (await api.get("/api/v1/stations/CP-1")).json()
    assert station["registration_status"] == "Accepted"


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]", "LOCALHOST."])
async def test_loopback_host_names_are_trusted_by_default(server: RunningCsms, host: str) -> None:
    async with server.api() as api:
        port = server.csms.api_port
        response = await api.get("/api/v1/stations", headers={"Host": f"{host}:{port}"})
    assert response.status_code == 200, response.text


async def test_configured_trusted_hosts_replace_the_default(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    api = dataclasses.replace(settings.api, trusted_hosts="csms.example.com, *.lab.example")
    async with (
        running_csms(dataclasses.replace(settings, api=api)) as running,
        running.api() as client,
    ):
        for host, status in (
            ("csms.example.com", 200),
            ("a.lab.example:8080", 200),
            ("lab.example", 400),
            ("127.0.0.1", 400),
        ):
            response = await client.get("/api/v1/stations", headers={"Host": host})
            assert response.status_code == status, host


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None],
)
async def test_a_state_changing_request_must_be_json(
    server: RunningCsms, content_type: str | None
) -> None:
    body = b'{"id": "CSRF-1", "registration_status": "Accepted"}'
    headers = {} if content_type is None else {"Content-Type": content_type}
    async with server.api() as api:
        response = await api.post("/api/v1/stations", content=body, headers=headers)
        assert response.status_code == 415, response.text
        assert response.json()["type"] == "urn:csms:problem:unsupported-media-type"
        assert (await api.get("/api/v1/stations/CSRF-1")).status_code == 404
        json_ok = await api.post(
            "/api/v1/stations", content=body, headers={"Content-Type": "application/json"}
        )
        assert json_ok.status_code == 201, json_ok.text


async def test_firmware_upload_takes_binary_bodies_but_not_forms_of_text(
    server: RunningCsms,
) -> None:
    async with server.api() as api:
        url = "/api/v1/firmware?filename=fw.bin"
        raw = await api.post(
            url, content=b"\x00fw", headers={"Content-Type": "application/octet-stream"}
        )
        assert raw.status_code == 201, raw.text
        form = await api.post(url, files={"file": ("fw.bin", b"\x00fw")})
        assert form.status_code == 201, form.text
        text = await api.post(url, content=b"fw", headers={"Content-Type": "text/plain"})
        assert text.status_code == 415
    async with server.api(authenticated=False) as api:
        raw = await api.post(
            url, content=b"\x00fw", headers={"Content-Type": "application/octet-stream"}
        )
        assert raw.status_code == 401


async def test_a_websocket_handshake_to_the_api_port_names_the_ocpp_endpoint(
    server: RunningCsms,
) -> None:
    await server.add_station("CP-1")
    url = f"ws://127.0.0.1:{server.csms.api_port}/ocpp/CP-1"
    with pytest.raises(InvalidStatus) as refused:
        async with connect(
            url,
            subprotocols=["ocpp1.6"],
            additional_headers=basic_auth("CP-1", PASSWORD),  # type: ignore[list-item]
        ):
            pass
    response = refused.value.response
    assert response.status_code == 404
    body = response.body.decode()
    assert f"ws://127.0.0.1:{server.csms.ocpp_port}/ocpp/{{station_id}}" in body
    assert "OCPP endpoint" in body


# ---------------------------------------------------------------------- the generated token


async def _status(running: RunningCsms, token: str) -> int:
    async with running.api(authenticated=False) as api:
        headers = {"Authorization": f"Bearer {token}"}
        return (await api.get("/api/v1/stations", headers=headers)).status_code


async def test_rotation_invalidates_the_old_token_of_a_running_csms(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = _generated(tmp_path)
    async with running_csms(settings) as running:
        first = running.csms.new_api_token
        assert first is not None and len(first) >= 40
        assert await _status(running, first) == 200
        capsys.readouterr()
        code = await asyncio.to_thread(
            csms_main, ["api-token", "rotate", "--data-dir", settings.files.data_dir]
        )
        assert code == 0
        second = capsys.readouterr().out.strip()
        assert second and second != first
        assert await _status(running, second) == 200  # at once
        deadline = asyncio.get_running_loop().time() + RECHECK_INTERVAL + 1.0
        while await _status(running, first) != 401:
            assert asyncio.get_running_loop().time() < deadline, "old token still accepted"
            await asyncio.sleep(0.1)
        assert await _status(running, second) == 200
    token_file = Path(settings.files.data_dir) / "api-token"
    assert token_file.stat().st_mode & 0o777 == 0o600
    stored = token_file.read_text()
    assert first not in stored and second not in stored
    assert first not in caplog.text and second not in caplog.text
    # A restart keeps the rotated token and shows nothing new.
    async with running_csms(settings) as running:
        assert running.csms.new_api_token is None
        assert await _status(running, second) == 200
        assert await _status(running, first) == 401


async def test_auth_none_warns_and_opens_the_api_on_loopback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = _generated(tmp_path)
    settings = dataclasses.replace(settings, api=dataclasses.replace(settings.api, auth="none"))
    caplog.set_level(logging.WARNING)
    async with running_csms(settings) as running, running.api() as api:
        assert (await api.get("/api/v1/stations")).status_code == 200
        # Still no CSRF: a bodyless cross-site POST must declare JSON too.
        response = await api.post("/api/v1/stations/CP-1/authorization-key")
        assert response.status_code == 415
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("authentication is OFF" in w and "passwords" in w for w in warnings)
    assert not (Path(settings.files.data_dir) / "api-token").exists()


# ---------------------------------------------------------------------- csms serve, first start


def _read(path: Path) -> str:
    return path.read_text(errors="replace")


@contextlib.asynccontextmanager
async def _serve(tmp_path: Path, log: Path) -> AsyncIterator[int]:
    """`csms serve` with the defaults a newcomer gets (no CSMS_API_TOKEN); yields the API port."""
    api_port = free_port()
    argv = [
        "serve", "--port", str(free_port()), "--api-port", str(api_port), "--data-dir",
        str(tmp_path / "var"), "--database-url", f"sqlite+aiosqlite:///{tmp_path / 'csms.db'}",
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSMS_")}
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "csms", *argv, stdout=out, stderr=out, env=env
        )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api_port}") as client:
            for _ in range(200):
                assert proc.returncode is None, _read(log)
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get("/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.05)
        yield api_port
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), timeout=30)


async def test_first_start_shows_the_token_once_and_later_starts_do_not(tmp_path: Path) -> None:
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    async with _serve(tmp_path, first_log) as port:
        for _ in range(100):  # the banner follows the API's start
            shown = re.search(r"export TOKEN=(\S+)", _read(first_log))
            if shown is not None:
                break
            await asyncio.sleep(0.05)
        assert shown is not None, _read(first_log)
        token = shown.group(1)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            ok = await client.get("/api/v1/stations", headers={"Authorization": f"Bearer {token}"})
            assert ok.status_code == 200
            assert (await client.get("/api/v1/stations")).status_code == 401
    async with (
        _serve(tmp_path, second_log) as port,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client,
    ):
        ok = await client.get("/api/v1/stations", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200
    second = _read(second_log)
    assert token not in second
    assert "api-token rotate" in second
    # Shown on the terminal, never in a log line.
    log_lines = [line for line in _read(first_log).splitlines() if " csms." in line]
    assert log_lines and not [line for line in log_lines if token in line]
