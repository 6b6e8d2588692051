"""``csms user add|list|disable|enable`` and ``csms api-token create|list|revoke`` on a SQLite file."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest

from csms.cli import main
from csms.domain.api_credentials import token_digest
from csms.storage import open_store


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CSMS_API_PASSWORD_HASH_MEMORY", "1024")  # cheap hashes in tests
    monkeypatch.setenv("CSMS_API_PASSWORD_HASH_TIME", "1")
    return f"sqlite+aiosqlite:///{tmp_path / 'csms.db'}"


def _run(args: list[str], url: str, monkeypatch: pytest.MonkeyPatch, stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main([*args, "--database-url", url])


async def _token_state(url: str, token: str) -> tuple[str, bool, bool]:
    store = await open_store(url)
    try:
        found = await store.accounts.token_by_digest(token_digest(token))
        assert found is not None
        record, account = found
        return record.role.value, record.revoked_at is not None, account.enabled
    finally:
        await store.aclose()


def test_user_and_token_lifecycle(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    add = ["user", "add", "alice", "--role", "operator", "--password-stdin"]
    assert _run(add, url, monkeypatch, "correct horse battery\n") == 0
    assert _run(add, url, monkeypatch, "correct horse battery\n") == 1  # exists
    assert "exists" in capsys.readouterr().err
    assert _run(["user", "add", "bob", "--password-stdin"], url, monkeypatch, "short\n") == 1
    assert "10 characters" in capsys.readouterr().err
    assert _run(["user", "list"], url, monkeypatch) == 0
    listing = capsys.readouterr().out
    assert "alice" in listing and "operator" in listing and "argon2" not in listing

    too_high = ["api-token", "create", "--user", "alice", "--role", "admin"]
    assert _run(too_high, url, monkeypatch) == 1
    capsys.readouterr()
    assert (
        _run(["api-token", "create", "--user", "alice", "--role", "viewer"], url, monkeypatch) == 0
    )
    token = capsys.readouterr().out.strip()
    assert token.startswith("csms_at_") and "\n" not in token  # alone on stdout
    assert asyncio.run(_token_state(url, token)) == ("viewer", False, True)

    assert _run(["api-token", "list", "--user", "alice"], url, monkeypatch) == 0
    assert token not in capsys.readouterr().out  # never shown again
    assert _run(["api-token", "revoke", "1"], url, monkeypatch) == 0
    assert asyncio.run(_token_state(url, token)) == ("viewer", True, True)
    assert _run(["api-token", "revoke", "99"], url, monkeypatch) == 1

    assert _run(["user", "disable", "alice"], url, monkeypatch) == 0
    assert asyncio.run(_token_state(url, token))[2] is False
    assert _run(["user", "disable", "nobody"], url, monkeypatch) == 1
