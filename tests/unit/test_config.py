"""Settings from the environment: conversions and refusals."""

from __future__ import annotations

import pytest

from csms.config import SettingsError, load_settings
from csms.domain.model import UnknownStationPolicy


def test_defaults_are_secure() -> None:
    """Profile 1 and unknown stations rejected unless an operator says otherwise."""
    settings = load_settings({})
    assert settings.server.security_profile == 1
    assert settings.server.unknown_stations is UnknownStationPolicy.REJECT
    assert settings.server.host == "127.0.0.1"
    assert settings.database.url.startswith("sqlite+aiosqlite:///")


def test_environment_overrides() -> None:
    settings = load_settings(
        {
            "CSMS_PORT": "9100",
            "CSMS_PING_INTERVAL": "none",
            "CSMS_COMPRESSION": "off",
            "CSMS_UNKNOWN_STATIONS": "Pending",
            "CSMS_DATABASE_URL": "postgresql+asyncpg://u@h/db",
            "CSMS_API_PORT": "8181",
            "CSMS_API_TOKEN": "t0ken-0123456789abcdef",
            "CSMS_LOG_LEVEL": "DEBUG",
        }
    )
    assert settings.server.port == 9100
    assert settings.server.ping_interval is None
    assert settings.server.compression is False
    assert settings.server.unknown_stations is UnknownStationPolicy.PENDING
    assert settings.database.url == "postgresql+asyncpg://u@h/db"
    assert settings.api.port == 8181 and settings.api.token == "t0ken-0123456789abcdef"
    assert settings.log.level == "DEBUG"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"CSMS_PORT": "abc"}, "CSMS_PORT"),
        ({"CSMS_PORT": "70000"}, "CSMS_PORT"),
        ({"CSMS_COMPRESSION": "maybe"}, "CSMS_COMPRESSION"),
        ({"CSMS_UNKNOWN_STATIONS": "sometimes"}, "CSMS_UNKNOWN_STATIONS"),
        ({"CSMS_SECURITY_PROFILE": "4"}, "CSMS_SECURITY_PROFILE"),
        ({"CSMS_SECURITY_PROFILE": "3"}, "profile 3 needs CSMS_TLS_CERT"),
        ({"CSMS_SECURITY_PROFILE": "2"}, "profile 2"),
        ({"CSMS_TLS_CERT": "/x.pem"}, "together"),
        ({"CSMS_MAX_MESSAGE_SIZE": "1000"}, "CSMS_MAX_MESSAGE_SIZE"),
        ({"CSMS_LISTEN_BACKLOG": "abc"}, "CSMS_LISTEN_BACKLOG"),
        ({"CSMS_LISTEN_BACKLOG": "0"}, "CSMS_LISTEN_BACKLOG"),
        ({"CSMS_BOOT_PACING_RATE": "-5"}, "CSMS_BOOT_PACING_RATE"),
        ({"CSMS_MAX_PROTOCOL_VIOLATIONS": "0"}, "CSMS_MAX_PROTOCOL_VIOLATIONS"),
        ({"CSMS_PROTOCOL_VIOLATION_WINDOW": "0"}, "CSMS_PROTOCOL_VIOLATION_WINDOW"),
        ({"CSMS_LOG_RATE_BURST": "0"}, "CSMS_LOG_RATE_BURST"),
        ({"CSMS_LOG_RATE_INTERVAL": "-1"}, "CSMS_LOG_RATE_INTERVAL"),
        ({"CSMS_API_COMMAND_JOB_MAX_STATIONS": "0"}, "CSMS_API_COMMAND_JOB_MAX_STATIONS"),
        ({"CSMS_API_COMMAND_JOB_CONCURRENCY": "-1"}, "CSMS_API_COMMAND_JOB_CONCURRENCY"),
        ({"CSMS_API_COMMAND_JOBS_MAX_RUNNING": "0"}, "CSMS_API_COMMAND_JOBS_MAX_RUNNING"),
        ({"CSMS_API_COMMAND_JOB_RETENTION_DAYS": "0"}, "CSMS_API_COMMAND_JOB_RETENTION_DAYS"),
        ({"CSMS_API_COMMAND_JOBS_MAX_KEPT": "x"}, "CSMS_API_COMMAND_JOBS_MAX_KEPT"),
        ({"CSMS_STOP_CLOSE_BATCH": "0"}, "CSMS_STOP_CLOSE_BATCH"),
        ({"CSMS_STOP_CLOSE_TIMEOUT": "0"}, "CSMS_STOP_CLOSE_TIMEOUT"),
        ({"CSMS_STOP_CLOSE_TIMEOUT": "61"}, "CSMS_STOP_CLOSE_TIMEOUT"),
    ],
)
def test_bad_values_are_refused_with_the_setting_named(
    environ: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(environ)


def test_log_rate_and_violation_settings() -> None:
    """Issue 7 finding 5: documented defaults, overridable from the environment."""
    default = load_settings({})
    assert (default.server.max_protocol_violations, default.server.protocol_violation_window) == (
        50,
        60.0,
    )
    assert (default.log.rate_burst, default.log.rate_interval) == (5, 60.0)
    custom = load_settings(
        {
            "CSMS_MAX_PROTOCOL_VIOLATIONS": "10",
            "CSMS_PROTOCOL_VIOLATION_WINDOW": "5",
            "CSMS_LOG_RATE_BURST": "2",
            "CSMS_LOG_RATE_INTERVAL": "30",
        }
    )
    assert custom.server.max_protocol_violations == 10
    assert custom.server.protocol_violation_window == 5.0
    assert (custom.log.rate_burst, custom.log.rate_interval) == (2, 30.0)


def test_command_job_max_stations_from_the_command_line() -> None:
    from csms.cli import _apply_serve_flags, build_parser
    from csms.config import Settings

    args = build_parser().parse_args(["serve", "--command-job-max-stations", "5000"])
    settings = _apply_serve_flags(Settings(), args)
    assert settings.api.command_job_max_stations == 5000
    zero = build_parser().parse_args(["serve", "--command-job-max-stations", "0"])
    with pytest.raises(SettingsError, match="CSMS_API_COMMAND_JOB_MAX_STATIONS"):
        _apply_serve_flags(Settings(), zero)


def test_sqlite_writer_thread_setting() -> None:
    """Storage fast path (issue 11 item 5): on by default, off by env, a bad value refused."""
    assert load_settings({}).database.sqlite_writer_thread is True
    off = load_settings({"CSMS_DATABASE_SQLITE_WRITER_THREAD": "false"})
    assert off.database.sqlite_writer_thread is False
    with pytest.raises(SettingsError, match="CSMS_DATABASE_SQLITE_WRITER_THREAD"):
        load_settings({"CSMS_DATABASE_SQLITE_WRITER_THREAD": "maybe"})
