"""``csms token add|list`` and ``csms transaction open|close`` against a SQLite file."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from csms.cli import main
from csms.domain.model import RegistrationStatus, Station
from csms.domain.tokens import IdToken
from csms.domain.transactions import TransactionStart
from csms.storage import open_store
from tests.unit.storage.builders import T0, a_transaction_event, at


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
        "transaction\tversion\tstation\tevse/connector\tid_token\tstarted\tlast_activity"
        "\tenergy_wh",
    ]
    assert "needs an offset" in err and "UnknownTransaction" in err


def test_transaction_open_and_close_take_2x_transactions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """2.x transactionIds are text and unique per station only: listed with 1.6 ones, closed by
    id, ``--station`` choosing when the id is open on several stations (issue 7 finding 11)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'csms.db'}"

    async def prepare() -> int:
        store = await open_store(url)
        try:
            for sid in ("CS1", "CS2"):
                await store.stations.add(Station(sid, RegistrationStatus.ACCEPTED, created_at=T0))
            await store.tokens.put(IdToken("TAG-16"), T0)
            for sid in ("CS1", "CS2"):
                event = a_transaction_event(
                    0, "Started", sid, transaction_id="7", evse_id=1, connector_id=1,
                    id_token=f"TAG-{sid}",
                )  # fmt: skip
                await store.transactions.record_transaction_event(event)
            started = await store.charging.start(
                TransactionStart("CS1", 2, 1, "TAG-16", 100, at(30)), at(30)
            )
            return started.transaction_id
        finally:
            await store.aclose()

    tx16 = asyncio.run(prepare())
    db = ["--database-url", url]
    assert main(["transaction", "open", *db]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split("\t")[:4] == ["transaction", "version", "station", "evse/connector"]
    rows = sorted(tuple(line.split("\t")[:5]) for line in lines[1:])
    assert rows == sorted(
        [
            ("7", "2.x", "CS1", "1/1", "TAG-CS1"),
            ("7", "2.x", "CS2", "1/1", "TAG-CS2"),
            (str(tx16), "1.6", "CS1", "2/1", "TAG-16"),
        ]
    )
    close = ["transaction", "close", "--operator", "ops", "--reason", "station replaced", *db]
    assert main([*close[:2], "7", *close[2:]]) == 1
    assert "AmbiguousTransaction" in capsys.readouterr().err
    assert main([*close[:2], "7", "--station", "CS2", *close[2:]]) == 0
    assert main([*close[:2], "7", "--station", "CS2", *close[2:]]) == 1  # closed already
    assert main([*close[:2], str(tx16), *close[2:]]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        "transaction 7 of CS2 closed (OCPP 2.x)",
        f"transaction {tx16} of CS1 closed (OCPP 1.6, 0 Wh)",
    ]
    assert "TransactionNotOpen" in err
    assert main(["transaction", "open", "--station", "CS1", *db]) == 0
    [_, only] = capsys.readouterr().out.splitlines()
    assert only.split("\t")[:3] == ["7", "2.x", "CS1"]


def test_token_add_stores_a_range_from_a_pattern(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The tags `csms simulate --id-tags 'SIM-TAG-{n}'` taps, registered in one command."""
    db = ["--database-url", f"sqlite+aiosqlite:///{tmp_path / 'csms.db'}"]
    assert main(["token", "add", "T-{n}", "--count", "3", "--first", "8", *db]) == 0
    assert main(["token", "add", "T-{n}", *db]) == 2  # a pattern needs --count
    assert main(["token", "add", "PLAIN", "--count", "3", *db]) == 2  # --count needs {n}
    assert main(["token", "add", "T-{station}", "--count", "3", *db]) == 2
    assert main(["token", "list", *db]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        "tokens T-8 .. T-10 stored (3, accepted)",
        "T-10\tAccepted\t-\t-",
        "T-8\tAccepted\t-\t-",
        "T-9\tAccepted\t-\t-",
    ]
    assert "give --count" in err and "needs a pattern" in err and "only {n}" in err


def test_token_add_takes_the_2x_language_and_evse_restrictions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'csms.db'}"
    add = ["token", "add", "EV-1", "--language", "de", "--evse", "1", "--evse", "3"]
    assert main([*add, "--database-url", url]) == 0
    assert main(["token", "add", "EV-2", "--evse", "0", "--database-url", url]) == 2
    assert "EVSE ids are positive" in capsys.readouterr().err

    async def stored() -> IdToken | None:
        store = await open_store(url)
        try:
            return await store.tokens.get("ev-1")
        finally:
            await store.aclose()

    token = asyncio.run(stored())
    assert token is not None and (token.language, token.evse_ids) == ("de", (1, 3))


def test_token_add_keeps_the_2x_type(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'csms.db'}"
    assert main(["token", "add", "04A2", "--type", "ISO14443", "--database-url", url]) == 0
    with pytest.raises(SystemExit):  # argparse refuses a type that is never stored
        main(["token", "add", "X", "--type", "NoAuthorization", "--database-url", url])

    async def stored() -> IdToken | None:
        store = await open_store(url)
        try:
            return await store.tokens.get("04a2")
        finally:
            await store.aclose()

    token = asyncio.run(stored())
    assert token is not None and token.token_type == "ISO14443"
