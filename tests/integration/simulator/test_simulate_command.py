"""``csms simulate``: options parsing and a short mixed-version run against csms."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from csms.cli import build_parser
from csms.domain.model import UnknownStationPolicy
from csms.rpc.versions import OcppVersion
from csms.simulator import command
from tests.integration.harness import running_csms, settings_for


def test_versions_and_tls_options() -> None:
    assert command.parse_versions("1.6, 2.1,1.6") == (
        OcppVersion.V16,
        OcppVersion.V21,
        OcppVersion.V16,
    )
    with pytest.raises(ValueError, match="unknown OCPP version"):
        command.parse_versions("1.5")
    assert command.client_ssl("ws://h/ocpp", ca_file=None, insecure=False) is None
    context = command.client_ssl("wss://h/ocpp", ca_file=None, insecure=True)
    assert context is not None
    assert context.verify_mode is ssl.CERT_NONE
    assert context.minimum_version is ssl.TLSVersion.TLSv1_2


async def test_simulate_runs_a_mixed_fleet_and_reports(tmp_path: Path) -> None:
    settings = settings_for(
        tmp_path, security_profile=0, unknown_stations=UnknownStationPolicy.ACCEPT
    )
    async with running_csms(settings) as server:
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
            ]
        )
        lines: list[str] = []
        stats = await command.simulate(
            command.options_from(args), duration=1.5, terminal=False, write=lines.append
        )
        listed = {s.id: s.ocpp_version for s in await server.csms.store.stations.list()}  # type: ignore[union-attr]
    assert listed == {"SIM-1": "1.6", "SIM-2": "2.0.1", "SIM-3": "2.1"}
    assert stats.accepted == 3
    assert stats.transactions >= 3
    assert lines[-1].startswith("final: stations 3  connected 3  accepted 3")
