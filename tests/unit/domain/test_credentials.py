"""Station password hashing and the forms a 1.6 AuthorizationKey takes on the wire."""

from __future__ import annotations

import pytest

from csms.domain.credentials import (
    WeakPassword,
    check_password_strength,
    hash_password,
    password_candidates,
    verify_password,
)
from csms.domain.identity import InvalidIdentity, check_identity, is_valid_identity


def test_hash_is_salted_and_verifies() -> None:
    """A01.FR.06–09: only a salted hash is stored; it verifies the password and nothing else."""
    first, second = hash_password(b"0123456789abcdef"), hash_password(b"0123456789abcdef")
    assert first != second
    assert "0123456789abcdef" not in first
    assert verify_password(b"0123456789abcdef", first)
    assert not verify_password(b"0123456789abcdeF", first)


@pytest.mark.parametrize("stored", ["", "sha256$", "sha256$zz$00", "md5$00$00", "a$b$c$d"])
def test_malformed_hashes_never_verify(stored: str) -> None:
    assert not verify_password(b"anything-at-all!", stored)


@pytest.mark.parametrize(("length", "ok"), [(15, False), (16, True), (40, True), (41, False)])
def test_password_strength(length: int, ok: bool) -> None:
    """A00.FR.205; BasicAuthPassword is 16–40 characters."""
    if ok:
        check_password_strength(b"x" * length)
    else:
        with pytest.raises(WeakPassword):
            check_password_strength(b"x" * length)


def test_authorization_key_forms() -> None:
    """1.6 whitepaper A00.FR.205: a key may arrive as hex text or as its decoded bytes."""
    key = bytes(range(1, 21))
    assert key in password_candidates(key.hex().encode())
    assert key.hex().encode() in password_candidates(key)
    assert password_candidates(b"plain") == [b"plain"]


@pytest.mark.parametrize(
    ("identity", "valid"),
    [
        ("CS1", True),
        ("x" * 48, True),
        ("", False),
        ("x" * 49, False),
        ("a:b", False),
        ("a/b", False),
        ("a\nb", False),
        ("RDAM 123", True),
    ],
)
def test_identity_rule(identity: str, valid: bool) -> None:
    """2.0.1 Part 4 §3.1.1: 1–48 characters, no ':'."""
    assert is_valid_identity(identity) is valid
    if not valid:
        with pytest.raises(InvalidIdentity):
            check_identity(identity)
