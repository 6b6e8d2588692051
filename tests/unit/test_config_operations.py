"""The message log's and readiness settings (issue 9): defaults, environment, refusals, CLI."""

from __future__ import annotations

import pytest

from csms.cli import _apply_serve_flags, build_parser
from csms.config import Settings, SettingsError, load_settings


def test_defaults() -> None:
    server = Settings().server
    assert server.message_log is True and server.message_log_payloads is True
    assert server.message_log_max_age == 7 * 24 * 3600
    assert server.message_log_max_rows == 1_000_000
    assert server.message_log_max_bytes == 512 * 1024 * 1024
    assert server.message_log_queue == 20_000
    assert (server.readiness_timeout, server.readiness_cache) == (2.0, 1.0)


def test_environment() -> None:
    server = load_settings(
        {
            "CSMS_MESSAGE_LOG": "off",
            "CSMS_MESSAGE_LOG_PAYLOADS": "off",
            "CSMS_MESSAGE_LOG_MAX_AGE": "3600",
            "CSMS_MESSAGE_LOG_MAX_ROWS": "1000",
            "CSMS_MESSAGE_LOG_MAX_BYTES": "1048576",
            "CSMS_MESSAGE_LOG_QUEUE": "100",
            "CSMS_READINESS_CACHE": "0",
        }
    ).server
    assert server.message_log is False and server.message_log_payloads is False
    assert (server.message_log_max_age, server.message_log_max_rows) == (3600, 1000)
    assert (server.message_log_max_bytes, server.message_log_queue) == (1048576, 100)
    assert server.readiness_cache == 0


@pytest.mark.parametrize(
    "environ",
    [
        {"CSMS_MESSAGE_LOG": "sometimes"},
        {"CSMS_MESSAGE_LOG_MAX_ROWS": "0"},
        {"CSMS_MESSAGE_LOG_MAX_BYTES": "-1"},
        {"CSMS_MESSAGE_LOG_QUEUE": "0"},
        {"CSMS_MESSAGE_LOG_MAX_AGE": "0"},
        {"CSMS_MESSAGE_LOG_PRUNE_INTERVAL": "-5"},
        {"CSMS_READINESS_TIMEOUT": "0"},
        {"CSMS_READINESS_CACHE": "-1"},
    ],
)
def test_bad_values_are_refused_with_the_setting_named(environ: dict[str, str]) -> None:
    [name] = environ
    with pytest.raises(SettingsError, match=name):
        load_settings(environ)


def test_serve_flag() -> None:
    args = build_parser().parse_args(["serve", "--message-log", "off"])
    assert _apply_serve_flags(Settings(), args).server.message_log is False
    args = build_parser().parse_args(["serve"])
    assert _apply_serve_flags(Settings(), args).server.message_log is True
