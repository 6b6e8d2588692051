"""The station identity in the connection URL (OCPP-J 1.6 §3.1.1; 2.0.1 Part 4 §3.1.1).

The identity is the last path segment, percent-decoded exactly once, so ``/ocpp/RDAM%20123`` is
``RDAM 123`` and any prefix (``/ocpp/``, ``/ocpp16/``, ``/steve/websocket/CentralSystemService/``)
works. What makes a valid identity is :mod:`csms.domain.identity`.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from csms.domain.identity import is_valid_identity


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
