"""Id tokens (1.6 idTag; 2.x IdTokenType) and the rules that decide their authorization status.

One store serves every version: 1.6 Authorize/StartTransaction/StopTransaction answer with an
``idTagInfo`` and 2.x Authorize with an ``idTokenInfo``, both built from :class:`IdTokenInfo`.
An id token is case-insensitive (1.6 §7.28 IdToken; 2.0.1 IdTokenType), so it is looked up by
:func:`token_key` while the spelling the operator chose is kept for display.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class AuthorizationStatus(enum.StrEnum):
    """1.6 §7.2 AuthorizationStatus (a subset of 2.x AuthorizationStatusEnumType)."""

    ACCEPTED = "Accepted"
    BLOCKED = "Blocked"
    EXPIRED = "Expired"
    INVALID = "Invalid"
    CONCURRENT_TX = "ConcurrentTx"


# What an operator may store; ConcurrentTx and Expired are derived, never stored (§7.2 says
# ConcurrentTx is about another transaction, Expired about the clock).
STORABLE_STATUSES = frozenset(
    {AuthorizationStatus.ACCEPTED, AuthorizationStatus.BLOCKED, AuthorizationStatus.INVALID}
)


# 2.0.1 IdTokenEnumType and the 2.1 additions (2.1 Part 2 Appendix 7.1 IdTokenEnumStringType).
TOKEN_TYPES_201 = frozenset(
    {
        "Central",
        "eMAID",
        "ISO14443",
        "ISO15693",
        "KeyCode",
        "Local",
        "MacAddress",
        "NoAuthorization",
    }
)
TOKEN_TYPES = TOKEN_TYPES_201 | {"DirectPayment", "EVCCID", "VIN"}
# "The IdToken field SHALL be left empty" (2.1 Appendix 7.1): there is no token to store.
UNSTORABLE_TYPES = frozenset({"NoAuthorization"})
# The longest token any version presents (2.1 IdTokenType idToken: 255; 2.0.1: 36; 1.6: 20).
ID_TOKEN_MAX = 255


def type_matches(stored_type: str | None, presented_type: str | None) -> bool:
    """Whether a presented token is the stored one, given their types.

    The store holds one token per case-insensitive value. A 1.6 idTag has no type
    (``presented_type`` None) and matches the token of that value whatever its type, so a card
    stored as ISO14443 "ABC" is "ABC" to a 1.6 station too. A 2.x idToken is the pair (idToken,
    type) (2.0.1 IdTokenType), so it matches a typed token only of the same type; a type-less
    token (an idTag stored for 1.6, or registered before types were kept) matches every type.
    """
    return stored_type is None or presented_type is None or stored_type == presented_type


def storable_text(text: str) -> bool:
    """Whether a token value can be stored and compared in every database: no control
    characters (NUL above all, which PostgreSQL text refuses) and valid UTF-8 (no lone
    surrogates)."""
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text):
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def token_key(id_token: str) -> str:
    """The lookup key of an id token: case-insensitive (1.6 §7.28)."""
    return id_token.casefold()


@dataclass(frozen=True, slots=True)
class IdToken:
    """A token an operator registered.

    ``token_type`` is the 2.x type (see :func:`type_matches`).
    ``parent_id_token`` groups tokens (1.6 parentIdTag, 2.x groupIdToken): a reservation made for
    the parent may be used by any of its children (1.6 §5.13). ``language`` (2.x language1, the
    driver's preferred language, RFC 5646) and ``evse_ids`` (2.x evseId: the token is only valid
    at these EVSEs; empty: at all) go to 2.x idTokenInfo only: 1.6 IdTagInfo has no such fields.
    """

    id_token: str
    status: AuthorizationStatus = AuthorizationStatus.ACCEPTED
    expiry_date: datetime | None = None
    parent_id_token: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    language: str | None = None
    evse_ids: tuple[int, ...] = ()
    token_type: str | None = None  # 2.x IdTokenEnumType; None: a 1.6 idTag, any type

    def __post_init__(self) -> None:
        if not self.id_token:
            raise ValueError("an id token must not be empty")
        if len(self.id_token) > ID_TOKEN_MAX or len(token_key(self.id_token)) > ID_TOKEN_MAX:
            raise ValueError(f"an id token is at most {ID_TOKEN_MAX} characters")
        for text in (self.id_token, self.parent_id_token, self.language):
            if text is not None and not storable_text(text):
                raise ValueError("an id token, group or language has no control characters")
        if self.token_type is not None and self.token_type not in TOKEN_TYPES:
            raise ValueError(f"type {self.token_type!r} is not an IdTokenEnumType")
        if self.token_type in UNSTORABLE_TYPES:
            raise ValueError("a NoAuthorization idToken is empty: there is no token to store")
        if self.status not in STORABLE_STATUSES:
            raise ValueError(f"status {self.status} is derived, not stored")
        if self.language is not None and not 0 < len(self.language) <= LANGUAGE_MAX:
            raise ValueError(f"a language is 1 to {LANGUAGE_MAX} characters (RFC 5646)")
        if any(evse_id <= 0 for evse_id in self.evse_ids):
            raise ValueError("EVSE ids are positive integers")


@dataclass(frozen=True, slots=True)
class IdTokenInfo:
    """The answer about a token (1.6 §7.27 IdTagInfo; 2.x IdTokenInfoType)."""

    status: AuthorizationStatus
    expiry_date: datetime | None = None
    parent_id_token: str | None = None
    language: str | None = None
    evse_ids: tuple[int, ...] = ()


# 2.0.1 IdTokenInfoType language1: string[0..8].
LANGUAGE_MAX = 8

INVALID = IdTokenInfo(AuthorizationStatus.INVALID)


def evaluate(token: IdToken | None, now: datetime, *, in_other_transaction: bool) -> IdTokenInfo:
    """Decide the status of a presented token.

    * unknown → Invalid (1.6 §7.2 "Identifier is unknown");
    * a stored Blocked/Invalid wins over everything else;
    * an expiry date in the past → Expired;
    * an ongoing transaction elsewhere → ConcurrentTx (1.6 §7.2: "already involved in another
      transaction"); the caller leaves out the transaction the message is about, so a retried
      StartTransaction or the StopTransaction of the token's own session is not ConcurrentTx.
      Only a transaction start asks this (§7.2: "only relevant for a StartTransaction.req");
      an Authorize passes ``in_other_transaction=False``.

    The expiry date and parent are returned with every known token, so the station's
    Authorization Cache learns them (1.6 §3.5.1).
    """
    if token is None:
        return INVALID
    status = token.status
    if status is AuthorizationStatus.ACCEPTED:
        if token.expiry_date is not None and token.expiry_date <= now:
            status = AuthorizationStatus.EXPIRED
        elif in_other_transaction:
            status = AuthorizationStatus.CONCURRENT_TX
    return IdTokenInfo(
        status, token.expiry_date, token.parent_id_token, token.language, token.evse_ids
    )


def expand_token_pattern(pattern: str, *, n: int, evse: int = 1) -> str:
    """A token from a pattern naming a station number ``{n}`` and/or an EVSE ``{evse}``:
    ``TAG-{n}`` → ``TAG-7`` for station 7. Used by ``csms token add --count`` and
    ``csms simulate --id-tags``, so both name the same tags; text without braces is itself.

    Raises:
        ValueError: a pattern with other fields or unbalanced braces.
    """
    if "{" not in pattern and "}" not in pattern:
        return pattern
    try:
        return pattern.format(n=n, evse=evse)
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(
            f"token pattern {pattern!r}: only {{n}} (station number) and {{evse}} may appear"
        ) from exc
