"""Options of ``csms loadtest``: URL, version mix, charging share."""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter

import pytest

from csms.loadtest.command import add_parser, config_from_args
from csms.loadtest.config import (
    ConfigError,
    LoadConfig,
    Target,
    is_charging,
    parse_version_mix,
    version_for,
)
from csms.loadtest.engine import Engine


def test_version_mix_is_proportional_and_deterministic() -> None:
    mix = parse_version_mix("1.6=50,2.0.1=30,2.1=20")
    counts = Counter(version_for(i, mix) for i in range(10_000))
    assert abs(counts["1.6"] - 5_000) < 50
    assert abs(counts["2.0.1"] - 3_000) < 50
    assert abs(counts["2.1"] - 2_000) < 50
    assert [version_for(i, mix) for i in range(20)] == [version_for(i, mix) for i in range(20)]


def test_single_version_and_bad_mixes() -> None:
    assert parse_version_mix("2.1") == (("2.1", 1.0),)
    assert parse_version_mix("1.5") == (("1.5", 1.0),)  # OCPP 1.5 over JSON
    for bad in ("1.4", "1.6=x", "1.6=0", "1.6=-1"):
        with pytest.raises(ConfigError):
            parse_version_mix(bad)


def test_charging_share() -> None:
    assert sum(is_charging(i, 0.1) for i in range(10_000)) in range(950, 1051)
    assert not any(is_charging(i, 0.0) for i in range(100))
    assert all(is_charging(i, 1.0) for i in range(100))


def test_target_url() -> None:
    t = Target.parse("ws://127.0.0.1:9000/ocpp/")
    assert (t.host, t.port, t.path, t.host_header) == ("127.0.0.1", 9000, "/ocpp", "127.0.0.1:9000")
    assert Target.parse("wss://csms.example.com/ocpp").port == 443
    with pytest.raises(ConfigError):
        Target.parse("http://x/ocpp")


def test_check_refuses_impossible_runs() -> None:
    LoadConfig(url="ws://h/ocpp").check()
    for bad in (
        LoadConfig(url="ws://h/ocpp", stations=0),
        LoadConfig(url="ws://h/ocpp", charging=1.5),
        LoadConfig(url="ws://h/ocpp", warmup=10, duration=5),
        LoadConfig(url="ws://h/ocpp", id_pattern="{x}"),
    ):
        with pytest.raises(ConfigError):
            bad.check()


def test_the_report_does_not_record_passwords() -> None:
    data = LoadConfig(url="ws://h/ocpp", password="secret-{id}", password_secret="s3").to_dict()
    assert "secret-{id}" not in str(data)
    assert "s3" not in str(data)


def test_soap_versions_and_their_url() -> None:
    mix = parse_version_mix("1.5s=1,1.6s=1")
    soap_only = LoadConfig(url="http://h:8080/soap", versions=mix)
    soap_only.check()  # no WebSocket station: the URL may be the SOAP one
    assert soap_only.soap_target() == "http://h:8080/soap"
    assert (soap_only.has_soap, soap_only.has_json) == (True, False)
    mixed = LoadConfig(url="wss://h/ocpp", versions=parse_version_mix("1.6s,2.0.1"))
    assert mixed.soap_target() == "https://h:9001/"
    assert (
        LoadConfig(url="ws://h/", soap_url="http://s/", versions=mix).soap_target() == "http://s/"
    )
    with pytest.raises(ConfigError, match="ws://"):
        LoadConfig(url="http://h/", versions=parse_version_mix("1.6s,1.6")).check()
    with pytest.raises(ConfigError, match="SOAP URL"):
        LoadConfig(url="ws://h/", soap_url="ftp://h/", versions=mix).check()


def test_measure_for_ends_the_window_and_a_signal_ends_the_run() -> None:
    """``--measure-for`` closes the measured window before the run ends (a storm after it stays
    out of the latencies); ``finish_early`` (SIGINT/SIGTERM) ends a run long before --duration."""

    async def measured(config: LoadConfig, finish_after: float | None = None) -> float:
        engine = Engine(config, range(0))
        if finish_after is not None:
            asyncio.get_running_loop().call_later(finish_after, engine.finish_early)
        return float((await engine.run(interval=0.02))["measured_s"])

    window = LoadConfig(url="ws://h/ocpp", duration=0.4, warmup=0.05, measure_for=0.1)
    assert asyncio.run(measured(window)) == pytest.approx(0.1, abs=0.03)
    with pytest.raises(ConfigError):
        LoadConfig(url="ws://h/ocpp", measure_for=0).check()
    began = time.monotonic()
    endless = LoadConfig(url="ws://h/ocpp", duration=30.0, warmup=0.0)
    asyncio.run(measured(endless, finish_after=0.1))
    assert time.monotonic() - began < 5.0


def test_retry_after_is_honoured_unless_told_not_to() -> None:
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    on = config_from_args(parser.parse_args(["loadtest", "ws://127.0.0.1:9/ocpp"]))
    off = config_from_args(
        parser.parse_args(["loadtest", "ws://127.0.0.1:9/ocpp", "--no-honour-retry-after"])
    )
    assert on.honour_retry_after and not off.honour_retry_after
    assert on.to_dict()["honour_retry_after"] is True
