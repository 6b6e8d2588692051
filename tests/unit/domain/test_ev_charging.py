"""The schedule csms plans for an ISO 15118 EV's charging needs (2.0.1 K15), without sockets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from csms.domain.composite import CompositePeriod, CompositeSchedule
from csms.domain.ev_charging import NeedsError, exceeds, parse_needs, plan_schedule
from csms.domain.smartcharging import ChargingRateUnit, ChargingSchedule, ChargingSchedulePeriod

NOW = datetime(2026, 1, 1, 8, tzinfo=UTC)


def ac(energy: int = 22_080, tuples: int | None = None, phases: str = "AC_three_phase") -> dict:
    payload: dict = {
        "evseId": 1,
        "chargingNeeds": {
            "requestedEnergyTransfer": phases,
            "acChargingParameters": {
                "energyAmount": energy,
                "evMinCurrent": 6,
                "evMaxCurrent": 32,
                "evMaxVoltage": 400,
            },
        },
    }
    if tuples is not None:
        payload["maxScheduleTuples"] = tuples
    return payload


def limits(*periods: tuple[int, float | None], duration: int = 4 * 3600) -> CompositeSchedule:
    return CompositeSchedule(
        1,
        NOW,
        duration,
        ChargingRateUnit.A,
        tuple(CompositePeriod(start, limit) for start, limit in periods),
    )


def test_levelled_to_the_departure_time() -> None:
    """22.08 kWh in 4 h on 3 × 230 V is 8 A: the lowest level that delivers it."""
    plan = plan_schedule(parse_needs(ac(), NOW + timedelta(hours=4)), limits((0, None)))
    assert [(p.start_period, p.limit) for p in plan.schedule.periods] == [(0, 8.0)]
    assert plan.meets_energy
    assert plan.schedule.start_schedule == NOW and plan.schedule.duration == 4 * 3600


def test_never_below_the_ev_minimum_current() -> None:
    plan = plan_schedule(parse_needs(ac(energy=1000), NOW + timedelta(hours=4)), limits((0, None)))
    assert plan.schedule.periods[0].limit == 6


def test_a_lower_limit_later_raises_the_level_before_it() -> None:
    """2 h at most 4 A: the first 2 h carry the rest, at 12 A (within 16 A)."""
    plan = plan_schedule(parse_needs(ac(), NOW + timedelta(hours=4)), limits((0, 16), (7200, 4)))
    assert [(p.start_period, p.limit) for p in plan.schedule.periods] == [(0, 12.0), (7200, 4)]
    assert plan.meets_energy


def test_too_much_energy_takes_every_limit() -> None:
    plan = plan_schedule(
        parse_needs(ac(energy=10**6), NOW + timedelta(hours=4)), limits((0, 16), (3600, 20))
    )
    assert [p.limit for p in plan.schedule.periods] == [16, 20]
    assert not plan.meets_energy


def test_max_schedule_tuples_merged_at_the_lower_limit() -> None:
    plan = plan_schedule(
        parse_needs(ac(energy=10**6, tuples=2), None),
        limits((0, 16), (600, 15), (1200, 20), (1800, 10)),
    )
    periods = plan.schedule.periods
    assert len(periods) == 2
    assert [p.limit for p in periods] == [15, 10]


def test_dc_in_watts_and_2_1_v2x_parameters() -> None:
    payload = {
        "evseId": 1,
        "chargingNeeds": {
            "requestedEnergyTransfer": "DC",
            "controlMode": "ScheduledControl",
            "v2xChargingParameters": {"maxChargePower": 50_000, "evTargetEnergyRequest": 40_000},
            "dcChargingParameters": {"evMaxCurrent": 125, "evMaxVoltage": 400},
        },
    }
    needs = parse_needs(payload, NOW + timedelta(hours=2))
    assert needs.unit is ChargingRateUnit.W and needs.max_rate == 50_000
    plan = plan_schedule(needs, limits((0, 100), duration=7200))  # 100 A × 230 V × 3 = 69 kW
    assert plan.schedule.periods[0].limit == 20_000


@pytest.mark.parametrize(
    "charging",
    [
        {"requestedEnergyTransfer": "AC_single_phase"},
        {"requestedEnergyTransfer": "DC", "acChargingParameters": {}},
        {"requestedEnergyTransfer": "WPT"},
    ],
)
def test_parameters_that_do_not_fit_the_transfer(charging: dict) -> None:
    with pytest.raises(NeedsError):
        parse_needs({"evseId": 1, "chargingNeeds": charging}, None)


def test_ev_schedule_checked_against_the_sent_one() -> None:
    sent = ChargingSchedule(
        ChargingRateUnit.A,
        (ChargingSchedulePeriod(0, 16), ChargingSchedulePeriod(3600, 8)),
        duration=7200,
        start_schedule=NOW,
    )
    assert exceeds(sent, NOW, [(0, 16, None), (3600, 8, None)], ChargingRateUnit.A) is None
    excess = exceeds(sent, NOW, [(0, 16, None)], ChargingRateUnit.A)  # 16 A past the hour
    assert excess is not None and excess.start == NOW + timedelta(hours=1)
    in_watts = [(0, 11_000, 3), (3600, 5_500, 3)]  # 15.9 A, then 8 A
    assert exceeds(sent, NOW, in_watts, ChargingRateUnit.W) is None
    assert exceeds(sent, NOW, [(0, 12_000, 3), (3600, 0, 3)], ChargingRateUnit.W) is not None


def test_2_1_ac_needs_from_v2x_parameters_only() -> None:
    """ISO 15118-20 AC (2.1): no acChargingParameters; the V2X ones give the limits."""
    payload = {
        "evseId": 1,
        "chargingNeeds": {
            "requestedEnergyTransfer": "AC_BPT",
            "controlMode": "ScheduledControl",
            "mobilityNeedsMode": "EVCC",
            "v2xChargingParameters": {"maxChargePower": 11_040, "evTargetEnergyRequest": 22_080},
        },
    }
    needs = parse_needs(payload, NOW + timedelta(hours=4))
    assert (needs.unit, needs.phases, needs.max_rate) == (ChargingRateUnit.A, 3, 16.0)
    plan = plan_schedule(needs, limits((0, None)))
    assert plan.schedule.periods[0].limit == 8.0
