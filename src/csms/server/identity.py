"""The station identity in the connection URL (OCPP-J 1.6 §3.1.1; 2.0.1 Part 4 §3.1.1).

The identity is the last path segment, percent-decoded exactly once, so ``/ocpp/RDAM%20123`` is
``RDAM 123`` and any prefix (``/ocpp/``, ``/ocpp16/``, ``/steve/websocket/CentralSystemService/``)
works. An identity is 1 to 48 characters and has no ``:``: 2.x makes it an identifierString of at
most 48 characters without ``:``, because it is also the Basic auth username; csms applies the same
rule to 1.6 so one station registry serves every version.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

MAX_IDENTITY_LENGTH = 48


def identity_from_path(path: str) -> str | None:
    """Return the station identity of a request path, or None if it has none or an invalid one."""
    segment = urlsplit(path).path.rsplit("/", 1)[-1]
    if not segment:
        return None
    try:
        identity = unquote(segment, errors="strict")
    except UnicodeDecodeError:
        return None
    return identity if is_valid_identity(identity) else None


def is_valid_identity(identity: str) -> bool:
    """True for 1–48 printable characters without ':' (2.0.1 Part 4 §3.1.1)."""
    return (
        0 < len(identity) <= MAX_IDENTITY_LENGTH
        and ":" not in identity
        and identity.isprintable()
        and "/" not in identity
    )
