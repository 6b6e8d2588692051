"""The meter integrates power over time; reconnection waits follow the spec's back-off."""

from __future__ import annotations

import itertools
import random

import pytest

from csms.rpc.versions import OcppVersion
from csms.simulator.backoff import backoff_delays
from csms.simulator.meter import Meter, amps_to_watts
from csms.simulator.state import Evse, profile_limit_w


def test_meter_advances_with_power_and_never_goes_back() -> None:
    meter = Meter(energy_wh=1000.0)
    meter.advance(10.0)
    meter.set_power(7200.0, 10.0)
    assert meter.advance(10.0 + 3600 / 2) == pytest.approx(1000.0 + 3600.0)  # half an hour
    meter.set_power(0.0, 2000.0)
    assert meter.advance(9000.0) == pytest.approx(1000.0 + 7200.0 * (2000.0 - 10.0) / 3600)
    assert meter.advance(5.0) == meter.energy_wh  # a clock going backwards adds nothing
    assert meter.register_wh == int(meter.energy_wh)


def test_charging_profile_limits_the_power_drawn() -> None:
    evse = Evse(1, max_power_w=22_000.0)
    profile_a = {
        "stackLevel": 0,
        "chargingSchedule": {
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16}],
        },
    }
    profile_w = {
        "stackLevel": 1,
        "chargingSchedule": [
            {
                "id": 1,
                "chargingRateUnit": "W",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 5000}],
            }
        ],
    }
    assert profile_limit_w(profile_a) == amps_to_watts(16) == 16 * 230 * 3
    evse.profiles = {1: profile_a}
    evse.apply_profiles()
    assert evse.effective_power() == 11_040.0
    evse.profiles[2] = profile_w  # 2.x shape, higher stack level wins
    evse.apply_profiles()
    assert evse.effective_power() == 5000.0
    evse.profiles.clear()
    evse.apply_profiles()
    assert evse.effective_power() == 22_000.0


def test_2x_back_off_doubles_up_to_repeat_times_plus_random_range() -> None:
    waits = list(
        itertools.islice(
            backoff_delays(
                OcppVersion.V201,
                wait_minimum=2,
                random_range=3,
                repeat_times=2,
                rng=random.Random(1),
            ),
            6,
        )
    )
    bases = [2, 4, 8, 8, 8, 8]  # doubled twice, then kept (2.0.1 Part 4 §5.3)
    for wait, base in zip(waits, bases, strict=True):
        assert base <= wait <= base + 3
    assert len(set(waits)) == len(waits)  # a new random value every attempt


def test_16_back_off_is_randomised_around_a_doubling_base() -> None:
    waits = list(
        itertools.islice(
            backoff_delays(
                OcppVersion.V16,
                wait_minimum=4,
                random_range=0,
                repeat_times=3,
                rng=random.Random(2),
            ),
            5,
        )
    )
    for wait, base in zip(waits, [4, 8, 16, 32, 32], strict=True):
        assert base * 0.5 <= wait <= base * 1.5
