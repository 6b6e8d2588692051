"""Who is calling: bearer tokens (bootstrap or an account's), browser sessions, and logins.

One :class:`Identity` per app, built by the composition root from the account repository, the
password hasher and the settings. The auth middleware (:mod:`csms.api.auth`) asks it for a
:class:`~csms.domain.accounts.Principal`; the login routes use it to check passwords under the
login throttle (:mod:`csms.domain.login_throttle`).

Sessions and account tokens are read from the database on every request (a primary-key read), so
disabling an account or revoking a token takes effect at the next request, also when done by
``csms user disable`` in another process. ``last_used_at`` is written at most once a minute per
session or token, so the idle timeout is precise to a minute.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final

from csms.domain.accounts import (
    BOOTSTRAP_NAME,
    Account,
    AccountRepository,
    AuditLog,
    Principal,
    Role,
    lower_role,
)
from csms.domain.api_credentials import (
    ACCOUNT_TOKEN_PREFIX,
    SESSION_PREFIX,
    ApiCredentials,
    digests_equal,
    new_secret,
    token_digest,
)
from csms.domain.buckets import group_key
from csms.domain.login_throttle import LoginThrottle
from csms.domain.operator_passwords import OperatorPasswords
from csms.log import KindLog

logger = logging.getLogger(__name__)

SESSION_COOKIE: Final = "csms_session"
CSRF_COOKIE: Final = "csms_csrf"
CSRF_HEADER: Final = "x-csrf-token"
# last_used_at of a session or token is written at most this often (seconds).
TOUCH_INTERVAL: Final = 60.0
# Password verifications at once: each argon2 verification takes 64 MiB for ~50 ms.
MAX_CONCURRENT_VERIFICATIONS: Final = 4
# Logins from one address group checked at once; more get 429 at once.
MAX_LOGINS_IN_FLIGHT_PER_ADDRESS: Final = 2


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class IdentitySettings:
    """Lifetimes and budgets (see :class:`csms.config.ApiSettings`, "Identity and access")."""

    login_failures_per_account_address: int = 5
    login_failures_per_address: int = 20
    login_failure_window: float = 900.0
    session_idle_timeout: float = 1800.0
    session_lifetime: float = 12 * 3600.0
    token_lifetime: float = 90 * 86400.0
    audit_max_rows: int = 1_000_000
    audit_max_age: float = 365 * 86400.0


@dataclass(frozen=True, slots=True)
class LoginResult:
    """A successful login: the session id and CSRF token to hand to the browser (once)."""

    account: Account
    session_id: str
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class SessionCheck:
    """What a session cookie resolved to: a principal, or why not (``refusal``)."""

    principal: Principal | None
    csrf_ok: bool
    refusal: str = ""


class LoginThrottled(Exception):
    """Too many failed logins from this address (for this account); retry after ``wait`` s."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"retry after {wait:.0f} s")
        self.wait = wait


