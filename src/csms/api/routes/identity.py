"""Login, sessions, operator accounts, API tokens and the audit log (issue 9, identity and access).

``POST /auth/login`` is the one public route of ``/api/v1`` (``x-required-role: public``): it is
throttled per (account, address group) and per address group (:mod:`csms.domain.login_throttle`).
Tokens are shown once, in the answer that creates them; only their digests are stored.
"""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from enum import Enum
from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, FastAPI, Path, Query, Request, Response
from pydantic import BaseModel, Field

from csms.api.deps import attach, attached
from csms.api.errors import ApiProblem, ProblemKind
from csms.api.identity import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    Identity,
    LoginThrottled,
)
from csms.api.schemas import Problem
from csms.domain.accounts import (
    Account,
    AccountExists,
    ApiTokenRecord,
    AuditEntry,
    AuditQuery,
    Principal,
    Role,
    UnknownAccount,
    UnknownApiToken,
    is_valid_account_name,
    lower_role,
    role_allows,
)
from csms.domain.api_credentials import ACCOUNT_TOKEN_PREFIX, new_secret, token_digest
from csms.domain.operator_passwords import (
    MAX_PASSWORD_LENGTH,
    WeakOperatorPassword,
    check_operator_password,
)

__all__ = ["attach_identity", "has_identity", "identity_router"]

_STATE_KEY: Final = "csms_identity"
ADMIN: Final = {"x-required-role": "admin"}
VIEWER: Final = {"x-required-role": "viewer"}
PUBLIC: Final = {"x-required-role": "public"}

LOGIN_FAILED: Final = ProblemKind(401, "login-failed", "Wrong account name or password")
LOGIN_THROTTLED: Final = ProblemKind(429, "login-throttled", "Too many failed logins")
ACCOUNT_EXISTS: Final = ProblemKind(409, "account-exists", "Account already exists")
NOT_FOUND: Final = ProblemKind(404, "not-found", "Not found")
BAD_REQUEST: Final = ProblemKind(422, "invalid-request", "Request not acceptable")
WEAK_PASSWORD: Final = ProblemKind(422, "weak-password", "Password does not meet the policy")
FORBIDDEN: Final = ProblemKind(403, "forbidden", "Role insufficient")

_PROBLEMS: Final[dict[int | str, dict[str, Any]]] = {
    403: {"model": Problem, "description": "Role insufficient"},
}
Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]*$")]
Password = Annotated[str, Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)]


def attach_identity(app: FastAPI, identity: Identity) -> None:
    """Store the identity service on the app, where the routes find it."""
    attach(app, _STATE_KEY, identity)


def has_identity(app: FastAPI) -> bool:
    """Whether ``app`` was built with operator accounts (and so with session cookies)."""
    return getattr(app.state, _STATE_KEY, None) is not None


def _identity(request: Request) -> Identity:
    return attached(request, _STATE_KEY)  # type: ignore[no-any-return]


def _principal(request: Request) -> Principal:
    principal = getattr(request.state, "principal", None)
    if not isinstance(principal, Principal):  # the middleware sets it on every non-public route
        raise ApiProblem(FORBIDDEN, "No authenticated principal.")
    return principal


# ---------------------------------------------------------------------------- schemas


class LoginIn(BaseModel):
    name: Name
    password: Password


class SessionOut(BaseModel):
    """A new browser session: the cookie is set; send ``csrf_token`` as ``X-CSRF-Token``."""

    name: str
    role: Role
    csrf_token: str = Field(description="Send as X-CSRF-Token on state-changing requests")
    expires_at: datetime = Field(description="The session ends then at the latest")
    idle_timeout: float = Field(description="Seconds without a request that end the session")


class MeOut(BaseModel):
    name: str
    role: Role
    kind: Literal["token", "session", "bootstrap", "none"]
    token_id: int | None = None


