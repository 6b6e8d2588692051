"""CSMS_COST_UPDATE_INTERVAL and CSMS_COST_UPDATE_CONCURRENCY (issue 8 block I): defaults, read
from the environment, validated with the setting named; the interval is a `csms serve` flag."""

from __future__ import annotations

import pytest

from csms.cli import _apply_serve_flags, build_parser
from csms.config import Settings, SettingsError, load_settings


def test_cost_update_settings_defaults_and_environment() -> None:
    server = load_settings({}).server
    assert (server.cost_update_interval, server.cost_update_concurrency) == (60.0, 8)
    changed = load_settings(
        {"CSMS_COST_UPDATE_INTERVAL": "0", "CSMS_COST_UPDATE_CONCURRENCY": "2"}
    ).server
    assert (changed.cost_update_interval, changed.cost_update_concurrency) == (0.0, 2)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CSMS_COST_UPDATE_INTERVAL", "-1"),
        ("CSMS_COST_UPDATE_INTERVAL", "nan"),
        ("CSMS_COST_UPDATE_INTERVAL", "soon"),
        ("CSMS_COST_UPDATE_CONCURRENCY", "0"),
    ],
)
def test_bad_cost_update_settings_are_refused_naming_the_setting(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings({name: value})


def test_cost_update_interval_serve_flag() -> None:
    args = build_parser().parse_args(["serve", "--cost-update-interval", "15"])
    assert _apply_serve_flags(Settings(), args).server.cost_update_interval == 15.0