@dataclass(slots=True)
class Identity:
    """Accounts, passwords, sessions and the audit log of one app."""

    accounts: AccountRepository
    audit: AuditLog
    passwords: OperatorPasswords
    settings: IdentitySettings
    clock: Callable[[], datetime] = utc_now
    monotonic: Callable[[], float] = time.monotonic
    throttle: LoginThrottle | None = None
    _verifications: asyncio.Semaphore | None = None
    # Refused logins: 10 lines a minute per kind, then a count (never a password).
    refusals: KindLog = field(default_factory=lambda: KindLog(logger, burst=10))
    # Logins being checked per address group (bounded by the requests in flight).
    _in_flight: dict[int | str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.throttle is None:
            s = self.settings
            self.throttle = LoginThrottle(
                failures_per_account_address=s.login_failures_per_account_address,
                failures_per_address=s.login_failures_per_address,
                window=s.login_failure_window,
                clock=self.monotonic,
            )

    # ------------------------------------------------------------------ passwords

    async def hash_password(self, password: str) -> str:
        """argon2 in a worker thread, a few at once."""
        async with self._semaphore():
            return await asyncio.to_thread(self.passwords.hash, password)

    async def _verify(self, password_hash: str | None, password: str) -> bool:
        async with self._semaphore():
            return await asyncio.to_thread(self.passwords.verify, password_hash, password)

    def _semaphore(self) -> asyncio.Semaphore:
        if self._verifications is None:  # created on the serving loop
            self._verifications = asyncio.Semaphore(MAX_CONCURRENT_VERIFICATIONS)
        return self._verifications

    # ------------------------------------------------------------------ login

    async def login(self, name: str, password: str, address: str) -> LoginResult | None:
        """Check ``name``/``password`` under the throttle; a session on success, else None.

        Raises:
            LoginThrottled: this address has spent its budget (for this account); the password
                was not checked.
        """
        assert self.throttle is not None
        wait = self.throttle.wait(name, address)
        if wait > 0:
            self.refusals.warning(
                "login throttled for %r from %s (too many failed logins)", name[:64], address
            )
            raise LoginThrottled(wait)
        # Failures are charged after the check: without this, concurrent guesses from one
        # address would all pass the budget before the first is charged.
        group = group_key(address)
        if self._in_flight.get(group, 0) >= MAX_LOGINS_IN_FLIGHT_PER_ADDRESS:
            self.refusals.warning("login throttled from %s (logins already being checked)", address)
            raise LoginThrottled(1.0)
        self._in_flight[group] = self._in_flight.get(group, 0) + 1
        try:
            account = await self.accounts.account_by_name(name)
            ok = await self._verify(account.password_hash if account else None, password)
        finally:
            left = self._in_flight.pop(group) - 1
            if left:
                self._in_flight[group] = left
        if account is None or not ok or not account.enabled:
            # A disabled account's right password counts as a failure too: nothing tells them apart.
            self.throttle.failed(account.name if account else None, address)
            self.refusals.info(
                "login refused for %r from %s (%s)",
                name[:64],
                address,
                "unknown account" if account is None else "wrong password or disabled",
            )
            return None
        now = self.clock()
        session_id = new_secret(SESSION_PREFIX)
        csrf = new_secret()
        await self.accounts.add_session(
            token_digest(session_id), account.id, token_digest(csrf), now
        )
        expires = now + timedelta(seconds=self.settings.session_lifetime)
        return LoginResult(account, session_id, csrf, expires)

    async def logout(self, session_id: str) -> None:
        await self.accounts.end_session(token_digest(session_id))

    async def end_expired_sessions(self) -> int:
        now = self.clock()
        return await self.accounts.end_sessions_before(
            now - timedelta(seconds=self.settings.session_lifetime),
            now - timedelta(seconds=self.settings.session_idle_timeout),
        )

    # ------------------------------------------------------------------ per request

    async def token_principal(self, token: str) -> Principal | None:
        """The principal of an account's API token, or None (unknown, revoked, expired,
        disabled account)."""
        if not token.startswith(ACCOUNT_TOKEN_PREFIX):
            return None
        found = await self.accounts.token_by_digest(token_digest(token))
        if found is None:
            return None
        record, account = found
        now = self.clock()
        if (
            record.revoked_at is not None
            or (record.expires_at is not None and record.expires_at <= now)
            or not account.enabled
        ):
            return None
        if record.last_used_at is None or (
            (now - record.last_used_at).total_seconds() >= TOUCH_INTERVAL
        ):
            await self.accounts.touch_token(record.id, now)
        return Principal(
            name=account.name,
            role=lower_role(record.role, account.role),
            kind="token",
            account_id=account.id,
            token_id=record.id,
        )

    async def session_principal(self, session_id: str, csrf: str | None) -> SessionCheck:
        """The principal of a session cookie and whether ``csrf`` (the header) matches it."""
        if not session_id.startswith(SESSION_PREFIX):
            return SessionCheck(None, csrf_ok=False, refusal="not a session")
        digest = token_digest(session_id)
        found = await self.accounts.session_by_digest(digest)
        if found is None:
            return SessionCheck(None, csrf_ok=False, refusal="unknown or ended session")
        record, account = found
        now = self.clock()
        s = self.settings
        if (now - record.created_at).total_seconds() >= s.session_lifetime or (
            now - record.last_used_at
        ).total_seconds() >= s.session_idle_timeout:
            await self.accounts.end_session(digest)
            return SessionCheck(None, csrf_ok=False, refusal="session expired")
        if not account.enabled:
            return SessionCheck(None, csrf_ok=False, refusal="account disabled")
        if (now - record.last_used_at).total_seconds() >= TOUCH_INTERVAL:
            await self.accounts.touch_session(digest, now)
        csrf_ok = csrf is not None and digests_equal(token_digest(csrf), record.csrf_digest)
        principal = Principal(
            name=account.name, role=account.role, kind="session", account_id=account.id
        )
        return SessionCheck(principal, csrf_ok=csrf_ok)


BOOTSTRAP_PRINCIPAL: Final = Principal(name=BOOTSTRAP_NAME, role=Role.ADMIN, kind="bootstrap")
OPEN_PRINCIPAL: Final = Principal(name="anonymous", role=Role.ADMIN, kind="none")


def bootstrap_principal(credentials: ApiCredentials | None, token: str) -> Principal | None:
    """The bootstrap admin if ``token`` is the single operator token (CSMS_API_TOKEN or the
    generated one)."""
    if credentials is not None and credentials.verify(token):
        return BOOTSTRAP_PRINCIPAL
    return None
