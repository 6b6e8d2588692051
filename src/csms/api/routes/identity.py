"""Login, sessions, operator accounts, API tokens and the audit log (issue 9, identity and access).

``POST /auth/login`` is the one public route of ``/api/v1`` (``x-required-role: public``): it is
throttled per (account, address group) and per address group (:mod:`csms.domain.login_throttle`).
Tokens are shown once, in the answer that creates them; only their digests are stored.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from csms.api.errors import ApiProblem
from csms.api.identity import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    LoginThrottled,
)
from csms.api.routes.api_tokens import api_tokens_router
from csms.api.routes.audit import audit_router
from csms.api.routes.identity_common import (
    LOGIN_FAILED,
    LOGIN_THROTTLED,
    PUBLIC,
    ROLE_PROBLEMS,
    VIEWER,
    Name,
    Password,
    attach_identity,
    has_identity,
    identity_of,
    principal_of,
)
from csms.api.routes.users import users_router
from csms.api.schemas import Problem
from csms.domain.accounts import (
    Principal,
    Role,
)

__all__ = ["attach_identity", "has_identity", "identity_router"]


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
    identity = identity_of(request)
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
    principal = principal_of(request)
    session = request.cookies.get(SESSION_COOKIE)
    if principal.kind == "session" and session:
        await identity_of(request).logout(session)
    out = Response(status_code=204)
    out.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    out.delete_cookie(CSRF_COOKIE, path="/", samesite="strict")
    return out


async def me(request: Request) -> MeOut:
    """Who the caller is and which role it acts with."""
    p = principal_of(request)
    return MeOut(name=p.name, role=p.role, kind=p.kind, token_id=p.token_id)  # type: ignore[arg-type]


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
        responses=ROLE_PROBLEMS,
    )
    router.add_api_route("/auth/me", me, methods=["GET"], tags=auth, responses=ROLE_PROBLEMS)
    for part in (users_router(), api_tokens_router(), audit_router()):
        router.include_router(part)
    return router
