"""CSMS_EV_CHARGING_SCHEDULES / CSMS_EV_SCHEDULE_STACK_LEVEL (issue 8 K15-K17): read from the
environment, validated with the setting named, and the `csms serve` flag."""

from __future__ import annotations

import pytest

from csms.cli import _apply_serve_flags, build_parser
from csms.config import Settings, SettingsError, load_settings


def test_ev_charging_schedules_default_on_and_from_the_environment() -> None:
    settings = load_settings({})
    assert settings.server.ev_charging_schedules is True
    assert settings.server.ev_schedule_stack_level == 0
    off = load_settings(
        {"CSMS_EV_CHARGING_SCHEDULES": "false", "CSMS_EV_SCHEDULE_STACK_LEVEL": "3"}
    )
    assert off.server.ev_charging_schedules is False
    assert off.server.ev_schedule_stack_level == 3
    with pytest.raises(SettingsError, match="CSMS_EV_SCHEDULE_STACK_LEVEL"):
        load_settings({"CSMS_EV_SCHEDULE_STACK_LEVEL": "-1"})


def test_no_ev_charging_schedules_serve_flag() -> None:
    args = build_parser().parse_args(["serve", "--no-ev-charging-schedules"])
    assert _apply_serve_flags(Settings(), args).server.ev_charging_schedules is False
    args = build_parser().parse_args(["serve"])
    assert _apply_serve_flags(Settings(), args).server.ev_charging_schedules is True
