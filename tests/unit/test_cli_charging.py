"""``csms token add|list`` and ``csms transaction open|close`` against a SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest

from csms.cli import main


def test_token_and_transaction_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'csms.db'}"
    assert (
        main(
            [
                "token",
                "add",
                "Tag-1",
                "--parent",
                "G",
                "--expiry",
                "2030-01-01T00:00:00Z",
                "--database-url",
                url,
            ]
        )
        == 0
    )
    assert main(["token", "add", "B", "--status", "blocked", "--database-url", url]) == 0
    assert (
        main(["token", "add", "C", "--expiry", "2030-01-01T00:00:00", "--database-url", url]) == 2
    )
    assert main(["token", "list", "--database-url", url]) == 0
    assert main(["transaction", "open", "--inactive-hours", "1", "--database-url", url]) == 0
    assert (
        main(
            [
                "transaction",
                "close",
                "7",
                "--operator",
                "me",
                "--reason",
                "x",
                "--database-url",
                url,
            ]
        )
        == 1
    )
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        "token Tag-1 stored (Accepted)",
        "token B stored (Blocked)",
        "B\tBlocked\t-\t-",
        "Tag-1\tAccepted\t2030-01-01T00:00:00+00:00\tG",
        "transaction\tversion\tstation\tevse/connector\tid_token\tstarted\tlast_activity",
    ]
    assert "needs an offset" in err and "UnknownTransaction" in err