class UserOut(BaseModel):
    id: int
    name: str
    role: Role
    enabled: bool
    created_at: datetime
    disabled_at: datetime | None

    @classmethod
    def of(cls, a: Account) -> UserOut:
        return cls(
            id=a.id,
            name=a.name,
            role=a.role,
            enabled=a.enabled,
            created_at=a.created_at,
            disabled_at=a.disabled_at,
        )


class UserIn(BaseModel):
    name: Name
    role: Role
    password: Password


class UserPatch(BaseModel):
    role: Role | None = None
    password: Password | None = None
    enabled: bool | None = Field(
        default=None, description="false disables the account: its tokens and sessions stop now"
    )


class UserPage(BaseModel):
    items: list[UserOut]
    next_cursor: str | None
    total: int


class ApiTokenOut(BaseModel):
    id: int
    account: str
    name: str
    role: Role = Field(description="Ceiling: the token acts as the lesser of this and the account")
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def of(cls, t: ApiTokenRecord) -> ApiTokenOut:
        return cls(
            id=t.id,
            account=t.account_name,
            name=t.name,
            role=t.role,
            created_at=t.created_at,
            expires_at=t.expires_at,
            revoked_at=t.revoked_at,
            last_used_at=t.last_used_at,
        )


class ApiTokenCreated(ApiTokenOut):
    token: str = Field(description="The token, shown this once; only its digest is kept")


class ApiTokenIn(BaseModel):
    name: str = Field(min_length=1, max_length=100, description="What it is for")
    role: Role | None = Field(
        default=None, description="Ceiling, at most the account's role (default: that role)"
    )
    expires_in: float | None = Field(
        default=None,
        gt=0,
        le=10 * 365 * 86400,
        description="Seconds until it expires (default: CSMS_API_TOKEN_LIFETIME)",
    )
    never_expires: bool = Field(default=False, description="No expiry (overrides expires_in)")
    account: Name | None = Field(
        default=None, description="Admins only: create it for this account (default: your own)"
    )


class ApiTokenPage(BaseModel):
    items: list[ApiTokenOut]
    next_cursor: str | None
    total: int


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str
    auth_kind: str
    method: str
    path: str
    station_id: str | None
    status: int
    client: str

    @classmethod
    def of(cls, e: AuditEntry) -> AuditOut:
        assert e.id is not None
        return cls(
            id=e.id,
            at=e.at,
            actor=e.actor,
            auth_kind=e.auth_kind,
            method=e.method,
            path=e.path,
            station_id=e.station_id,
            status=e.status,
            client=e.client,
        )


class AuditPage(BaseModel):
    items: list[AuditOut]
    next_cursor: str | None
    total: int


# ---------------------------------------------------------------------------- cursors


def _encode_cursor(value: int) -> str:
    return base64.urlsafe_b64encode(f"id:{value}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = text.partition(":")
        if kind != "id":
            raise ValueError(kind)
        return int(value)
    except ValueError:
        raise ApiProblem(BAD_REQUEST, "cursor: not a cursor this API returned") from None


Cursor = Annotated[str | None, Query(max_length=100, description="next_cursor of the last page")]
Limit = Annotated[int, Query(ge=1, le=500)]


# ---------------------------------------------------------------------------- routes


def _set_session_cookies(
    request: Request, response: Response, session_id: str, csrf: str, max_age: int
) -> None:
    secure = request.url.scheme == "https"
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=max_age,
        path="/",
        httponly=True,
        secure=secure,
        samesite="strict",
    )
    response.set_cookie(
        CSRF_COOKIE,
        csrf,
        max_age=max_age,
        path="/",
        httponly=False,
        secure=secure,
        samesite="strict",
    )


