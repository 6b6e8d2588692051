"""``csms simulate``: options parsing and a short mixed-version run against csms."""

from __future__ import annotations

import asyncio
import ssl
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from csms.cli import build_parser
from csms.domain.model import UnknownStationPolicy
from csms.rpc.versions import OcppVersion
from csms.simulator import command
from csms.storage import open_store
from csms.storage.tables import boot_notifications, meter_values, transaction_events
from csms.storage.tables_charging import transactions_v16
from tests.integration.harness import csms_serve, free_port, running_csms, settings_for
from tests.integration.simulator.helpers import SIM_TAGS, allow_tags, make_agent, running
from tests.integration.tls import make_server_certificate


def test_versions_and_tls_options() -> None:
    assert command.parse_versions("1.6, 2.1,1.6") == (
        OcppVersion.V16,
        OcppVersion.V21,
        OcppVersion.V16,
    )
    assert command.parse_versions("1.5,1.5j,1.6") == ("1.5", "1.5", OcppVersion.V16)  # 1.5J
    with pytest.raises(ValueError, match="unknown OCPP version"):
        command.parse_versions("1.4")
    # OCPP over SOAP, and the J names of the JSON versions.
    assert command.parse_versions("1.5s,1.6S,1.6j,2.0.1j") == (
        "1.5s",
        "1.6s",
        OcppVersion.V16,
        OcppVersion.V201,
    )
    parser = build_parser()

    def soap_url(*argv: str) -> str | None:
        return command.options_from(parser.parse_args(["simulate", *argv])).soap_url

    assert soap_url("ws://h:9000/ocpp", "--versions", "1.6s") == "http://h:9001/"
    assert soap_url("wss://h/ocpp", "--versions", "1.6s,1.6") == "https://h:9001/"
    assert soap_url("http://h:8080/soap", "--versions", "1.5s") == "http://h:8080/soap"
    assert soap_url("ws://h/", "--versions", "1.5s", "--soap-url", "https://s/") == "https://s/"
    with pytest.raises(ValueError, match="ws:// or wss://"):
        soap_url("http://h/", "--versions", "1.5s,1.6")  # JSON stations need a ws:// URL
    with pytest.raises(ValueError, match="--soap-url must start with http"):
        soap_url("ws://h/", "--versions", "1.5s", "--soap-url", "ws://h/")
    assert command.client_ssl("ws://h/ocpp", ca_file=None, insecure=False) is None
    assert command.client_ssl("https://h/", ca_file=None, insecure=False) is not None
    context = command.client_ssl("wss://h/ocpp", ca_file=None, insecure=True)
    assert context is not None
    assert context.verify_mode is ssl.CERT_NONE
    assert context.minimum_version is ssl.TLSVersion.TLSv1_2
    slow = command.options_from(parser.parse_args(["simulate", "ws://h/", "--scenario", "slow"]))
    assert slow.response_delay == command.SLOW_DELAY
    quick = command.options_from(parser.parse_args(["simulate", "ws://h/", "--id-tags", "A, B"]))
    assert quick.response_delay == 0.0
    assert quick.id_tags == ("A", "B")


@pytest.mark.parametrize("terminal", [False, True], ids=["log-lines", "tty"])
async def test_simulate_runs_a_mixed_fleet_and_reports(tmp_path: Path, terminal: bool) -> None:
    settings = settings_for(
        tmp_path, security_profile=0, unknown_stations=UnknownStationPolicy.ACCEPT
    )
    async with running_csms(settings) as server:
        await allow_tags(server, *SIM_TAGS)
        args = build_parser().parse_args(
            [
                "simulate",
                server.ocpp_url,
                "-n",
                "3",
                "--meter-interval",
                "0.1",
                "--charge-time",
                "0.3",
                "--idle-time",
                "0.1",
                "--ramp",
                "0",
                "--id-tags",
                ",".join(SIM_TAGS),
            ]
        )
        lines: list[str] = []
        stats = await command.simulate(
            command.options_from(args), duration=1.5, terminal=terminal, write=lines.append
        )
        listed = {s.id: s.ocpp_version for s in await server.csms.store.stations.list()}  # type: ignore[union-attr]
    assert listed == {"SIM-1": "1.6", "SIM-2": "2.0.1", "SIM-3": "2.1"}
    assert stats.accepted == 3
    assert stats.transactions >= 3
    final = lines[-1].lstrip("\n")
    assert final.startswith("final: stations 3  connected 3  accepted 3")
    if terminal:  # one line redrawn in place every second
        assert lines[0].startswith("\r\x1b[Kstations 3")
        assert len(lines) >= 2
    else:  # a summary only every 10 s: a 1.5 s run prints just the final line
        assert lines == [final]


