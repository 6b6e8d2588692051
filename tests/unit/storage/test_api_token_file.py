"""The generated API token: created once (0600, digest only), rotated atomically, re-read by a
running csms within RECHECK_INTERVAL."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from csms.storage.api_token_file import RECHECK_INTERVAL, ApiTokenFile, ApiTokenFileError


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_first_ensure_creates_a_private_digest_and_returns_the_token(tmp_path: Path) -> None:
    stored = ApiTokenFile(tmp_path / "var")
    token = stored.ensure()
    assert token is not None and len(token) >= 43  # 256 bits, URL-safe base64
    assert stat.S_IMODE(stored.path.stat().st_mode) == 0o600
    assert token not in stored.path.read_text()
    assert stored.path.read_text().startswith("sha256:")
    assert stored.verify(token)
    assert not stored.verify(token + "x") and not stored.verify("")
    # Later starts find it and show nothing; the token keeps working.
    again = ApiTokenFile(tmp_path / "var")
    assert again.ensure() is None
    assert again.verify(token)


def test_rotation_is_seen_by_a_running_reader(tmp_path: Path) -> None:
    clock = Clock()
    running = ApiTokenFile(tmp_path, clock=clock)
    old = running.ensure()
    assert old is not None and running.verify(old)
    new = ApiTokenFile(tmp_path).rotate()
    assert running.verify(new)  # a new token works at once
    clock.now += RECHECK_INTERVAL
    assert not running.verify(old)  # the old one within RECHECK_INTERVAL
    assert stat.S_IMODE(running.path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["api-token"]  # no temporary left behind


def test_a_removed_or_corrupt_file_refuses_every_token(tmp_path: Path) -> None:
    clock = Clock()
    running = ApiTokenFile(tmp_path, clock=clock)
    token = running.ensure()
    assert token is not None
    running.path.write_text("garbage\n")
    clock.now += RECHECK_INTERVAL
    assert not running.verify(token)
    running.path.unlink()
    assert not running.verify(token)
    with pytest.raises(ApiTokenFileError, match="api-token"):
        (tmp_path / "api-token").write_text("sha256:zz\n")
        ApiTokenFile(tmp_path).ensure()
