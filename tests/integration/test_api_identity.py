"""Operator accounts over a real csms on loopback (issue 9, identity and access): login and its
throttle, API tokens (role ceiling, expiry, revocation), disabled accounts, browser sessions with
CSRF, the bootstrap token, and the audit log naming who did what. Storage-backed behaviour runs
on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from csms.cli import main as csms_main
from tests.integration.harness import RunningCsms, running_csms, settings_for
from tests.integration.tls import make_server_certificate

PASSWORD = "correct horse battery"


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningCsms]:
    """csms on SQLite with small login budgets (3 per account and address)."""
    async with _running(f"sqlite+aiosqlite:///{tmp_path / 'csms.db'}", tmp_path) as running:
        yield running


@pytest.fixture
async def both(database_url: str, tmp_path: Path) -> AsyncIterator[RunningCsms]:
    """The same on SQLite, then on PostgreSQL: for what depends on the stored rows."""
    async with _running(database_url, tmp_path) as running:
        yield running


@asynccontextmanager
async def _running(database_url: str, tmp_path: Path) -> AsyncIterator[RunningCsms]:
    settings = settings_for(tmp_path)
    settings = dataclasses.replace(
        settings,
        database=dataclasses.replace(settings.database, url=database_url),
        api=dataclasses.replace(
            settings.api,
            login_failures_per_account_address=3,
            login_failures_per_address=10,
            password_hash_memory=1024,  # cheap hashes: the tests check behaviour, not cost
            password_hash_time=1,
        ),
    )
    async with running_csms(settings) as running:
        yield running


def _client(server: RunningCsms, *, source: str = "127.0.0.1", **kw: Any) -> httpx.AsyncClient:
    """An unauthenticated client connecting from ``source`` (any 127/8 address works)."""
    transport = httpx.AsyncHTTPTransport(local_address=source)
    return httpx.AsyncClient(base_url=server.api_url, timeout=30, transport=transport, **kw)


async def _user(server: RunningCsms, name: str, role: str) -> None:
    async with server.api() as admin:
        response = await admin.post(
            "/api/v1/users", json={"name": name, "role": role, "password": PASSWORD}
        )
        assert response.status_code == 201, response.text


async def _token(server: RunningCsms, account: str, **body: Any) -> str:
    async with server.api() as admin:
        response = await admin.post(
            "/api/v1/api-tokens", json={"name": "test", "account": account, **body}
        )
        assert response.status_code == 201, response.text
        token: str = response.json()["token"]
        return token


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_hammered_account_still_logs_in_from_another_address(
    server: RunningCsms,
) -> None:
    await _user(server, "alice", "operator")
    wrong = {"name": "alice", "password": "not the password"}
    async with _client(server, source="127.0.0.2") as attacker:
        for _ in range(3):
            assert (await attacker.post("/api/v1/auth/login", json=wrong)).status_code == 401
        refused = await attacker.post(
            "/api/v1/auth/login", json={"name": "alice", "password": PASSWORD}
        )
        assert refused.status_code == 429  # even the right password, from there
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.json()["type"] == "urn:csms:problem:login-throttled"
    async with _client(server, source="127.0.0.1") as owner:
        response = await owner.post(
            "/api/v1/auth/login", json={"name": "alice", "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        assert response.json()["role"] == "operator"


async def test_unknown_accounts_and_wrong_passwords_get_the_same_answer(
    server: RunningCsms,
) -> None:
    await _user(server, "alice", "viewer")
    async with _client(server) as client:
        unknown = await client.post(
            "/api/v1/auth/login", json={"name": "mallory", "password": PASSWORD}
        )
        wrong = await client.post(
            "/api/v1/auth/login", json={"name": "alice", "password": "not the password"}
        )
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json()["detail"] == wrong.json()["detail"]


async def test_session_cookie_needs_the_csrf_token_to_change_state(server: RunningCsms) -> None:
    await _user(server, "alice", "operator")
    async with _client(server) as browser:
        login = await browser.post(
            "/api/v1/auth/login", json={"name": "alice", "password": PASSWORD}
        )
        assert login.status_code == 200
        cookies = {c.split("=", 1)[0]: c.lower() for c in login.headers.get_list("set-cookie")}
        assert (
            "httponly" in cookies["csms_session"] and "samesite=strict" in cookies["csms_session"]
        )
        assert "httponly" not in cookies["csms_csrf"]
        assert "secure" not in cookies["csms_session"]  # plain http on loopback
        csrf = login.json()["csrf_token"]
        assert browser.cookies["csms_csrf"] == csrf

        me = await browser.get("/api/v1/auth/me")
        assert me.json() == {
            "name": "alice",
            "role": "operator",
            "kind": "session",
            "token_id": None,
        }
        forged = await browser.post("/api/v1/stations", json={"id": "CP-CSRF"})
        assert forged.status_code == 403
        assert forged.json()["type"] == "urn:csms:problem:csrf-token-missing"
        wrong = await browser.post(
            "/api/v1/stations", json={"id": "CP-CSRF"}, headers={"X-CSRF-Token": "guess"}
        )
        assert wrong.status_code == 403
        made = await browser.post(
            "/api/v1/stations", json={"id": "CP-CSRF"}, headers={"X-CSRF-Token": csrf}
        )
        assert made.status_code == 201, made.text

        session = browser.cookies["csms_session"]
        out = await browser.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
        assert out.status_code == 204
        assert "csms_session" not in browser.cookies  # cleared
    async with _client(server, cookies={"csms_session": session}) as replay:
        response = await replay.get("/api/v1/auth/me")
        assert response.status_code == 401  # the session ended with the logout, server-side


async def test_token_roles_never_exceed_the_account_and_narrow_it(server: RunningCsms) -> None:
    await _user(server, "olga", "operator")
    narrow = await _token(server, "olga", role="viewer")
    full = await _token(server, "olga")
    async with server.api() as admin:
        too_high = await admin.post(
            "/api/v1/api-tokens", json={"name": "x", "account": "olga", "role": "admin"}
        )
        assert too_high.status_code == 422
    async with _client(server) as client:
        assert (await client.get("/api/v1/stations", headers=_bearer(narrow))).status_code == 200
        refused = await client.post(
            "/api/v1/stations", json={"id": "CP-T"}, headers=_bearer(narrow)
        )
        assert refused.status_code == 403
        assert refused.json()["type"] == "urn:csms:problem:forbidden"
        made = await client.post("/api/v1/stations", json={"id": "CP-T"}, headers=_bearer(full))
        assert made.status_code == 201
        assert (await client.get("/api/v1/users", headers=_bearer(full))).status_code == 403
        # A narrow token cannot mint a wider one for its own account.
        minted = await client.post(
            "/api/v1/api-tokens",
            json={"name": "wider", "role": "operator"},
            headers=_bearer(narrow),
        )
        assert minted.status_code == 422


async def test_tokens_expire_and_revocation_is_immediate(both: RunningCsms) -> None:
    server = both
    await _user(server, "olga", "operator")
    short = await _token(server, "olga", expires_in=0.5)
    token = await _token(server, "olga")
    async with _client(server) as client:
        assert (await client.get("/api/v1/auth/me", headers=_bearer(short))).status_code == 200
        await asyncio.sleep(0.6)
        assert (await client.get("/api/v1/auth/me", headers=_bearer(short))).status_code == 401
        me = (await client.get("/api/v1/auth/me", headers=_bearer(token))).json()
        mine = await client.get("/api/v1/api-tokens", headers=_bearer(token))
        assert {t["account"] for t in mine.json()["items"]} == {"olga"}
        assert "token" not in mine.json()["items"][0]  # never shown again
        revoked = await client.delete(
            f"/api/v1/api-tokens/{me['token_id']}", headers=_bearer(token)
        )
        assert revoked.status_code == 204
        assert (await client.get("/api/v1/auth/me", headers=_bearer(token))).status_code == 401


async def test_others_tokens_are_neither_listed_nor_revocable(server: RunningCsms) -> None:
    await _user(server, "olga", "operator")
    await _user(server, "victor", "viewer")
    olga = await _token(server, "olga")
    victor = await _token(server, "victor")
    async with _client(server) as client:
        olga_id = (await client.get("/api/v1/auth/me", headers=_bearer(olga))).json()["token_id"]
        listed = await client.get("/api/v1/api-tokens", headers=_bearer(victor))
        assert olga_id not in {t["id"] for t in listed.json()["items"]}
        response = await client.delete(f"/api/v1/api-tokens/{olga_id}", headers=_bearer(victor))
        assert response.status_code == 404
        assert (await client.get("/api/v1/auth/me", headers=_bearer(olga))).status_code == 200


async def test_disabling_an_account_stops_its_tokens_and_sessions_at_once(
    both: RunningCsms, database_url: str
) -> None:
    server = both
    await _user(server, "olga", "operator")
    await _user(server, "dave", "operator")
    olga = await _token(server, "olga")
    dave = await _token(server, "dave")
    async with _client(server) as browser:
        login = await browser.post(
            "/api/v1/auth/login", json={"name": "olga", "password": PASSWORD}
        )
        assert login.status_code == 200
        async with server.api() as admin:
            patched = await admin.patch("/api/v1/users/olga", json={"enabled": False})
            assert patched.status_code == 200 and patched.json()["enabled"] is False
        assert (await browser.get("/api/v1/auth/me")).status_code == 401
        assert (await browser.get("/api/v1/auth/me", headers=_bearer(olga))).status_code == 401
        relogin = await browser.post(
            "/api/v1/auth/login", json={"name": "olga", "password": PASSWORD}
        )
        assert relogin.status_code == 401
        # The CLI, in another "process" on the same database, takes effect at the next request.
        code = await asyncio.to_thread(
            csms_main, ["user", "disable", "dave", "--database-url", database_url]
        )
        assert code == 0
        assert (await browser.get("/api/v1/auth/me", headers=_bearer(dave))).status_code == 401


async def test_the_audit_log_names_who_changed_what(both: RunningCsms) -> None:
    server = both
    await _user(server, "olga", "operator")
    token = await _token(server, "olga")
    async with _client(server) as client:
        await client.post("/api/v1/stations", json={"id": "CP-A"}, headers=_bearer(token))
        await client.patch(
            "/api/v1/stations/CP-A",
            json={"registration_status": "Accepted"},
            headers=_bearer(token),
        )
        await client.get("/api/v1/stations/CP-A", headers=_bearer(token))  # reads are not audited
        failed = {"name": "olga", "password": "not the password"}
        assert (await client.post("/api/v1/auth/login", json=failed)).status_code == 401
        await client.post("/api/v1/auth/login", json={"name": "olga", "password": PASSWORD})
    async with server.api() as admin:
        page = (await admin.get("/api/v1/audit", params={"actor": "olga"})).json()
        rows = page["items"]
        assert [(r["method"], r["path"], r["status"]) for r in rows] == [
            ("POST", "/api/v1/auth/login", 200),  # a successful login is audited
            ("PATCH", "/api/v1/stations/CP-A", 200),
            ("POST", "/api/v1/stations", 201),
        ]
        assert rows[0]["auth_kind"] == "session"
        assert rows[1]["station_id"] == "CP-A" and rows[1]["auth_kind"] == "token"
        assert rows[1]["client"] == "127.0.0.1"
        by_station = (await admin.get("/api/v1/audit", params={"station": "CP-A"})).json()
        assert by_station["total"] == 1
        everything = (await admin.get("/api/v1/audit", params={"limit": 2})).json()
        assert everything["next_cursor"] is not None
        rest = (
            await admin.get(
                "/api/v1/audit", params={"limit": 2, "cursor": everything["next_cursor"]}
            )
        ).json()
        assert {r["id"] for r in rest["items"]}.isdisjoint({r["id"] for r in everything["items"]})
        assert "bootstrap" in {r["actor"] for r in rest["items"] + everything["items"]}
        text = str(everything) + str(rest)
        assert PASSWORD not in text and token not in text  # no bodies, no secrets
    async with _client(server) as client:
        refused = await client.get("/api/v1/audit", headers=_bearer(token))
        assert refused.status_code == 403  # admins only


async def test_the_bootstrap_token_is_an_admin_without_an_account(server: RunningCsms) -> None:
    async with server.api() as admin:
        me = (await admin.get("/api/v1/auth/me")).json()
        assert me == {"name": "bootstrap", "role": "admin", "kind": "bootstrap", "token_id": None}
        own = await admin.post("/api/v1/api-tokens", json={"name": "x"})
        assert own.status_code == 422  # it has no account: name one
        weak = await admin.post(
            "/api/v1/users", json={"name": "w", "role": "viewer", "password": "short"}
        )
        assert weak.status_code == 422
        reserved = await admin.post(
            "/api/v1/users", json={"name": "bootstrap", "role": "viewer", "password": PASSWORD}
        )
        assert reserved.status_code == 422
        await admin.post(
            "/api/v1/users", json={"name": "u", "role": "viewer", "password": PASSWORD}
        )
        again = await admin.post(
            "/api/v1/users", json={"name": "u", "role": "viewer", "password": PASSWORD}
        )
        assert again.status_code == 409
        users = (await admin.get("/api/v1/users")).json()
        assert users["total"] == 1 and users["items"][0]["name"] == "u"
        assert "password" not in str(users) and "argon2" not in str(users)


async def test_session_cookies_are_secure_when_the_api_serves_tls(tmp_path: Path) -> None:
    ca, cert, key = make_server_certificate(tmp_path)
    settings = settings_for(tmp_path)
    settings = dataclasses.replace(
        settings,
        api=dataclasses.replace(
            settings.api,
            tls_cert=str(cert),
            tls_key=str(key),
            password_hash_memory=1024,
            password_hash_time=1,
        ),
    )
    async with running_csms(settings) as running:
        base = f"https://127.0.0.1:{running.csms.api_port}"
        trust = ssl.create_default_context(cafile=str(ca))
        token = {"Authorization": f"Bearer {settings.api.token}"}
        async with httpx.AsyncClient(base_url=base, verify=trust, timeout=30) as api:
            made = await api.post(
                "/api/v1/users",
                json={"name": "alice", "role": "viewer", "password": PASSWORD},
                headers=token,
            )
            assert made.status_code == 201
            login = await api.post(
                "/api/v1/auth/login", json={"name": "alice", "password": PASSWORD}
            )
            assert login.status_code == 200
            for cookie in login.headers.get_list("set-cookie"):
                assert "secure" in cookie.lower(), cookie