async def test_simulate_speaks_ocpp15_over_json(tmp_path: Path) -> None:
    """``--versions 1.5``: OCPP 1.5 over JSON, which the ``ocpp`` package cannot drive."""
    settings = settings_for(
        tmp_path, security_profile=0, unknown_stations=UnknownStationPolicy.ACCEPT
    )
    async with running_csms(settings) as server:
        await allow_tags(server, *SIM_TAGS)
        args = build_parser().parse_args(
            [
                "simulate", server.ocpp_url, "-n", "2", "--versions", "1.5,1.6",
                "--meter-interval", "0.1", "--charge-time", "0.3", "--idle-time", "0.1",
                "--ramp", "0", "--id-tags", ",".join(SIM_TAGS),
            ]
        )  # fmt: skip
        stats = await command.simulate(
            command.options_from(args), duration=1.5, terminal=False, write=lambda _: None
        )
        listed = {s.id: s.ocpp_version for s in await server.csms.store.stations.list()}  # type: ignore[union-attr]
    assert listed == {"SIM-1": "1.5", "SIM-2": "1.6"}
    assert stats.accepted == 2
    assert stats.transactions >= 2
    assert not stats.errors, stats.errors


async def test_simulated_station_over_tls_with_basic_auth(tmp_path: Path) -> None:
    """Security profile 2: wss:// verified against the CA file, Basic auth password."""
    ca, cert, key = make_server_certificate(tmp_path)
    settings = settings_for(tmp_path, security_profile=2, tls_cert=str(cert), tls_key=str(key))
    async with running_csms(settings) as server:
        await server.add_station("SIM-TLS")
        url = server.ocpp_url.replace("ws://", "wss://")
        context = command.client_ssl(url, ca_file=str(ca), insecure=False)
        agent = make_agent(url, "SIM-TLS", OcppVersion.V201, ssl=context)
        async with running(agent):
            station = await server.csms.store.stations.get("SIM-TLS")  # type: ignore[union-attr]
            assert station is not None
            assert station.online
        wrong = make_agent(url, "SIM-TLS", OcppVersion.V201, ssl=context, password=b"not-it-at-all")
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.5):
                await wrong.run()
        assert wrong.stats.failed_connects >= 1
        assert not wrong.connected.is_set()


async def test_csms_simulate_process_charges_against_a_csms_serve_process(tmp_path: Path) -> None:
    """Both sides as users run them: `csms simulate` (1.6 and 2.0.1 stations, charge scenario)
    against `csms serve`; what csms stored is read back from its database afterwards."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'csms.db'}"
    port = free_port()
    token = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "csms", "token", "add", "CARD-7", "--database-url", url
    )  # the driver's RFID tag, known to csms
    assert await token.wait() == 0
    async with csms_serve(url, port, tmp_path / "csms.log"):
        simulate = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "csms", "simulate", f"ws://127.0.0.1:{port}/ocpp",
            "-n", "2", "--versions", "1.6,2.0.1", "--evses", "1", "--scenario", "charge",
            "--charge-time", "1.5", "--idle-time", "0.3", "--meter-interval", "0.4",
            "--ramp", "0", "--duration", "4", "--id-tags", "CARD-7",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        output, _ = await asyncio.wait_for(simulate.communicate(), timeout=30)
        assert simulate.returncode == 0, output.decode(errors="replace")
    store = await open_store(url)
    try:
        async with store.engine.connect() as conn:
            boots = await conn.scalar(sa.select(sa.func.count()).select_from(boot_notifications))
            started_16 = await conn.scalar(sa.select(sa.func.count()).select_from(transactions_v16))
            events_2x = await conn.scalar(
                sa.select(sa.func.count()).select_from(transaction_events)
            )
            samples = await conn.scalar(sa.select(sa.func.count()).select_from(meter_values))
    finally:
        await store.aclose()
    assert boots == 2
    assert started_16 >= 1 and events_2x >= 2  # a 1.6 session; a 2.0.1 Started + more
    assert samples > 0
    assert b"final:" in output
