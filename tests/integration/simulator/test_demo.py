"""``csms serve --demo N``: N simulated stations beside the server, registered and charging."""

from __future__ import annotations

from pathlib import Path

from csms.cli import build_parser
from csms.container import DEMO_TAGS
from tests.integration.harness import running_csms, settings_for
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
