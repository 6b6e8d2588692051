"""Operator passwords: argon2id hashes (RFC 9106), a length policy and a constant-ish refusal.

Unlike station passwords (random keys, salted SHA-256 in :mod:`csms.domain.credentials`), operator
passwords are chosen by people, so they are hashed with a memory-hard function: argon2-cffi's
defaults (argon2id, 64 MiB, 3 passes, 4 lanes, about 50 ms here). A login for an unknown account
verifies against a dummy hash of the same parameters, so the answer's timing does not tell which
names exist. Verifying is CPU and memory bound: the API runs it in a worker thread, a few at once.
"""

from __future__ import annotations

from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from csms.domain.errors import DomainError

MIN_PASSWORD_LENGTH: Final = 10
MAX_PASSWORD_LENGTH: Final = 256  # argon2 takes any length; this bounds the work per request


class WeakOperatorPassword(DomainError):
    """The password does not meet the policy (length)."""


def check_operator_password(password: str) -> None:
    """Refuse a password shorter than :data:`MIN_PASSWORD_LENGTH` or longer than the maximum."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakOperatorPassword(f"at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise WeakOperatorPassword(f"at most {MAX_PASSWORD_LENGTH} characters")


class OperatorPasswords:
    """Hashes and verifies operator passwords with one set of argon2 parameters."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        # Made at the first login of an unknown account, not at start (a hash costs ~0.1 s).
        self._dummy: str | None = None

    def hash(self, password: str) -> str:
        """The PHC string of ``password`` (argon2id, random salt)."""
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """True if ``password`` matches; ``None`` (unknown account) costs as much and fails."""
        if len(password) > MAX_PASSWORD_LENGTH:
            return False
        try:
            if password_hash is None:
                if self._dummy is None:
                    self._dummy = self._hasher.hash("csms dummy password for unknown accounts")
                self._hasher.verify(self._dummy, password)
                return False
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
