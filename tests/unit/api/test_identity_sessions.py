"""Sessions (idle and absolute expiry, CSRF), account tokens (ceiling, expiry, revocation,
disabled accounts) and the route → role table, without sockets (SQLite store)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi import APIRouter, FastAPI

from csms.api.auth import RouteRoles
from csms.api.identity import Identity, IdentitySettings, LoginThrottled
from csms.domain.accounts import Role
from csms.domain.api_credentials import ACCOUNT_TOKEN_PREFIX, new_secret, token_digest
from csms.domain.operator_passwords import OperatorPasswords
from csms.storage import Store, open_store

T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'csms.db'}")
    try:
        yield store
    finally:
        await store.aclose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def identity(store: Store, clock: Clock) -> Identity:
    passwords = OperatorPasswords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    identity = Identity(
        accounts=store.accounts,
        audit=store.audit,
        passwords=passwords,
        settings=IdentitySettings(
            session_idle_timeout=600,
            session_lifetime=3600,
            login_failures_per_account_address=2,
            login_failures_per_address=10,
        ),
        clock=clock,
    )
    await store.accounts.add_account(
        "alice", Role.OPERATOR, await identity.hash_password(PASSWORD), T0
    )
    return identity


async def test_login_opens_a_session_whose_csrf_token_is_checked(identity: Identity) -> None:
    result = await identity.login("alice", PASSWORD, "127.0.0.1")
    assert result is not None
    check = await identity.session_principal(result.session_id, result.csrf_token)
    assert check.principal is not None and check.principal.role is Role.OPERATOR
    assert check.principal.kind == "session" and check.csrf_ok
    assert not (await identity.session_principal(result.session_id, "wrong")).csrf_ok
    assert not (await identity.session_principal(result.session_id, None)).csrf_ok
    assert (await identity.session_principal("csms_s_forged", None)).principal is None


async def test_a_session_ends_after_the_idle_timeout(identity: Identity, clock: Clock) -> None:
    result = await identity.login("alice", PASSWORD, "127.0.0.1")
    assert result is not None
    clock.now += timedelta(seconds=590)
    assert (await identity.session_principal(result.session_id, None)).principal is not None
    clock.now += timedelta(seconds=590)  # used 590 s ago: still alive (touched above)
    assert (await identity.session_principal(result.session_id, None)).principal is not None
    clock.now += timedelta(seconds=601)
    check = await identity.session_principal(result.session_id, None)
    assert check.principal is None and check.refusal == "session expired"


async def test_a_session_ends_at_its_absolute_lifetime(identity: Identity, clock: Clock) -> None:
    result = await identity.login("alice", PASSWORD, "127.0.0.1")
    assert result is not None
    for _ in range(8):  # kept busy (never idle) for 4000 s > 3600 s
        clock.now += timedelta(seconds=500)
        check = await identity.session_principal(result.session_id, None)
    assert check.principal is None and check.refusal == "session expired"


async def test_logout_and_disabling_end_sessions(identity: Identity, store: Store) -> None:
    first = await identity.login("alice", PASSWORD, "127.0.0.1")
    second = await identity.login("alice", PASSWORD, "127.0.0.1")
    assert first is not None and second is not None
    await identity.logout(first.session_id)
    assert (await identity.session_principal(first.session_id, None)).principal is None
    await store.accounts.update_account(second.account.id, enabled=False, now=T0)
    assert (await identity.session_principal(second.session_id, None)).principal is None


async def test_wrong_passwords_are_throttled_before_checking(
    identity: Identity, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="csms.api.identity")
    assert await identity.login("alice", "wrong password!", "10.0.0.1") is None
    assert await identity.login("alice", "wrong password!", "10.0.0.1") is None
    with pytest.raises(LoginThrottled):
        await identity.login("alice", PASSWORD, "10.0.0.1")  # even the right one, from there
    assert await identity.login("alice", PASSWORD, "10.0.0.2") is not None
    assert "login refused for 'alice' from 10.0.0.1" in caplog.text
    assert "login throttled for 'alice' from 10.0.0.1" in caplog.text
    assert "wrong password!" not in caplog.text and PASSWORD not in caplog.text


async def test_a_disabled_accounts_right_password_fails(identity: Identity, store: Store) -> None:
    alice = await store.accounts.account_by_name("alice")
    assert alice is not None
    await store.accounts.update_account(alice.id, enabled=False, now=T0)
    assert await identity.login("alice", PASSWORD, "127.0.0.1") is None


async def _token(store: Store, role: Role, expires_at: datetime | None = None) -> tuple[str, int]:
    alice = await store.accounts.account_by_name("alice")
    assert alice is not None
    token = new_secret(ACCOUNT_TOKEN_PREFIX)
    record = await store.accounts.add_token(
        alice.id, "t", role, token_digest(token), now=T0, expires_at=expires_at
    )
    return token, record.id


async def test_a_token_acts_with_the_lesser_of_its_ceiling_and_its_account(
    identity: Identity, store: Store
) -> None:
    viewer, _ = await _token(store, Role.VIEWER)
    principal = await identity.token_principal(viewer)
    assert principal is not None and principal.role is Role.VIEWER and principal.kind == "token"
    admin, _ = await _token(store, Role.ADMIN)  # stored above the account's role: capped
    principal = await identity.token_principal(admin)
    assert principal is not None and principal.role is Role.OPERATOR


async def test_expired_revoked_and_disabled_tokens_are_refused(
    identity: Identity, store: Store, clock: Clock
) -> None:
    expiring, _ = await _token(store, Role.OPERATOR, expires_at=T0 + timedelta(hours=1))
    assert await identity.token_principal(expiring) is not None
    clock.now += timedelta(hours=1)
    assert await identity.token_principal(expiring) is None
    revoked, token_id = await _token(store, Role.OPERATOR)
    await store.accounts.revoke_token(token_id, clock.now)
    assert await identity.token_principal(revoked) is None
    live, _ = await _token(store, Role.OPERATOR)
    alice = await store.accounts.account_by_name("alice")
    assert alice is not None
    await store.accounts.update_account(alice.id, enabled=False, now=clock.now)
    assert await identity.token_principal(live) is None
    assert await identity.token_principal("not-an-account-token") is None


def test_route_roles_default_by_method_and_read_declarations() -> None:
    router = APIRouter()

    async def endpoint() -> None: ...

    router.add_api_route("/things/{thing_id}", endpoint, methods=["GET", "POST"])
    router.add_api_route(
        "/things/{thing_id}",
        endpoint,
        methods=["DELETE"],
        openapi_extra={"x-required-role": "admin"},
    )
    app = FastAPI()
    app.include_router(router, prefix="/api/v1")
    roles = RouteRoles(app.routes)

    def lookup(method: str, path: str) -> tuple[str, dict[str, object]]:
        return roles.lookup({"type": "http", "method": method, "path": path, "root_path": ""})

    assert lookup("GET", "/api/v1/things/7") == ("viewer", {"thing_id": "7"})
    assert lookup("HEAD", "/api/v1/things/7")[0] == "viewer"
    assert lookup("POST", "/api/v1/things/7")[0] == "operator"
    assert lookup("DELETE", "/api/v1/things/7")[0] == "admin"
    assert lookup("PUT", "/api/v1/nowhere")[0] == "operator"


def test_an_unknown_declared_role_is_refused() -> None:
    app = FastAPI()

    async def endpoint() -> None: ...

    app.add_api_route("/x", endpoint, openapi_extra={"x-required-role": "root"})
    with pytest.raises(ValueError, match="root"):
        RouteRoles(app.routes)


async def test_concurrent_guesses_from_one_address_cannot_outrun_the_budget(
    identity: Identity,
) -> None:
    results = await asyncio.gather(
        *(identity.login("alice", f"wrong password {n}", "10.0.0.9") for n in range(8)),
        return_exceptions=True,
    )
    throttled = [r for r in results if isinstance(r, LoginThrottled)]
    assert len(throttled) >= 8 - 2  # two at a time are checked, the budget then holds
    assert await identity.login("alice", PASSWORD, "10.0.0.10") is not None
