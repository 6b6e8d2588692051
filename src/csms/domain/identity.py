"""Station identities (OCPP-J 1.6 §3.1.1; 2.0.1 Part 4 §3.1.1).

An identity is 1 to 48 characters without ':': 2.x makes it an identifierString of at most 48
characters, and ':' would break HTTP Basic auth, where the identity is the username. '/' and control
characters are refused too: the identity is the last path segment of the WebSocket URL and of the
API's URLs, and it is written to logs. csms applies the same rule to 1.6 so one registry serves
every version.
"""

from __future__ import annotations

MAX_IDENTITY_LENGTH = 48


class InvalidIdentity(ValueError):
    """The string cannot be a station identity; the message says why."""


def check_identity(value: str) -> str:
    """Return ``value`` if it is a valid identity, else raise :class:`InvalidIdentity`."""
    if not 1 <= len(value) <= MAX_IDENTITY_LENGTH:
        raise InvalidIdentity(f"a station id must be 1 to {MAX_IDENTITY_LENGTH} characters long")
    if ":" in value:
        raise InvalidIdentity("a station id must not contain ':' (OCPP 2.0.1 Part 4 §3.1.1)")
    if "/" in value or not value.isprintable():
        raise InvalidIdentity("a station id must not contain '/' or control characters")
    return value


def is_valid_identity(value: str) -> bool:
    """True if ``value`` is a valid identity."""
    try:
        check_identity(value)
    except InvalidIdentity:
        return False
    return True
