"""The operator's view of the id-token store: pages, filters, bulk import, and the local lists
that hold a token.

One store serves 1.6 idTags and 2.x IdTokens (see :mod:`csms.domain.tokens`). A change made here
keeps the stations' local authorization lists consistent in the same database transaction: every
station whose target list (what csms wants the station to hold, :mod:`csms.domain.localauth`)
holds the token gets the entry rewritten (or removed, for a deleted token), its target version
raised by one and its sync state set to ``pending``. The station's own list is unchanged until
csms next sends it (a GetLocalListVersion then reports the old version, which no longer matches);
see docs/behaviour.md "Id tokens (operator API)".
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from csms.domain.localauth import LocalListSyncState
from csms.domain.tokens import AuthorizationStatus, IdToken

__all__ = [
    "IdTokenAdmin",
    "ImportOutcome",
    "LocalListHolder",
    "StatusFilter",
    "TokenPage",
    "TokenQuery",
]


class StatusFilter(enum.StrEnum):
    """What a listing filters on: the status a station would be answered now (Expired is an
    Accepted token past its expiry date; a Blocked or Invalid one stays so)."""

    ACCEPTED = "Accepted"
    BLOCKED = "Blocked"
    EXPIRED = "Expired"
    INVALID = "Invalid"


# The token type filter value for type-less tokens (1.6 idTags).
UNTYPED = "idTag"


@dataclass(frozen=True, slots=True)
class TokenQuery:
    """A page of tokens ordered by their key (the case-folded value)."""

    now: datetime
    token_type: str | None = None  # a type, or UNTYPED for type-less tokens
    status: StatusFilter | None = None
    group: str | None = None  # parent (group) id token, case-insensitive
    search: str | None = None  # a case-insensitive part of the value
    after: str | None = None  # the key of the last token of the previous page
    limit: int = 50


@dataclass(frozen=True, slots=True)
class TokenPage:
    items: Sequence[IdToken]
    next_after: str | None  # None: last page
    total: int  # tokens matching the filters, on every page


@dataclass(frozen=True, slots=True)
class LocalListHolder:
    """A station whose target local list holds a token, and the state of that list."""

    station_id: str
    entry_status: AuthorizationStatus  # as the target list holds it
    state: LocalListSyncState
    version: int  # target version
    station_version: int | None  # last version the station accepted or reported


@dataclass(frozen=True, slots=True)
class ImportOutcome:
    created: int
    updated: int
    stale_lists: int  # stations whose target list changed (now pending)


class IdTokenAdmin(Protocol):
    """Operator reads and writes of the token store; every write commits before it returns and
    keeps the local lists consistent (module docstring)."""

    async def page(self, query: TokenQuery) -> TokenPage:
        """Tokens matching ``query``, at most ``query.limit``."""
        ...

    async def get(self, id_token: str) -> IdToken | None:
        """The token of this value (case-insensitive), whatever its type."""
        ...

    async def create(self, token: IdToken, now: datetime) -> bool:
        """Store a new token; False (nothing stored) if one of that value exists."""
        ...

    async def replace(self, token: IdToken, now: datetime) -> int:
        """Replace the stored token of that value; return how many local lists became stale.

        Raises:
            UnknownIdToken: no token of that value.
        """
        ...

    async def delete(self, id_token: str, now: datetime) -> int:
        """Delete the token and remove it from the target lists; return how many became stale.

        Raises:
            UnknownIdToken: no token of that value.
        """
        ...

    async def import_tokens(self, tokens: Sequence[IdToken], now: datetime) -> ImportOutcome:
        """Create or replace every token (values unique) in one transaction."""
        ...

    async def holders(self, id_token: str) -> Sequence[LocalListHolder]:
        """The stations whose target local list holds the token, by station id."""
        ...

    async def existing(self, id_tokens: Sequence[str]) -> frozenset[str]:
        """The keys of those values that are stored."""
        ...
