"""Station passwords for security profiles 1 and 2: salted hashes, never the password itself.

OCPP-J 1.6 §6.2.2 and the 1.6 security whitepaper (A00.FR.205, A01.FR.06–09): every station has its own
randomly generated password of at least 16 bytes, and the CSMS stores only what verifies it. Passwords
are bytes: a 1.6 AuthorizationKey is a binary key that travels raw in the Basic auth header, and 2.x
passwords are UTF-8 strings that may contain ':' (ocpp-rules.md §2.2).

Hash format: ``sha256$<salt hex>$<digest hex>`` with digest = SHA-256(salt ‖ password). A slow,
stretched hash (scrypt, bcrypt) protects short human passwords; station passwords are random keys of
≥ 128 bits, which stretching does not make harder to guess, while it would cost ~18 ms of CPU per
handshake here — three minutes for a 10,000-station reconnect storm. :func:`check_password_strength`
enforces the minimum length so that this reasoning holds.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os

MIN_PASSWORD_BYTES = 16
MAX_PASSWORD_BYTES = 40
_SALT_BYTES = 16
_PREFIX = "sha256"


class WeakPassword(ValueError):
    """The password is shorter or longer than the spec allows (16–40, A00.FR.205 / BasicAuthPassword)."""


def check_password_strength(password: bytes) -> None:
    """Raise :class:`WeakPassword` unless 16 ≤ len(password) ≤ 40 bytes.

    2.0.1 SecurityCtrlr.BasicAuthPassword is 16–40 characters; a 1.6 AuthorizationKey is 16–20 bytes
    (up to 40 hex digits).
    """
    if not MIN_PASSWORD_BYTES <= len(password) <= MAX_PASSWORD_BYTES:
        raise WeakPassword(
            f"a station password must be {MIN_PASSWORD_BYTES} to {MAX_PASSWORD_BYTES} bytes long"
        )


def hash_password(password: bytes) -> str:
    """Return a salted hash of ``password`` in the format above."""
    salt = os.urandom(_SALT_BYTES)
    digest = hashlib.sha256(salt + password).hexdigest()
    return f"{_PREFIX}${salt.hex()}${digest}"


def verify_password(password: bytes, stored: str) -> bool:
    """Return True if ``password`` matches ``stored``; malformed hashes never match."""
    try:
        prefix, salt_hex, digest_hex = stored.split("$")
        salt = bytes.fromhex(salt_hex)
    except ValueError:
        return False
    if prefix != _PREFIX:
        return False
    digest = hashlib.sha256(salt + password).hexdigest()
    return hmac.compare_digest(digest, digest_hex)


def password_candidates(password: bytes) -> list[bytes]:
    """Return the forms of a received 1.6 AuthorizationKey to verify against the stored hash.

    The 1.6 security whitepaper ed. 2 (A00.FR.205/304) keeps the key as up to 40 hex digits; OCTT
    TC_085 sends the decoded bytes. A station may send either form of the key the CSMS configured, so
    the received bytes, their hex decoding and their hex encoding are all tried (ocpp-rules.md §2.2).
    """
    candidates = [password]
    if 32 <= len(password) <= 40 and len(password) % 2 == 0:
        with contextlib.suppress(ValueError):
            candidates.append(bytes.fromhex(password.decode("ascii")))
    if 16 <= len(password) <= 20:
        candidates.append(password.hex().encode("ascii"))
        candidates.append(password.hex().upper().encode("ascii"))
    return candidates
