"""Events settings (issue 9): environment, flags, validation."""

from __future__ import annotations

import pytest

from csms.cli import _apply_serve_flags, build_parser
from csms.config import Settings, SettingsError, load_settings


def test_environment_settings_survive_the_serve_flags() -> None:
    settings = load_settings({"CSMS_EVENTS_REPLAY_SIZE": "50", "CSMS_EVENTS_METER_INTERVAL": "0"})
    served = _apply_serve_flags(settings, build_parser().parse_args(["serve"]))
    assert (served.events.replay_size, served.events.meter_interval) == (50, 0.0)


def test_flags() -> None:
    argv = ["serve", "--events-max-streams", "7", "--webhook-allow-http", "--webhook-block-private"]
    events = _apply_serve_flags(Settings(), build_parser().parse_args(argv)).events
    assert (events.max_streams, events.webhook_allow_http, events.webhook_block_private) == (
        7,
        True,
        True,
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("CSMS_EVENTS_QUEUE_SIZE", "0", "CSMS_EVENTS_QUEUE_SIZE: at least 1"),
        ("CSMS_EVENTS_WEBHOOK_TIMEOUT", "0", "CSMS_EVENTS_WEBHOOK_TIMEOUT: seconds, more than 0"),
        ("CSMS_EVENTS_METER_INTERVAL", "-1", "CSMS_EVENTS_METER_INTERVAL: seconds, 0 or more"),
        ("CSMS_EVENTS_WEBHOOK_ALLOW_HTTP", "maybe", "expected true or false"),
    ],
)
def test_bad_values_are_refused_naming_the_setting(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings({name: value})
