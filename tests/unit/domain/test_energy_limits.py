"""Energy and register figures stay within what csms stores, so a transaction can always close."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from csms.blocks.transactions.sampled import samples_v2, samples_v16
from csms.domain.model import MeterSample
from csms.domain.transactions import (
    WH_MAX,
    WH_MIN,
    TransactionFlag,
    energy_wh,
    reading_wh,
    register_wh,
)

NOW = datetime(2024, 6, 1, 12, tzinfo=UTC)


def test_energy_beyond_64_bits_is_clamped_and_flagged() -> None:
    assert energy_wh(WH_MIN, WH_MAX) == (WH_MAX, {TransactionFlag.ENERGY_OUT_OF_RANGE})
    assert energy_wh(WH_MIN, 0) == (WH_MAX, {TransactionFlag.ENERGY_OUT_OF_RANGE})
    assert energy_wh(WH_MIN + 1, 0) == (WH_MAX, frozenset())
    assert energy_wh(100, 150) == (50, frozenset())
    assert energy_wh(WH_MAX, WH_MIN) == (0, {TransactionFlag.METER_STOP_BELOW_START})


@pytest.mark.parametrize(
    ("register", "expected"),
    [(12.9, 12), (-0.5, -1), (1e300, WH_MAX), (-1e300, WH_MIN), (float("inf"), WH_MAX)],
)
def test_a_register_reading_becomes_a_storable_whole_wh(register: float, expected: int) -> None:
    assert reading_wh(register) == expected


def test_an_overflowing_register_reading_is_no_register() -> None:
    sample = MeterSample(NOW, 1e308, "1e308", unit="kWh")  # 1e311 Wh is no float
    assert register_wh(sample) is None


def test_values_that_overflow_a_float_are_kept_raw_only() -> None:
    entry = {"timestamp": "2024-06-01T12:00:00Z"}
    [v2] = samples_v2(
        [{**entry, "sampledValue": [{"value": 12.5, "unitOfMeasure": {"multiplier": 309}}]}], NOW
    )
    assert (v2.value, v2.raw_value) == (None, "12.5")
    [tiny] = samples_v2(
        [{**entry, "sampledValue": [{"value": 12.5, "unitOfMeasure": {"multiplier": -400}}]}], NOW
    )
    assert tiny.value == 0.0
    [v16] = samples_v16([{**entry, "sampledValue": [{"value": "1e999"}]}], NOW)
    assert (v16.value, v16.raw_value) == (None, "1e999")
