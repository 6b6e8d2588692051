"""``csms loadtest`` against a real ``csms serve`` process on loopback (small fleets)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from csms.cli import main as csms_main
from csms.loadtest.config import LoadConfig, parse_version_mix
from csms.loadtest.report import render_text
from csms.loadtest.runner import run_loadtest

VENV_BIN = Path(sys.executable).parent
ALL_VERSIONS = parse_version_mix("1.6=1,2.0.1=1,2.1=1")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def ports() -> tuple[int, int]:
    """The test server's WebSocket and SOAP ports."""
    return _free_port(), _free_port()


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, ports: tuple[int, int]
) -> Iterator[tuple[str, int]]:
    """A ``csms serve`` subprocess that registers unknown stations (trust on first use), with
    OCPP over SOAP on the second port."""
    work = tmp_path_factory.mktemp("loadtest")
    port, soap_port = ports
    log = (work / "server.log").open("wb")
    proc = subprocess.Popen(
        [
            str(VENV_BIN / "csms"),
            "serve",
            "--port",
            str(port),
            "--no-api",
            "--database-url",
            f"sqlite+aiosqlite:///{work / 'csms.db'}",
            "--unknown-stations",
            "accept",
            "--registration-rate",
            "0",  # the fleets register from one address, faster than production allows
            "--no-compression",
            "--soap",
            "--soap-port",
            str(soap_port),
            "--log-level",
            "WARNING",
        ],
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            # The SOAP endpoint opens after the WebSocket one, its WSDL schemas compiled: only
            # then is csms idle and ready to be measured.
            for listening in (port, soap_port):
                socket.create_connection(("127.0.0.1", listening), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError((work / "server.log").read_text()) from None
            time.sleep(0.05)
    yield f"ws://127.0.0.1:{port}/ocpp", proc.pid
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=30)
    log.close()


def _run(url: str, tag: str, **options: Any) -> dict[str, Any]:
    config = LoadConfig(url=url, id_pattern=f"{tag}-{{n:04d}}", rate=200.0, **options)
    return run_loadtest(config, interval=0.5)


def test_idle_fleet_of_all_versions_boots_and_heartbeats(server: tuple[str, int]) -> None:
    url, _pid = server
    result = _run(
        url, "idle", stations=12, versions=ALL_VERSIONS, heartbeat_interval=0.4, duration=3.0,
        warmup=0.5, connectors=2,
    )  # fmt: skip
    assert result["errors_total"] == 0, result["errors"]
    assert result["boot"]["statuses"] == {"Accepted": 12}
    assert result["boot"]["all_accepted_after_s"] is not None
    assert result["connections"]["held_while_running"] == 12
    actions = result["actions"]
    assert actions["StatusNotification"]["answered"] == 24  # one per connector
    assert actions["Heartbeat"]["answered"] >= 12 * 4
    latency = actions["Heartbeat"]["latency_ms"]
    assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"] <= latency["max"]
    assert result["calls_per_s"] > 0


def test_charging_sessions_send_meter_values_and_transaction_events(
    server: tuple[str, int],
) -> None:
    url, _ = server
    result = _run(
        url, "chg", stations=9, versions=ALL_VERSIONS, charging=1.0, heartbeat_interval=5.0,
        meter_interval=0.3, session_length=1.0, start_stop_16=False, duration=3.0,
    )  # fmt: skip
    assert result["errors_total"] == 0, result["errors"]
    actions = result["actions"]
    assert actions["MeterValues"]["answered"] > 0  # 1.6
    assert actions["TransactionEvent"]["answered"] > 6 * 3  # 2.0.1 and 2.1: Started, Updated...
    # Sessions end and restart: StatusNotification Charging/Available beyond the boot ones.
    assert actions["StatusNotification"]["answered"] > 9


def test_15j_stations_charge_with_15_payloads(server: tuple[str, int]) -> None:
    """OCPP 1.5 over JSON: the 1.6 session spelled as 1.5; csms checks it against the 1.5
    schemas, so any payload the mapping got wrong would be a CALLERROR here."""
    url, _ = server
    result = _run(
        url, "j15", stations=3, versions=parse_version_mix("1.5"), charging=1.0,
        heartbeat_interval=5.0, meter_interval=0.3, session_length=0.8, start_stop_16=True,
        duration=2.5,
    )  # fmt: skip
    assert result["errors_total"] == 0, result["errors"]
    assert result["boot"]["statuses"] == {"Accepted": 3}
    actions = result["actions"]
    for action in ("StartTransaction", "MeterValues", "StopTransaction"):
        assert actions[action]["answered"] > 0, action


def test_soap_stations_charge_and_are_reported_apart(
    server: tuple[str, int], ports: tuple[int, int]
) -> None:
    """OCPP over SOAP (1.5s, 1.6s) beside 1.6J: the same scenario POSTed to csms's SOAP
    endpoint, its calls counted as soap:<action> rows and SOAP CALL/s."""
    url, _ = server
    result = _run(
        url, "soap", stations=6, versions=parse_version_mix("1.5s=1,1.6s=1,1.6=1"), charging=1.0,
        heartbeat_interval=0.5, meter_interval=0.3, session_length=0.8, duration=3.0, warmup=0.5,
        soap_url=f"http://127.0.0.1:{ports[1]}/ocpp/soap",
    )  # fmt: skip
    assert result["errors_total"] == 0, result["errors"]
    assert result["timeouts_total"] == 0
    assert result["boot"]["statuses"] == {"Accepted": 6}
    actions = result["actions"]
    for action in ("Heartbeat", "StartTransaction", "MeterValues", "StopTransaction"):
        assert actions[f"soap:{action}"]["answered"] > 0, action
        assert actions[action]["answered"] > 0, action  # the 1.6J stations, apart
    assert 0 < result["soap_calls_per_s"] < result["calls_per_s"]
    latency = actions["soap:Heartbeat"]["latency_ms"]
    assert 0 < latency["p50"] <= latency["max"]
    assert any(line.startswith("SOAP: ") for line in render_text(result))


def test_reconnect_storm_recovers_every_station(server: tuple[str, int]) -> None:
    url, _ = server
    result = _run(
        url, "storm", stations=20, versions=ALL_VERSIONS, heartbeat_interval=5.0,
        storm_after=1.5, retry_wait_min=0.0, retry_random_range=0.3, duration=4.0,
    )  # fmt: skip
    assert result["errors_total"] == 0, result["errors"]
    assert result["actions"]["BootNotification"]["answered"] == 40
    [episode] = result["episodes"]
    assert episode["seconds"] is not None and episode["boots_accepted"] == 20
    assert result["boot"]["accepted_at_end"] == 20


def test_refused_handshakes_are_counted_as_errors(server: tuple[str, int]) -> None:
    url, _ = server
    _run(url, "pw", stations=3, duration=1.0)  # registers the stations with their passwords
    result = _run(
        url, "pw", stations=3, password_secret="wrong", duration=1.5, retry_wait_min=0.1,
        retry_random_range=0.0,
    )  # fmt: skip
    assert result["boot"]["statuses"] == {}
    refused = result["connections"]["failed"]
    assert refused.get("http_401", 0) >= 3
    assert result["errors_total"] == sum(refused.values()) + result["connections"]["timeouts"]


def test_cli_with_workers_writes_json_and_meters_the_server(
    server: tuple[str, int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, pid = server
    out = tmp_path / "result.json"
    code = csms_main(
        [
            "loadtest",
            url,
            "-n",
            "10",
            "--workers",
            "2",
            "--versions",
            "1.6=1,2.0.1=1",
            "--heartbeat-interval",
            "0.5",
            "-d",
            "5",
            "--warmup",
            "1",
            "--id-pattern",
            "cli-{n:03d}",
            "--server-pid",
            str(pid),
            "--json",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    result = json.loads(out.read_text())
    assert result["workers"] == 2
    assert result["stations"] == 10
    assert result["boot"]["statuses"] == {"Accepted": 10}
    assert result["server"]["rss_start_mib"] > 0
    assert result["server"]["cpu_s"] >= 0
    text = capsys.readouterr().out
    assert "Heartbeat" in text and "p99" in text


def test_cli_exit_status_is_1_when_the_server_refuses(
    server: tuple[str, int], tmp_path: Path
) -> None:
    url, _ = server
    out = tmp_path / "refused.json"
    code = csms_main(
        [
            "loadtest",
            url,
            "-n",
            "2",
            "-d",
            "1",
            "--quiet",
            "--no-auth",
            "--id-pattern",
            "noauth-{n}",
            "--json",
            str(out),
        ]
    )
    assert code == 1
    result = json.loads(out.read_text())
    assert result["errors_total"] > 0
    assert result["connections"]["failed"].get("http_401", 0) >= 2  # profile 1 needs a password
