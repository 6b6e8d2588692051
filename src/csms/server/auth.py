"""HTTP Basic auth of stations before the WebSocket upgrade (security profiles 1 and 2).

OCPP-J 1.6 §6.2.2 / 1.6 security whitepaper A00.FR.202–204 / 2.0.1 A00: the username is the identity
from the URL and the password is checked before upgrading; a mismatch is answered 401. The password
is whatever follows ``identity:`` in the decoded credentials, as raw bytes: 1.6 keys may be binary and
2.x passwords may contain ':' (ocpp-rules.md §2.2). Budgets for failed attempts (CWE-307) live in
:mod:`csms.server.admission`.
"""

from __future__ import annotations

import base64
import binascii


def basic_auth_password(header: str | None, identity: str) -> bytes | None:
    """Return the password of a Basic auth header whose username is ``identity``, else None."""
    if not header:
        return None
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    prefix = identity.encode("utf-8") + b":"
    if not decoded.startswith(prefix):
        return None
    return decoded[len(prefix) :]
