"""`csms serve --workers N` (issue 11 item 1): the setting, its refusals, and the supervisor with
stand-in workers (spawned processes that report, die or wait; no NATS, no database)."""

from __future__ import annotations

import dataclasses
import logging
import signal
import time

import pytest

from csms import cli_workers
from csms.cli import _apply_serve_flags as apply_serve_flags
from csms.cli import build_parser, main
from csms.cli_workers import restart_delay, supervise, worker_node_id, worker_settings
from csms.config import ClusterSettings, Settings, SettingsError, load_settings
from tests.unit.worker_targets import (
    cannot_start,
    dies_once_then_stops_everything,
    ignores_sigterm,
)

CLUSTER = {
    "CSMS_CLUSTER_URL": "nats://127.0.0.1:4222",
    "CSMS_DATABASE_URL": "postgresql://csms@127.0.0.1/csms",
}


def test_one_process_by_default() -> None:
    settings = load_settings({})
    assert (settings.server.workers, settings.server.reuse_port) == (1, False)


def test_environment_and_flag() -> None:
    assert load_settings({**CLUSTER, "CSMS_WORKERS": "4"}).server.workers == 4
    args = build_parser().parse_args(["serve", "--workers", "3"])
    assert apply_serve_flags(load_settings(CLUSTER), args).server.workers == 3


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"CSMS_WORKERS": "0"}, "CSMS_WORKERS (--workers): 1 to 256"),
        ({"CSMS_WORKERS": "2"}, "needs CSMS_CLUSTER_URL (--cluster-url) and a PostgreSQL"),
        (
            {"CSMS_WORKERS": "2", "CSMS_CLUSTER_URL": "nats://127.0.0.1:4222"},
            "SQLite is one process",
        ),
        ({**CLUSTER, "CSMS_WORKERS": "2", "CSMS_PORT": "0"}, "CSMS_PORT (--port): the workers"),
        ({**CLUSTER, "CSMS_WORKERS": "2", "CSMS_API_PORT": "0"}, "CSMS_API_PORT (--api-port)"),
        ({**CLUSTER, "CSMS_WORKERS": "2", "CSMS_CLUSTER_NODE_ID": "n" * 49}, "at most 48"),
        ({"CSMS_REUSE_PORT": "true"}, "CSMS_REUSE_PORT: processes sharing a port must be"),
    ],
)
def test_bad_values_are_refused_naming_the_setting(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(env)
    assert named in str(refused.value)


def test_the_cli_refuses_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--workers", "2", "--database-url", "sqlite:///x.db"])
    assert exited.value.code == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "csms: error: CSMS_WORKERS (--workers): more than one worker needs CSMS_CLUSTER_URL "
        "(--cluster-url) and a PostgreSQL CSMS_DATABASE_URL (--database-url); SQLite is one process"
    ]


def test_worker_settings_and_names() -> None:
    settings = load_settings({**CLUSTER, "CSMS_WORKERS": "2", "CSMS_CLUSTER_NODE_ID": "gw"})
    one = worker_settings(settings, worker_node_id("gw", 2, 1))
    assert (one.server.workers, one.server.reuse_port, one.database.migrate) == (1, True, False)
    assert one.cluster.node_id == "gw-w2"
    assert worker_node_id("gw", 2, 3) == "gw-w2-3"  # a new node at each start


@pytest.mark.parametrize(
    ("workers", "budget", "each"), [(7, "500", 72), (2, "500", 250), (3, "1", 1), (4, "0", 0)]
)
def test_the_hosts_handshake_budget_is_split_over_the_workers(
    workers: int, budget: str, each: int
) -> None:
    env = {**CLUSTER, "CSMS_WORKERS": str(workers), "CSMS_MAX_HANDSHAKES": budget}
    assert worker_settings(load_settings(env), "gw-w1").server.max_handshakes == each  # 0: off


@pytest.mark.parametrize(
    ("workers", "backlog", "each"),
    [(7, "4096", 586), (1, "4096", 4096), (8, "512", 128), (2, "100", 100)],
)
def test_the_hosts_listen_backlog_is_split_over_the_workers(
    workers: int, backlog: str, each: int
) -> None:
    env = {**CLUSTER, "CSMS_WORKERS": str(workers), "CSMS_LISTEN_BACKLOG": backlog}
    assert worker_settings(load_settings(env), "gw-w1").server.listen_backlog == each


def test_restart_back_off_doubles_up_to_its_cap() -> None:
    assert [restart_delay(n) for n in (1, 2, 3, 4, 5, 6, 7)] == [1, 2, 4, 8, 16, 30, 30]


# ------------------------------------------------------------------------ the supervisor


def _settings(workers: int) -> Settings:
    settings = load_settings({**CLUSTER, "CSMS_WORKERS": str(workers)})
    return dataclasses.replace(settings, cluster=ClusterSettings(url=CLUSTER["CSMS_CLUSTER_URL"]))


def test_a_worker_that_cannot_start_stops_all_with_one_line() -> None:
    status, line = supervise(_settings(3), cannot_start)
    assert status == 1
    assert line == "worker 1 could not start: CSMS_PORT: w1 cannot listen"


def test_a_dead_worker_is_started_again_and_sigterm_stops_all(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(cli_workers, "RESTART_BACKOFF", 0.1)
    caplog.set_level(logging.INFO, "csms.workers")
    previous = signal.getsignal(signal.SIGTERM)
    assert supervise(_settings(2), dies_once_then_stops_everything) == (0, None)
    assert signal.getsignal(signal.SIGTERM) == previous  # the supervisor's handlers are gone
    messages = [r.getMessage() for r in caplog.records]
    died = [m for m in messages if m.startswith("worker 2 (pid")]
    assert len(died) == 1 and "exited with status 3" in died[0] and "again in 0.1 s" in died[0]
    assert any(m.startswith("worker 2 started again (start 2, node ") for m in messages)
    assert "stopping 2 workers" in messages


def test_a_worker_that_does_not_stop_is_killed_after_the_stop_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """CSMS_WORKER_STOP_TIMEOUT (task s12_admission): the supervisor's wait, a setting now."""
    settings = _settings(1)
    settings = dataclasses.replace(
        settings, server=dataclasses.replace(settings.server, worker_stop_timeout=1.0)
    )
    caplog.set_level(logging.INFO, "csms.workers")
    started = time.monotonic()
    assert supervise(settings, ignores_sigterm) == (1, None)
    assert time.monotonic() - started < 20  # not the 60 s default
    assert "worker 1 did not stop in time: killed" in [r.getMessage() for r in caplog.records]
