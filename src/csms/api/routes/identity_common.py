"""What the identity routes share: the identity service on the app, the caller, problem kinds,
role declarations and cursors (issue 9, identity and access)."""

from __future__ import annotations

import base64
from typing import Annotated, Any, Final

from fastapi import FastAPI, Query, Request
from pydantic import Field

from csms.api.deps import attach, attached
from csms.api.errors import ApiProblem, ProblemKind
from csms.api.identity import Identity
from csms.api.schemas import Problem
from csms.domain.accounts import (
    Account,
    Principal,
)
from csms.domain.operator_passwords import MAX_PASSWORD_LENGTH

STATE_KEY: Final = "csms_identity"
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

ROLE_PROBLEMS: Final[dict[int | str, dict[str, Any]]] = {
    403: {"model": Problem, "description": "Role insufficient"},
}
Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]*$")]
Password = Annotated[str, Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)]


def attach_identity(app: FastAPI, identity: Identity) -> None:
    """Store the identity service on the app, where the routes find it."""
    attach(app, STATE_KEY, identity)


def has_identity(app: FastAPI) -> bool:
    """Whether ``app`` was built with operator accounts (and so with session cookies)."""
    return getattr(app.state, STATE_KEY, None) is not None


def identity_of(request: Request) -> Identity:
    """The identity service of the app serving ``request``."""
    return attached(request, STATE_KEY)  # type: ignore[no-any-return]


def principal_of(request: Request) -> Principal:
    """The caller, as the auth middleware named it."""
    principal = getattr(request.state, "principal", None)
    if not isinstance(principal, Principal):  # the middleware sets it on every non-public route
        raise ApiProblem(FORBIDDEN, "No authenticated principal.")
    return principal


# ---------------------------------------------------------------------------- cursors


def encode_cursor(value: int) -> str:
    """An opaque cursor for an id."""
    return base64.urlsafe_b64encode(f"id:{value}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    """The id of a cursor this API returned; 422 for anything else."""
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


async def account_named(identity: Identity, name: str) -> Account:
    """The account called ``name``, else 404."""
    account = await identity.accounts.account_by_name(name)
    if account is None:
        raise ApiProblem(NOT_FOUND, f"no account named {name!r}")
    return account