async def login(request: Request, response: Response, body: LoginIn) -> SessionOut:
    """Check a name and password and open a browser session (HttpOnly, SameSite=Strict cookie).

    Throttled per (account, client address) and per client address: beyond the budget 429 with
    Retry-After, whatever the password. Other clients are never locked out.
    """
    identity = _identity(request)
    client = request.client.host if request.client else ""
    try:
        result = await identity.login(body.name, body.password, client)
    except LoginThrottled as exc:
        raise ApiProblem(
            LOGIN_THROTTLED,
            "Too many failed logins from this address; retry later.",
            headers={"Retry-After": str(max(1, round(exc.wait)))},
        ) from None
    if result is None:
        raise ApiProblem(LOGIN_FAILED, "Wrong account name or password, or account disabled.")
    # Named for the audit log (the middleware records a successful login under this name).
    request.state.principal = Principal(
        name=result.account.name,
        role=result.account.role,
        kind="session",
        account_id=result.account.id,
    )
    lifetime = identity.settings.session_lifetime
    _set_session_cookies(request, response, result.session_id, result.csrf_token, int(lifetime))
    return SessionOut(
        name=result.account.name,
        role=result.account.role,
        csrf_token=result.csrf_token,
        expires_at=result.expires_at,
        idle_timeout=identity.settings.session_idle_timeout,
    )


async def logout(request: Request, response: Response) -> Response:
    """End the caller's browser session and clear its cookies (no-op for a bearer token)."""
    principal = _principal(request)
    session = request.cookies.get(SESSION_COOKIE)
    if principal.kind == "session" and session:
        await _identity(request).logout(session)
    out = Response(status_code=204)
    out.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    out.delete_cookie(CSRF_COOKIE, path="/", samesite="strict")
    return out


async def me(request: Request) -> MeOut:
    """Who the caller is and which role it acts with."""
    p = _principal(request)
    return MeOut(name=p.name, role=p.role, kind=p.kind, token_id=p.token_id)  # type: ignore[arg-type]


async def list_users(request: Request, cursor: Cursor = None, limit: Limit = 50) -> UserPage:
    """Operator accounts, by id."""
    after = _decode_cursor(cursor) or 0
    accounts = await _identity(request).accounts.list_accounts()
    rest = [a for a in accounts if a.id > after]
    page = rest[:limit]
    more = len(rest) > limit
    return UserPage(
        items=[UserOut.of(a) for a in page],
        next_cursor=_encode_cursor(page[-1].id) if more and page else None,
        total=len(accounts),
    )


async def _hashed(identity: Identity, password: str) -> str:
    try:
        check_operator_password(password)
    except WeakOperatorPassword as exc:
        raise ApiProblem(WEAK_PASSWORD, f"password: {exc}") from None
    return await identity.hash_password(password)


async def create_user(request: Request, response: Response, body: UserIn) -> UserOut:
    """Create an operator account (its password hashed with argon2id)."""
    identity = _identity(request)
    if not is_valid_account_name(body.name):
        raise ApiProblem(BAD_REQUEST, f"name: {body.name!r} is reserved or not allowed")
    password_hash = await _hashed(identity, body.password)
    try:
        account = await identity.accounts.add_account(
            body.name, body.role, password_hash, identity.clock()
        )
    except AccountExists as exc:
        raise ApiProblem(ACCOUNT_EXISTS, str(exc)) from None
    response.status_code = 201
    return UserOut.of(account)


async def _account_named(identity: Identity, name: str) -> Account:
    account = await identity.accounts.account_by_name(name)
    if account is None:
        raise ApiProblem(NOT_FOUND, f"no account named {name!r}")
    return account


async def get_user(request: Request, name: Annotated[str, Path(max_length=64)]) -> UserOut:
    """One operator account."""
    return UserOut.of(await _account_named(_identity(request), name))


async def patch_user(
    request: Request, name: Annotated[str, Path(max_length=64)], body: UserPatch
) -> UserOut:
    """Change an account's role or password, or disable/enable it. Disabling (or a new
    password) ends its sessions at once; a disabled account's tokens are refused at once."""
    identity = _identity(request)
    account = await _account_named(identity, name)
    password_hash = None if body.password is None else await _hashed(identity, body.password)
    try:
        updated = await identity.accounts.update_account(
            account.id,
            role=body.role,
            password_hash=password_hash,
            enabled=body.enabled,
            now=identity.clock(),
        )
    except UnknownAccount as exc:
        raise ApiProblem(NOT_FOUND, str(exc)) from None
    return UserOut.of(updated)


