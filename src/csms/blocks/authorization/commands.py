"""Operator commands on the id-token store (no station is involved).

A token's status is Accepted, Blocked or Invalid; Expired follows from its expiry date and
ConcurrentTx from its transactions, so neither can be set (see :mod:`csms.domain.tokens`).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Sequence
from datetime import datetime

from csms.domain.charging_ports import IdTokenRepository
from csms.domain.errors import UnknownIdToken
from csms.domain.tokens import AuthorizationStatus, IdToken

__all__ = ["UNCHANGED", "add_token", "list_tokens", "update_token"]


class _Unchanged(enum.Enum):
    UNCHANGED = "unchanged"


UNCHANGED = _Unchanged.UNCHANGED  # "keep the stored value", where None means "clear it"


async def add_token(
    tokens: IdTokenRepository,
    id_token: str,
    *,
    now: datetime,
    status: AuthorizationStatus = AuthorizationStatus.ACCEPTED,
    expiry_date: datetime | None = None,
    parent_id_token: str | None = None,
    language: str | None = None,
    evse_ids: tuple[int, ...] = (),
    token_type: str | None = None,
) -> IdToken:
    """Register ``id_token`` (or replace what is stored for it) and return it.

    Raises:
        ValueError: an empty token, a derived status (Expired, ConcurrentTx), a language longer
            than 8 characters, an EVSE id below 1 or an unknown (or NoAuthorization) type.
    """
    token = IdToken(
        id_token, status, expiry_date, parent_id_token, created_at=now, updated_at=now,
        language=language, evse_ids=evse_ids, token_type=token_type,
    )  # fmt: skip
    existing = await tokens.get(id_token)
    if existing is not None:
        token = dataclasses.replace(token, created_at=existing.created_at)
    await tokens.put(token, now)
    return token


async def update_token(
    tokens: IdTokenRepository,
    id_token: str,
    *,
    now: datetime,
    status: AuthorizationStatus | None = None,
    expiry_date: datetime | _Unchanged | None = UNCHANGED,
    parent_id_token: str | _Unchanged | None = UNCHANGED,
) -> IdToken:
    """Change some fields of a registered token (e.g. block it); others stay as they are.

    Raises:
        UnknownIdToken: no such token.
    """
    existing = await tokens.get(id_token)
    if existing is None:
        raise UnknownIdToken(id_token)
    token = dataclasses.replace(
        existing,
        status=existing.status if status is None else status,
        expiry_date=existing.expiry_date if expiry_date is UNCHANGED else expiry_date,
        parent_id_token=(
            existing.parent_id_token if parent_id_token is UNCHANGED else parent_id_token
        ),
        updated_at=now,
    )
    await tokens.put(token, now)
    return token


async def list_tokens(
    tokens: IdTokenRepository, *, limit: int = 100, offset: int = 0
) -> Sequence[IdToken]:
    """Registered tokens, ordered by token (case-insensitively)."""
    return await tokens.list(limit=limit, offset=offset)
