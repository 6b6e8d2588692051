"""Operator accounts, their API tokens and browser sessions, and the audit log: records and ports.

Roles are ordered ``viewer < operator < admin``: a viewer reads, an operator also changes state and
sends commands, an admin also manages accounts, tokens and reads the audit log. A token or a
session never carries more than its account's role; a token may carry less (its ``role`` ceiling).
Secrets (passwords, tokens, session ids, CSRF tokens) are never stored: passwords as argon2 hashes
(:mod:`csms.domain.operator_passwords`), the others as SHA-256 digests (they hold 256 random bits).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Protocol

from csms.domain.errors import DomainError

# Account names: what an operator types at the login prompt and what the audit log shows.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
BOOTSTRAP_NAME: Final = "bootstrap"


class Role(enum.StrEnum):
    """What a principal may do; compare with :func:`role_allows`."""

    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANKS[self]


_RANKS: Final = {Role.VIEWER: 0, Role.OPERATOR: 1, Role.ADMIN: 2}


def role_allows(held: Role, required: Role) -> bool:
    """True if a principal holding ``held`` may use a route that requires ``required``."""
    return held.rank >= required.rank


def lower_role(a: Role, b: Role) -> Role:
    """The lesser of two roles (a token's effective role under its account's)."""
    return a if a.rank <= b.rank else b


def is_valid_account_name(name: str) -> bool:
    """1 to 64 characters: letters, digits and ``. _ @ -``, not starting with a symbol."""
    return _NAME.fullmatch(name) is not None and name != BOOTSTRAP_NAME


class AccountError(DomainError):
    """Base of the account errors (translated to problem JSON by the API)."""


class AccountExists(AccountError):
    """An account with this name already exists."""


class UnknownAccount(AccountError):
    """No account with this name or id."""


class UnknownApiToken(AccountError):
    """No API token with this id (or not one the caller may see)."""


@dataclass(frozen=True, slots=True)
class Account:
    """An operator account; ``password_hash`` is an argon2 PHC string."""

    id: int
    name: str
    role: Role
    password_hash: str
    enabled: bool
    created_at: datetime
    disabled_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ApiTokenRecord:
    """An API token as stored: never the token, only its digest (kept by the repository)."""

    id: int
    account_id: int
    account_name: str
    name: str
    role: Role  # the ceiling: the token acts as the lesser of this and its account's role
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A browser session as stored (its id and CSRF token as digests)."""

    account_id: int
    csrf_digest: bytes
    created_at: datetime
    last_used_at: datetime


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One state-changing API request: who, when, what, with which result. No bodies or secrets."""

    at: datetime
    actor: str
    auth_kind: str  # token, session, bootstrap, none
    method: str
    path: str
    status: int
    client: str
    station_id: str | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Filters of the audit log; ``after_id`` is the cursor (rows come newest first)."""

    actor: str | None = None
    path_prefix: str | None = None
    station_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None
    limit: int = 50


class AccountRepository(Protocol):
    """Accounts, API tokens and sessions (operator-driven writes: small, committed at once)."""

    async def add_account(
        self, name: str, role: Role, password_hash: str, now: datetime
    ) -> Account: ...

    async def account_by_name(self, name: str) -> Account | None: ...

    async def account_by_id(self, account_id: int) -> Account | None: ...

    async def list_accounts(self) -> Sequence[Account]: ...

    async def update_account(
        self,
        account_id: int,
        *,
        role: Role | None = None,
        password_hash: str | None = None,
        enabled: bool | None = None,
        now: datetime,
    ) -> Account:
        """Change an account; disabling it also ends its sessions (its tokens die with it)."""
        ...

    async def add_token(
        self,
        account_id: int,
        name: str,
        role: Role,
        digest: bytes,
        *,
        now: datetime,
        expires_at: datetime | None,
    ) -> ApiTokenRecord: ...

    async def token_by_digest(self, digest: bytes) -> tuple[ApiTokenRecord, Account] | None:
        """The token with this digest and its account, whatever their state (the caller judges)."""
        ...

    async def list_tokens(self, account_id: int | None) -> Sequence[ApiTokenRecord]:
        """Tokens of one account, or of all (``None``), newest first."""
        ...

    async def revoke_token(self, token_id: int, now: datetime) -> ApiTokenRecord:
        """Mark a token revoked (idempotent). Raises UnknownApiToken."""
        ...

    async def touch_token(self, token_id: int, now: datetime) -> None: ...

    async def add_session(
        self, digest: bytes, account_id: int, csrf_digest: bytes, now: datetime
    ) -> None: ...

    async def session_by_digest(self, digest: bytes) -> tuple[SessionRecord, Account] | None: ...

    async def touch_session(self, digest: bytes, now: datetime) -> None: ...

    async def end_session(self, digest: bytes) -> None: ...

    async def end_sessions_before(self, created_before: datetime, idle_before: datetime) -> int:
        """Delete expired sessions; return how many."""
        ...


class AuditLog(Protocol):
    """Where the audit entries go; bounded by :meth:`prune`."""

    async def append(self, entries: Sequence[AuditEntry]) -> None: ...

    async def query(self, query: AuditQuery) -> tuple[Sequence[AuditEntry], int]:
        """Entries newest first and the total count matching the filters (without the cursor)."""
        ...

    async def prune(self, *, keep_rows: int, older_than: datetime) -> int:
        """Delete entries beyond the newest ``keep_rows`` and those before ``older_than``."""
        ...


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is making an API request (``request.state.principal``).

    ``kind``: ``token`` (an account's API token), ``session`` (a browser session cookie),
    ``bootstrap`` (the single CSMS_API_TOKEN / generated token: an admin without an account) or
    ``none`` (``CSMS_API_AUTH=none``: an admin on loopback).
    """

    name: str
    role: Role
    kind: str
    account_id: int | None = None
    token_id: int | None = None