async def list_api_tokens(
    request: Request,
    *,
    cursor: Cursor = None,
    limit: Limit = 50,
    account: Annotated[str | None, Query(max_length=64, description="Admins: one account")] = None,
) -> ApiTokenPage:
    """API tokens (never the tokens themselves): your own, or for admins everyone's."""
    identity = _identity(request)
    principal = _principal(request)
    if principal.role is Role.ADMIN:
        owner = None if account is None else (await _account_named(identity, account)).id
    else:
        if account is not None and account != principal.name:
            raise ApiProblem(FORBIDDEN, "Only admins see other accounts' tokens.")
        owner = principal.account_id if principal.account_id is not None else -1
    tokens = await identity.accounts.list_tokens(owner)
    before = _decode_cursor(cursor)
    rest = [t for t in tokens if before is None or t.id < before]
    page = rest[:limit]
    more = len(rest) > limit
    return ApiTokenPage(
        items=[ApiTokenOut.of(t) for t in page],
        next_cursor=_encode_cursor(page[-1].id) if more and page else None,
        total=len(tokens),
    )


async def create_api_token(
    request: Request, response: Response, body: ApiTokenIn
) -> ApiTokenCreated:
    """Create an API token for your account (admins: for any account) and show it once.

    Its role ceiling is at most the account's role and the caller's own role.
    """
    identity = _identity(request)
    principal = _principal(request)
    if body.account is not None and body.account != principal.name:
        if principal.role is not Role.ADMIN:
            raise ApiProblem(FORBIDDEN, "Only admins create tokens for other accounts.")
        owner = await _account_named(identity, body.account)
    elif principal.account_id is not None:
        mine = await identity.accounts.account_by_id(principal.account_id)
        if mine is None:
            raise ApiProblem(NOT_FOUND, "your account is gone")
        owner = mine
    else:
        raise ApiProblem(
            BAD_REQUEST,
            "account: the bootstrap credential has no account; name the account to create the "
            "token for",
        )
    ceiling = owner.role
    if owner.id == principal.account_id:
        ceiling = lower_role(ceiling, principal.role)
    role = body.role or ceiling
    if not role_allows(ceiling, role):
        raise ApiProblem(
            BAD_REQUEST, f"role: at most {ceiling.value} (a token never exceeds its account)"
        )
    now = identity.clock()
    lifetime = None if body.never_expires else (body.expires_in or identity.settings.token_lifetime)
    expires_at = now + timedelta(seconds=lifetime) if lifetime else None
    token = new_secret(ACCOUNT_TOKEN_PREFIX)
    record = await identity.accounts.add_token(
        owner.id, body.name, role, token_digest(token), now=now, expires_at=expires_at
    )
    response.status_code = 201
    return ApiTokenCreated(**ApiTokenOut.of(record).model_dump(), token=token)


async def revoke_api_token(request: Request, token_id: Annotated[int, Path(ge=1)]) -> Response:
    """Revoke an API token (yours; admins: anyone's). It stops working at once."""
    identity = _identity(request)
    principal = _principal(request)
    if principal.role is not Role.ADMIN:
        own = await identity.accounts.list_tokens(principal.account_id or -1)
        if not any(t.id == token_id for t in own):
            raise ApiProblem(NOT_FOUND, f"no API token {token_id} of yours")
    try:
        await identity.accounts.revoke_token(token_id, identity.clock())
    except UnknownApiToken as exc:
        raise ApiProblem(NOT_FOUND, str(exc)) from None
    return Response(status_code=204)


