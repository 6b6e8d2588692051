"""Operator accounts (admin): list, create, read, change role or password, disable."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, Field

from csms.api.errors import ApiProblem
from csms.api.identity import Identity
from csms.api.routes.identity_common import (
    ACCOUNT_EXISTS,
    ADMIN,
    BAD_REQUEST,
    NOT_FOUND,
    ROLE_PROBLEMS,
    WEAK_PASSWORD,
    Cursor,
    Limit,
    Name,
    Password,
    account_named,
    decode_cursor,
    encode_cursor,
    identity_of,
)
from csms.api.schemas import Problem
from csms.domain.accounts import (
    Account,
    AccountExists,
    Role,
    UnknownAccount,
    is_valid_account_name,
)
from csms.domain.operator_passwords import (
    WeakOperatorPassword,
    check_operator_password,
)

__all__ = ["users_router"]


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


async def list_users(request: Request, cursor: Cursor = None, limit: Limit = 50) -> UserPage:
    """Operator accounts, by id."""
    after = decode_cursor(cursor) or 0
    accounts = await identity_of(request).accounts.list_accounts()
    rest = [a for a in accounts if a.id > after]
    page = rest[:limit]
    more = len(rest) > limit
    return UserPage(
        items=[UserOut.of(a) for a in page],
        next_cursor=encode_cursor(page[-1].id) if more and page else None,
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
    identity = identity_of(request)
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


async def get_user(request: Request, name: Annotated[str, Path(max_length=64)]) -> UserOut:
    """One operator account."""
    return UserOut.of(await account_named(identity_of(request), name))


async def patch_user(
    request: Request, name: Annotated[str, Path(max_length=64)], body: UserPatch
) -> UserOut:
    """Change an account's role or password, or disable/enable it. Disabling (or a new
    password) ends its sessions at once; a disabled account's tokens are refused at once."""
    identity = identity_of(request)
    account = await account_named(identity, name)
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


def users_router() -> APIRouter:
    """``/users`` (admin)."""
    router = APIRouter()
    users: list[str | Enum] = ["users"]
    router.add_api_route(
        "/users",
        list_users,
        methods=["GET"],
        tags=users,
        openapi_extra=ADMIN,
        responses=ROLE_PROBLEMS,
    )
    router.add_api_route(
        "/users",
        create_user,
        methods=["POST"],
        tags=users,
        status_code=201,
        openapi_extra=ADMIN,
        responses={
            **ROLE_PROBLEMS,
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
        responses={**ROLE_PROBLEMS, 404: {"model": Problem, "description": "No such account"}},
    )
    router.add_api_route(
        "/users/{name}",
        patch_user,
        methods=["PATCH"],
        tags=users,
        openapi_extra=ADMIN,
        responses={**ROLE_PROBLEMS, 404: {"model": Problem, "description": "No such account"}},
    )
    return router
