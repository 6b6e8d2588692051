"""Per-account API tokens: everyone manages their own, admins everyone's; shown once."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field

from csms.api.errors import ApiProblem
from csms.api.routes.identity_common import (
    BAD_REQUEST,
    FORBIDDEN,
    NOT_FOUND,
    ROLE_PROBLEMS,
    VIEWER,
    Cursor,
    Limit,
    Name,
    account_named,
    decode_cursor,
    encode_cursor,
    identity_of,
    principal_of,
)
from csms.api.schemas import DB_INT_MAX, Problem
from csms.domain.accounts import (
    ApiTokenRecord,
    Role,
    UnknownApiToken,
    lower_role,
    role_allows,
)
from csms.domain.api_credentials import ACCOUNT_TOKEN_PREFIX, new_secret, token_digest

__all__ = ["api_tokens_router"]


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


async def list_api_tokens(
    request: Request,
    *,
    cursor: Cursor = None,
    limit: Limit = 50,
    account: Annotated[str | None, Query(max_length=64, description="Admins: one account")] = None,
) -> ApiTokenPage:
    """API tokens (never the tokens themselves): your own, or for admins everyone's."""
    identity = identity_of(request)
    principal = principal_of(request)
    if principal.role is Role.ADMIN:
        owner = None if account is None else (await account_named(identity, account)).id
    else:
        if account is not None and account != principal.name:
            raise ApiProblem(FORBIDDEN, "Only admins see other accounts' tokens.")
        owner = principal.account_id if principal.account_id is not None else -1
    tokens = await identity.accounts.list_tokens(owner)
    before = decode_cursor(cursor)
    rest = [t for t in tokens if before is None or t.id < before]
    page = rest[:limit]
    more = len(rest) > limit
    return ApiTokenPage(
        items=[ApiTokenOut.of(t) for t in page],
        next_cursor=encode_cursor(page[-1].id) if more and page else None,
        total=len(tokens),
    )


async def create_api_token(
    request: Request, response: Response, body: ApiTokenIn
) -> ApiTokenCreated:
    """Create an API token for your account (admins: for any account) and show it once.

    Its role ceiling is at most the account's role and the caller's own role.
    """
    identity = identity_of(request)
    principal = principal_of(request)
    if body.account is not None and body.account != principal.name:
        if principal.role is not Role.ADMIN:
            raise ApiProblem(FORBIDDEN, "Only admins create tokens for other accounts.")
        owner = await account_named(identity, body.account)
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


async def revoke_api_token(
    request: Request, token_id: Annotated[int, Path(ge=1, le=DB_INT_MAX)]
) -> Response:
    """Revoke an API token (yours; admins: anyone's). It stops working at once."""
    identity = identity_of(request)
    principal = principal_of(request)
    if principal.role is not Role.ADMIN:
        own = await identity.accounts.list_tokens(principal.account_id or -1)
        if not any(t.id == token_id for t in own):
            raise ApiProblem(NOT_FOUND, f"no API token {token_id} of yours")
    try:
        await identity.accounts.revoke_token(token_id, identity.clock())
    except UnknownApiToken as exc:
        raise ApiProblem(NOT_FOUND, str(exc)) from None
    return Response(status_code=204)


def api_tokens_router() -> APIRouter:
    """``/api-tokens``."""
    router = APIRouter()
    tokens: list[str | Enum] = ["api tokens"]
    router.add_api_route(
        "/api-tokens",
        list_api_tokens,
        methods=["GET"],
        tags=tokens,
        responses={**ROLE_PROBLEMS, 404: {"model": Problem, "description": "No such account"}},
    )
    router.add_api_route(
        "/api-tokens",
        create_api_token,
        methods=["POST"],
        tags=tokens,
        status_code=201,
        openapi_extra=VIEWER,
        responses={**ROLE_PROBLEMS, 404: {"model": Problem, "description": "No such account"}},
    )
    router.add_api_route(
        "/api-tokens/{token_id}",
        revoke_api_token,
        methods=["DELETE"],
        tags=tokens,
        status_code=204,
        response_class=Response,
        openapi_extra=VIEWER,
        responses={**ROLE_PROBLEMS, 404: {"model": Problem, "description": "No such token"}},
    )
    return router
