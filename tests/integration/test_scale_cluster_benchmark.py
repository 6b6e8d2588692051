"""Smoke run of the cluster benchmark (benchmarks/scale_cluster.py, issue 11): 200 stations on
`csms serve --workers 2` over a real PostgreSQL and nats-server, a short steady window, then a
restart of the supervisor; every station is counted online (API and NATS KV) and Accepted again,
none locked out, so the benchmark keeps working."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.postgres


@pytest.mark.timeout(180)
def test_cluster_benchmark_smoke(tmp_path: Path) -> None:
    out = tmp_path / "cluster.json"
    argv = [
        sys.executable, str(REPO_ROOT / "benchmarks" / "scale_cluster.py"), "-n", "200",
        "--workers", "2", "--loadtest-workers", "2", "--rate", "100", "--settle", "3",
        "--measure", "6", "--recover", "45", "--compress", "10", "--sample", "1",
        "--json", str(out),
    ]  # fmt: skip
    subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=170,
        check=True,
    )
    bench = json.loads(out.read_text())["benchmark"]
    assert bench["steady_accepted"] == 200
    assert bench["steady_presence_claims"] == bench["steady_api_online"] == 200
    if "after_storm_presence_claims" in bench:  # read 5 s after recovery, when a progress line
        # comes by then (on a loaded machine the short smoke run can end first)
        assert bench["after_storm_presence_claims"] == bench["after_storm_api_online"] == 200
    assert bench["storm"]["all_accepted_after_restart_s"] is not None
    assert bench["locked_out"] == 0
    # The stations honour csms's Retry-After, and resend what the restart left unanswered.
    assert bench["retry_after"]["honoured"] is True
    assert bench["connection_attempts"] >= 400 and bench["lost"] == 0
    assert bench["pg_write_rates"]["meter_values"]["inserts_per_s"] > 0
    assert set(bench["steady"]["cpu"]) >= {"csms", "loadtest", "postgres", "nats"}


@pytest.mark.timeout(150)
def test_cluster_benchmark_steady_state_only_with_its_profile(tmp_path: Path) -> None:
    """``--recover 0`` measures the steady state only (no restart): CPU per station-second and
    per CALL, PostgreSQL statements/commits and NATS messages per second, a py-spy summary of one
    worker (task s13_steady)."""
    out = tmp_path / "steady.json"
    spy = tmp_path / "steady.spy"
    argv = [
        sys.executable, str(REPO_ROOT / "benchmarks" / "scale_cluster.py"), "-n", "200",
        "--workers", "2", "--loadtest-workers", "1", "--rate", "100", "--settle", "3",
        "--measure", "8", "--recover", "0", "--compress", "10", "--sample", "1",
        "--charging", "0.5", "--json", str(out), "--profile", str(spy),
    ]  # fmt: skip
    subprocess.run(argv, capture_output=True, text=True, timeout=140, check=True)
    bench = json.loads(out.read_text())["benchmark"]
    assert bench["steady_accepted"] == 200
    assert "storm" not in bench and "supervisor_stop_s" not in bench  # no restart
    per_unit = bench["steady"]["per_unit"]
    assert per_unit["calls_per_s"] > 0
    assert per_unit["csms"]["us_per_station_s"] > 0 and per_unit["csms"]["us_per_call"] > 0
    rates = bench["pg_write_rates"]
    assert rates["statements_per_s"] > 0 and rates["commits_per_s"] > 0
    assert bench["nats_msgs_per_s"]["nodes_in_msgs"] > 0  # the charging stations' events
    assert bench["profile"]["samples"] > 0 and spy.with_suffix(".spy.txt").exists()


@pytest.mark.timeout(150)
def test_cluster_benchmark_memory_attribution_smoke(tmp_path: Path) -> None:
    """``--no-storm --tracemalloc plain`` (task s13_memory): the steady figures, then each
    worker's memory dump before and after the fleet, per station; no restart."""
    out = tmp_path / "memory.json"
    argv = [
        sys.executable, str(REPO_ROOT / "benchmarks" / "scale_cluster.py"), "-n", "100",
        "--workers", "2", "--loadtest-workers", "1", "--rate", "100", "--settle", "2",
        "--measure", "3", "--recover", "0", "--no-storm", "--tracemalloc", "plain",
        "--charging", "0", "--json", str(out),
    ]  # fmt: skip
    subprocess.run(argv, capture_output=True, text=True, timeout=140, check=True)
    bench = json.loads(out.read_text())["benchmark"]
    assert bench["steady_accepted"] == 100 and "supervisor_stop_s" not in bench
    memory = bench["memory_attribution"]
    assert memory["workers"] == 2
    assert memory["rss_bytes_per_station"] > 0 and memory["gc_objects_per_station"] > 10
