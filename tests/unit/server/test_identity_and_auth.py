"""Identity parsing and Basic auth parsing, without sockets (budgets: test_admission.py)."""

from __future__ import annotations

import base64

import pytest

from csms.server.auth import basic_auth_password
from csms.server.identity import identity_from_path


@pytest.mark.parametrize(
    ("path", "identity"),
    [
        ("/ocpp/CS001", "CS001"),
        ("/ocpp/RDAM%20123", "RDAM 123"),
        ("/ocppj/RDAM%20123?x=1", "RDAM 123"),
        ("/a/b/c/CS-1", "CS-1"),
        ("/CS1", "CS1"),
        ("/ocpp/%2541", "%41"),  # decoded exactly once
        ("/ocpp/", None),
        ("/", None),
        ("/ocpp/" + "x" * 48, "x" * 48),
        ("/ocpp/" + "x" * 49, None),
        ("/ocpp/a%3Ab", None),  # ':' is the Basic auth separator (2.0.1 Part 4 §3.1.1)
        ("/ocpp/a%2Fb", None),
        ("/ocpp/a%0Ab", None),
        ("/ocpp/%ff", None),  # not UTF-8
    ],
)
def test_identity_from_path(path: str, identity: str | None) -> None:
    """1.6 §3.1.1: the identity is the last path segment, percent-decoded once."""
    assert identity_from_path(path) == identity


def _basic(raw: bytes) -> str:
    return "Basic " + base64.b64encode(raw).decode()


@pytest.mark.parametrize(
    ("header", "password"),
    [
        (_basic(b"CS1:secret"), b"secret"),
        (_basic(b"CS1:pass:with:colons"), b"pass:with:colons"),
        (_basic(b"CS1:\xff\x00\x01:"), b"\xff\x00\x01:"),
        (_basic(b"CS1:"), b""),
        ("basic " + base64.b64encode(b"CS1:x").decode(), b"x"),
        (_basic(b"CS2:secret"), None),  # username is not the identity (A00.FR.204)
        (_basic(b"CS1secret"), None),
        ("Bearer abc", None),
        ("Basic", None),
        ("Basic !!!", None),
        ("", None),
        (None, None),
    ],
)
def test_basic_auth_password(header: str | None, password: bytes | None) -> None:
    """ocpp-rules.md §2.2: strip "identity:" and keep the rest as bytes."""
    assert basic_auth_password(header, "CS1") == password