async def list_audit(
    request: Request,
    *,
    cursor: Cursor = None,
    limit: Limit = 50,
    actor: Annotated[str | None, Query(max_length=64, description="Account name")] = None,
    path_prefix: Annotated[
        str | None, Query(max_length=500, description="e.g. /api/v1/stations")
    ] = None,
    station: Annotated[str | None, Query(max_length=255, description="Station id")] = None,
    since: Annotated[datetime | None, Query(description="At or after (ISO 8601)")] = None,
    until: Annotated[datetime | None, Query(description="Before (ISO 8601)")] = None,
) -> AuditPage:
    """State-changing API requests, newest first."""
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise ApiProblem(BAD_REQUEST, f"{name}: give a time zone (e.g. ...Z)")
    entries, total = await _identity(request).audit.query(
        AuditQuery(
            actor=actor,
            path_prefix=path_prefix,
            station_id=station,
            since=since,
            until=until,
            before_id=_decode_cursor(cursor),
            limit=limit + 1,
        )
    )
    page = list(entries[:limit])
    more = len(entries) > limit
    return AuditPage(
        items=[AuditOut.of(e) for e in page],
        next_cursor=_encode_cursor(page[-1].id or 0) if more and page else None,
        total=total,
    )


def identity_router() -> APIRouter:
    """Routes of ``/auth``, ``/users``, ``/api-tokens`` and ``/audit``."""
    router = APIRouter()
    auth: list[str | Enum] = ["auth"]
    router.add_api_route(
        "/auth/login",
        login,
        methods=["POST"],
        tags=auth,
        openapi_extra=PUBLIC,
        responses={
            401: {"model": Problem, "description": "Wrong name or password"},
            429: {"model": Problem, "description": "Too many failed logins"},
        },
    )
    router.add_api_route(
        "/auth/logout",
        logout,
        methods=["POST"],
        tags=auth,
        status_code=204,
        response_class=Response,
        openapi_extra=VIEWER,
        responses=_PROBLEMS,
    )
    router.add_api_route("/auth/me", me, methods=["GET"], tags=auth, responses=_PROBLEMS)
    users: list[str | Enum] = ["users"]
    router.add_api_route(
        "/users", list_users, methods=["GET"], tags=users, openapi_extra=ADMIN, responses=_PROBLEMS
    )
    router.add_api_route(
        "/users",
        create_user,
        methods=["POST"],
        tags=users,
        status_code=201,
        openapi_extra=ADMIN,
        responses={
            **_PROBLEMS,
            409: {"model": Problem, "description": "Account exists"},
            422: {"model": Problem, "description": "Weak password or bad name"},
        },
    )
    router.add_api_route(
        "/users/{name}",
        get_user,
        methods=["GET"],
        tags=users,
        openapi_extra=ADMIN,
        responses={**_PROBLEMS, 404: {"model": Problem, "description": "No such account"}},
    )
    router.add_api_route(
        "/users/{name}",
        patch_user,
        methods=["PATCH"],
        tags=users,
        openapi_extra=ADMIN,
        responses={**_PROBLEMS, 404: {"model": Problem, "description": "No such account"}},
    )
    tokens: list[str | Enum] = ["api tokens"]
    router.add_api_route(
        "/api-tokens", list_api_tokens, methods=["GET"], tags=tokens, responses=_PROBLEMS
    )
    router.add_api_route(
        "/api-tokens",
        create_api_token,
        methods=["POST"],
        tags=tokens,
        status_code=201,
        openapi_extra=VIEWER,
        responses={**_PROBLEMS, 404: {"model": Problem, "description": "No such account"}},
    )
    router.add_api_route(
        "/api-tokens/{token_id}",
        revoke_api_token,
        methods=["DELETE"],
        tags=tokens,
        status_code=204,
        response_class=Response,
        openapi_extra=VIEWER,
        responses={**_PROBLEMS, 404: {"model": Problem, "description": "No such token"}},
    )
    router.add_api_route(
        "/audit",
        list_audit,
        methods=["GET"],
        tags=["audit"],
        openapi_extra=ADMIN,
        responses=_PROBLEMS,
    )
    return router
