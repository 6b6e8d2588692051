"""``csms serve --demo N``: N simulated stations beside the server, registered and charging."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path

from csms.cli import build_parser
from csms.container import DEMO_TAGS
from tests.integration.harness import free_port, running_csms, settings_for
from tests.integration.simulator.helpers import tables, wait_for_rows
from tests.integration.tls import make_server_certificate


def test_serve_takes_demo_and_simulate_its_options() -> None:
    parser = build_parser()
    assert parser.parse_args(["serve", "--demo", "3"]).demo == 3
    args = parser.parse_args(
        ["simulate", "ws://127.0.0.1:9000/ocpp", "-n", "5", "--versions", "1.6,2.1"]
    )
    assert (args.count, args.versions, args.scenario) == (5, "1.6,2.1", "charge")


async def test_demo_stations_connect_boot_and_charge(tmp_path: Path) -> None:
    async with running_csms(settings_for(tmp_path)) as server:
        await server.csms.start_demo(3)  # registers DEMO_TAGS as tokens itself
        ids = ["DEMO-1", "DEMO-2", "DEMO-3"]
        versions = []
        for sid in ids:
            boots = await wait_for_rows(server, tables.boot_notifications, sid, bool)
            assert boots[0].status == "Accepted"
            station = await wait_for_rows(server, tables.stations, sid, lambda r: r and r[0].online)
            versions.append(station[0].ocpp_version)
        assert sorted(versions) == ["1.6", "2.0.1", "2.1"]
        # Every demo station starts a charging session at once.
        history = await wait_for_rows(
            server,
            tables.status_history,
            "DEMO-2",
            lambda r: any(h.status == "Occupied" for h in r),
        )
        assert history[0].status == "Available"
        events = await wait_for_rows(server, tables.transaction_events, "DEMO-2", bool)
        assert events[0].event_type == "Started"
        assert server.csms.store is not None
        assert all([await server.csms.store.tokens.get(tag) for tag in DEMO_TAGS])


async def test_demo_over_tls(tmp_path: Path) -> None:
    """Security profile 2: the demo stations reach their own wss:// listener over loopback."""
    _, cert, key = make_server_certificate(tmp_path)
    settings = settings_for(tmp_path, security_profile=2, tls_cert=str(cert), tls_key=str(key))
    async with running_csms(settings) as server:
        await server.csms.start_demo(1, prefix="TLSDEMO-")
        station = await wait_for_rows(
            server, tables.stations, "TLSDEMO-1", lambda r: r and r[0].online
        )
        assert station[0].ocpp_version == "1.6"


def _v16_transactions(db: Path) -> list[tuple[int, str, bool, str | None]]:
    """(id, idTag status, open, closed_by) of every 1.6 transaction, oldest first."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        try:
            rows = conn.execute(
                "SELECT id, id_tag_status, ended_at IS NULL, closed_by "
                "FROM transactions_v16 ORDER BY id"
            ).fetchall()
        except sqlite3.OperationalError:  # not migrated yet
            return []
    return [(int(i), s, bool(o), c) for i, s, o, c in rows]


async def _until(check: Callable[[], bool], what: str, log: Path) -> None:
    for _ in range(100):  # 20 s
        if check():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{what}: {_text(log)[-3000:]}")


def _text(log: Path) -> str:
    return log.read_text(errors="replace")


async def test_the_demo_charges_again_after_ctrl_c_and_a_restart(tmp_path: Path) -> None:
    """Issue 7 finding 11: Ctrl-C of `csms serve --demo` mid-session, then a restart: the demo
    stations boot and report their connectors Available, which ends the sessions they lost, so
    their drivers' tags are not ConcurrentTx and a new session is Accepted at once."""
    db = tmp_path / "csms.db"
    log = tmp_path / "serve.log"
    argv = [
        sys.executable, "-m", "csms", "serve", "--port", str(free_port()), "--no-api",
        "--database-url", f"sqlite+aiosqlite:///{db}", "--data-dir", str(tmp_path / "data"),
        "--demo", "1",
    ]  # fmt: skip

    def charging(sessions: int) -> Callable[[], bool]:
        def check() -> bool:
            found = _v16_transactions(db)
            return len(found) == sessions and found[-1][1:3] == ("Accepted", True)

        return check

    for run in (1, 2):
        with log.open("ab") as out:
            proc = await asyncio.create_subprocess_exec(
                *argv, stdout=out, stderr=asyncio.subprocess.STDOUT
            )
        try:
            # DEMO-1 (OCPP 1.6) starts a 90 s session as soon as it is accepted.
            await _until(charging(run), f"run {run}: an accepted session", log)
        finally:
            proc.send_signal(signal.SIGINT)  # Ctrl-C mid-session
            await asyncio.wait_for(proc.wait(), timeout=30)
    first, second = _v16_transactions(db)
    assert first[2:] == (False, "csms")  # closed as abandoned on the restart
    assert second[1:] == ("Accepted", True, None)  # charging again
    assert "closed as abandoned" in _text(log)
