"""Operator API credentials: what the HTTP API checks a bearer token against.

The API holds no token in clear (neither the bootstrap token nor accounts' API tokens and session
ids): it compares SHA-256 digests (fixed length, so
:func:`hmac.compare_digest` leaks neither the token nor its length). The tokens csms generates carry
256 bits from the operating system's CSPRNG, so a fast hash is enough: there is nothing to guess.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Protocol

# Characters of randomness in a generated token (secrets.token_urlsafe(32): 256 bits).
TOKEN_BYTES = 32
# Operator-supplied tokens (CSMS_API_TOKEN) shorter than this are refused at start-up.
MIN_TOKEN_LENGTH = 16


def token_digest(token: str) -> bytes:
    """The SHA-256 digest the API compares; never log the token itself."""
    return hashlib.sha256(token.encode("utf-8")).digest()


class ApiCredentials(Protocol):
    """Decides whether a presented bearer token is a valid operator credential.

    Implementations may re-read their store, so a rotated token stops working without a restart.
    """

    def verify(self, token: str) -> bool:
        """True if ``token`` is a current credential."""
        ...


class FixedApiToken:
    """One token given by the operator (``CSMS_API_TOKEN``) or a test."""

    def __init__(self, token: str) -> None:
        if not token:
            raise ValueError("the API token must not be empty")
        self._digest = token_digest(token)

    def verify(self, token: str) -> bool:
        return hmac.compare_digest(token_digest(token), self._digest)


# Account tokens (API tokens of operator accounts) and session ids start with these, so a leaked
# one is recognisable (secret scanners) and the API tells them from the bootstrap token at a glance.
ACCOUNT_TOKEN_PREFIX = "csms_at_"
SESSION_PREFIX = "csms_s_"


def new_secret(prefix: str = "") -> str:
    """A new random credential (256 bits from the OS CSPRNG), with a recognisable ``prefix``."""
    return prefix + secrets.token_urlsafe(TOKEN_BYTES)


def digests_equal(a: bytes, b: bytes) -> bool:
    """Compare two digests in constant time."""
    return hmac.compare_digest(a, b)
