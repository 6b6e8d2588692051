"""The composite schedule (1.6 §3.13) against hand-worked examples and a brute-force reference."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from csms.domain.composite import (
    CompositePeriod,
    CompositeSchedule,
    compare,
    composite_schedule,
    convert,
)
from csms.domain.smartcharging import (
    ChargingProfile,
    ChargingProfileKind,
    ChargingProfilePurpose,
    ChargingRateUnit,
    ChargingSchedule,
    ChargingSchedulePeriod,
    RecurrencyKind,
)

A, W = ChargingRateUnit.A, ChargingRateUnit.W
MAX, DEFAULT, TX = (
    ChargingProfilePurpose.STATION_MAX,
    ChargingProfilePurpose.TX_DEFAULT,
    ChargingProfilePurpose.TX,
)
START = datetime(2024, 5, 1, 6, 0, tzinfo=UTC)


def a_profile(
    periods: list[tuple[int, float]] | list[tuple[int, float, int | None]],
    *,
    id: int = 1,
    level: int = 0,
    purpose: ChargingProfilePurpose = DEFAULT,
    kind: ChargingProfileKind = ChargingProfileKind.ABSOLUTE,
    unit: ChargingRateUnit = A,
    duration: int | None = None,
    start_schedule: datetime | None = START,
    recurrency: RecurrencyKind | None = None,
    valid_from: datetime | None = None,
    valid_to: datetime | None = None,
    transaction_id: str | None = None,
) -> ChargingProfile:
    return ChargingProfile(
        id=id,
        stack_level=level,
        purpose=purpose,
        kind=kind,
        schedule=ChargingSchedule(
            charging_rate_unit=unit,
            periods=tuple(ChargingSchedulePeriod(*p) for p in periods),
            duration=duration,
            start_schedule=start_schedule,
        ),
        recurrency_kind=recurrency,
        valid_from=valid_from,
        valid_to=valid_to,
        transaction_id=transaction_id,
    )


def limits(schedule: CompositeSchedule) -> list[tuple[int, float | None]]:
    return [(p.start_period, p.limit) for p in schedule.periods]


def test_the_daily_default_profile_of_section_3_13_7() -> None:
    """TxDefaultProfile 100: 11 kW, 6 kW from 08:00 to 20:00, every day since 2013-01-01."""
    profile = a_profile(
        [(0, 11000, 3), (28800, 6000, 3), (72000, 11000, 3)],
        id=100,
        kind=ChargingProfileKind.RECURRING,
        recurrency=RecurrencyKind.DAILY,
        unit=W,
        duration=86400,
        start_schedule=datetime(2013, 1, 1, tzinfo=UTC),
    )
    day = composite_schedule([(1, profile)], evse_id=1, start=START, duration=86400)
    assert day.charging_rate_unit is W  # the profile's unit when none is asked for
    # From 06:00: 11 kW until 08:00, 6 kW until 20:00, then 11 kW through midnight to 06:00.
    assert limits(day) == [(0, 11000), (7200, 6000), (50400, 11000)]
    in_amps = composite_schedule(
        [(1, profile)], evse_id=1, start=START, duration=86400, charging_rate_unit=A
    )
    # A = W / (230 V x 3 phases), rounded to 0.1.
    assert limits(in_amps) == [(0, 15.9), (7200, 8.7), (50400, 15.9)]
    assert {p.number_phases for p in in_amps.periods} == {3}


def test_a_higher_stack_level_prevails_and_falls_back_after_its_duration() -> None:
    """§3.13.2 and errata 3.7: the level-1 profile ends after an hour, then level 0 applies."""
    base = a_profile([(0, 16)], id=1, level=0)
    boost = a_profile([(0, 10)], id=2, level=1, duration=3600)
    schedule = composite_schedule([(1, base), (1, boost)], evse_id=1, start=START, duration=7200)
    assert limits(schedule) == [(0, 10), (3600, 16)]


def test_without_a_duration_the_highest_level_never_falls_back() -> None:
    base = a_profile([(0, 16)], id=1, level=0)
    forever = a_profile([(0, 10)], id=2, level=1)
    schedule = composite_schedule([(1, base), (1, forever)], evse_id=1, start=START, duration=86400)
    assert limits(schedule) == [(0, 10)]


def test_validity_bounds_decide_which_profile_prevails() -> None:
    base = a_profile([(0, 16)], id=1, level=0)
    window = a_profile(
        [(0, 10)],
        id=2,
        level=5,
        valid_from=START + timedelta(seconds=1800),
        valid_to=START + timedelta(seconds=5400),
    )
    schedule = composite_schedule([(1, base), (1, window)], evse_id=1, start=START, duration=7200)
    assert limits(schedule) == [(0, 16), (1800, 10), (5400, 16)]


def test_a_schedule_that_starts_later_leaves_a_gap_without_limit() -> None:
    later = a_profile([(0, 10), (600, 20)], start_schedule=START + timedelta(seconds=300))
    schedule = composite_schedule([(1, later)], evse_id=1, start=START, duration=1200)
    assert limits(schedule) == [(0, None), (300, 10), (900, 20)]


def test_tx_profile_overrules_the_default_only_during_its_transaction() -> None:
    default = a_profile([(0, 16)], id=1, purpose=DEFAULT)
    tx = a_profile([(0, 8)], id=2, purpose=TX, transaction_id="42")
    profiles = [(1, default), (1, tx)]
    no_tx = composite_schedule(profiles, evse_id=1, start=START, duration=600)
    assert limits(no_tx) == [(0, 16)]
    in_tx = composite_schedule(
        profiles, evse_id=1, start=START, duration=600, transaction_start=START, transaction_id="42"
    )
    assert limits(in_tx) == [(0, 8)]
    other_tx = composite_schedule(
        profiles, evse_id=1, start=START, duration=600, transaction_start=START, transaction_id="7"
    )
    assert limits(other_tx) == [(0, 16)]


def test_tx_profile_prevails_even_above_a_lower_default() -> None:
    """TxProfile overrules TxDefaultProfile (§3.13.1); the minimum is only taken with the cap."""
    default = a_profile([(0, 6)], id=1, purpose=DEFAULT, level=9)
    tx = a_profile([(0, 20)], id=2, purpose=TX, level=0)
    schedule = composite_schedule(
        [(1, default), (1, tx)], evse_id=1, start=START, duration=60, transaction_start=START
    )
    assert limits(schedule) == [(0, 20)]


def test_the_station_max_profile_caps_every_connector() -> None:
    """§3.13.3: the minimum of the cap and the transaction's limit, whatever their units."""
    cap = a_profile([(0, 6900), (1800, 13800)], id=1, purpose=MAX, unit=W)  # 10 A, then 20 A
    tx = a_profile([(0, 16), (3600, 8)], id=2, purpose=DEFAULT)
    schedule = composite_schedule(
        [(0, cap), (1, tx)], evse_id=1, start=START, duration=7200, charging_rate_unit=A
    )
    assert limits(schedule) == [(0, 10), (1800, 16), (3600, 8)]
    grid = composite_schedule([(0, cap), (1, tx)], evse_id=0, start=START, duration=7200)
    assert grid.charging_rate_unit is W
    assert limits(grid) == [(0, 6900), (1800, 13800)]


def test_a_station_max_profile_set_on_a_connector_is_ignored() -> None:
    stray = a_profile([(0, 1)], purpose=MAX)
    schedule = composite_schedule([(1, stray)], evse_id=1, start=START, duration=60)
    assert limits(schedule) == [(0, None)]


def test_a_connector_default_replaces_the_station_wide_one_at_its_stack_level() -> None:
    """§3.13.1: a TxDefaultProfile for connector N replaces the one for 0 for N only."""
    everywhere = a_profile([(0, 32)], id=1, level=0)
    everywhere_high = a_profile([(0, 12)], id=3, level=2, duration=600)
    connector_2 = a_profile([(0, 16)], id=2, level=0)
    profiles = [(0, everywhere), (0, everywhere_high), (2, connector_2)]
    one = composite_schedule(profiles, evse_id=1, start=START, duration=1200)
    two = composite_schedule(profiles, evse_id=2, start=START, duration=1200)
    assert limits(one) == [(0, 12), (600, 32)]
    assert limits(two) == [(0, 12), (600, 16)]


def test_relative_profiles_start_with_the_transaction() -> None:
    relative = a_profile(
        [(0, 6), (900, 16)], kind=ChargingProfileKind.RELATIVE, start_schedule=None
    )
    started = START - timedelta(seconds=600)
    schedule = composite_schedule(
        [(1, relative)], evse_id=1, start=START, duration=1200, transaction_start=started
    )
    assert limits(schedule) == [(0, 6), (300, 16)]
    idle = composite_schedule([(1, relative)], evse_id=1, start=START, duration=1200)
    assert limits(idle) == [(0, 6), (900, 16)]


def test_weekly_recurrence() -> None:
    monday = datetime(2024, 4, 29, tzinfo=UTC)  # START is Wednesday 06:00
    weekly = a_profile(
        [(0, 10), (2 * 86400 + 7 * 3600, 20)],  # from Wednesday 07:00
        kind=ChargingProfileKind.RECURRING,
        recurrency=RecurrencyKind.WEEKLY,
        start_schedule=monday - timedelta(weeks=3),
    )
    schedule = composite_schedule([(1, weekly)], evse_id=1, start=START, duration=7 * 86400)
    # Wednesday 07:00 → 20 A until the next Monday 00:00 (5 days minus 6 hours after START).
    assert limits(schedule) == [(0, 10), (3600, 20), (5 * 86400 - 6 * 3600, 10)]


def test_a_recurring_schedule_shorter_than_its_period_leaves_gaps() -> None:
    nightly = a_profile(
        [(0, 10)],
        kind=ChargingProfileKind.RECURRING,
        recurrency=RecurrencyKind.DAILY,
        duration=3600,
        start_schedule=datetime(2024, 1, 1, 22, 0, tzinfo=UTC),
    )
    schedule = composite_schedule([(1, nightly)], evse_id=1, start=START, duration=86400)
    assert limits(schedule) == [(0, None), (16 * 3600, 10), (17 * 3600, None)]


def test_a_recurring_profile_does_not_apply_before_its_first_start() -> None:
    future = a_profile(
        [(0, 10)],
        kind=ChargingProfileKind.RECURRING,
        recurrency=RecurrencyKind.DAILY,
        start_schedule=START + timedelta(hours=1),
    )
    schedule = composite_schedule([(1, future)], evse_id=1, start=START, duration=7200)
    assert limits(schedule) == [(0, None), (3600, 10)]


def test_conversion_uses_the_number_of_phases_and_the_voltage() -> None:
    assert convert(16, A, W, 3) == 11040
    assert convert(16, A, W, 1) == 3680
    assert convert(16, A, W, None) == 11040  # absent → 3 phases (§7.12)
    assert convert(3680, W, A, 1) == 16
    assert convert(3680, W, A, 1, voltage=110) == 33.5
    assert convert(7.5, A, A, 1) == 7.5


def test_the_composite_never_exceeds_any_applicable_limit_random() -> None:
    """Against a brute-force reading of §3.13.2/3.13.3, evaluated second by second."""
    rng = random.Random(20261201)
    for _ in range(150):
        profiles = [_random_profile(rng, i) for i in range(rng.randint(1, 6))]
        placed = [(0 if p.purpose is MAX else rng.choice([0, 1]), p) for p in profiles]
        placed = [(e, p) for e, p in placed if not (p.purpose is TX and e == 0)]
        tx_start = (
            START - timedelta(seconds=rng.choice([0, 300, 1200])) if rng.random() < 0.6 else None
        )
        schedule = composite_schedule(
            placed, evse_id=1, start=START, duration=3600, charging_rate_unit=A,
            transaction_start=tx_start,
        )  # fmt: skip
        for t in range(0, 3600, 10):
            expected = _reference(placed, t, tx_start)
            period = schedule.period_at(t)
            assert period is not None
            assert period.limit == expected, (t, placed, tx_start)


def _random_profile(rng: random.Random, index: int) -> ChargingProfile:
    purpose = rng.choice([MAX, DEFAULT, DEFAULT, TX])
    kind = rng.choice(list(ChargingProfileKind))
    starts = sorted({0, *(rng.randrange(10, 3000, 10) for _ in range(rng.randint(0, 3)))})
    periods = [(s, float(rng.randint(6, 32)), rng.choice([1, 3, None])) for s in starts]
    shift = rng.randrange(-3000, 3000, 10)
    return a_profile(
        periods,  # type: ignore[arg-type]
        id=index,
        level=rng.randint(0, 3) * 10 + index,  # unique per purpose, as a station keeps them
        purpose=purpose,
        kind=kind,
        unit=rng.choice([A, W]),
        duration=rng.choice([None, rng.randrange(60, 4000, 10)]),
        start_schedule=START + timedelta(seconds=shift) if rng.random() < 0.8 else None,
        recurrency=RecurrencyKind.DAILY if kind is ChargingProfileKind.RECURRING else None,
        valid_from=START + timedelta(seconds=rng.randrange(-600, 1800, 10))
        if rng.random() < 0.3
        else None,
        valid_to=START + timedelta(seconds=rng.randrange(600, 4000, 10))
        if rng.random() < 0.3
        else None,
    )


def _limit_at(profile: ChargingProfile, t_abs: datetime, tx_start: datetime | None) -> float | None:
    """The profile's own limit in A at ``t_abs``, or None when it is not active then."""
    if profile.valid_from and t_abs < profile.valid_from:
        return None
    if profile.valid_to and t_abs >= profile.valid_to:
        return None
    schedule = profile.schedule
    if profile.kind is ChargingProfileKind.RELATIVE:
        anchor = tx_start or START
    elif profile.kind is ChargingProfileKind.RECURRING:
        anchor = schedule.start_schedule or profile.valid_from or START
    else:
        anchor = schedule.start_schedule or profile.valid_from or tx_start or START
    offset = (t_abs - anchor).total_seconds()
    if offset < 0:
        return None
    if profile.kind is ChargingProfileKind.RECURRING:
        offset %= 86400
    if schedule.duration is not None and offset >= schedule.duration:
        return None
    current = None
    for period in schedule.periods:
        if period.start_period <= offset:
            current = period
    assert current is not None
    return convert(current.limit, schedule.charging_rate_unit, A, current.number_phases)


def _reference(
    placed: list[tuple[int, ChargingProfile]], t: int, tx_start: datetime | None
) -> float | None:
    t_abs = START + timedelta(seconds=t)

    def prevailing(candidates: list[ChargingProfile]) -> float | None:
        active = [(p.stack_level, _limit_at(p, t_abs, tx_start)) for p in candidates]
        active = [(level, limit) for level, limit in active if limit is not None]
        return max(active)[1] if active else None

    cap = prevailing([p for e, p in placed if p.purpose is MAX and e == 0])
    own_levels = {p.stack_level for e, p in placed if p.purpose is DEFAULT and e == 1}
    defaults = [
        p
        for e, p in placed
        if p.purpose is DEFAULT and (e == 1 or (e == 0 and p.stack_level not in own_levels))
    ]
    tx = prevailing([p for e, p in placed if p.purpose is TX and e == 1]) if tx_start else None
    if tx is None:
        tx = prevailing(defaults)
    present = [x for x in (tx, cap) if x is not None]
    return min(present) if present else None


# ------------------------------------------------------------------------------------ compare


def a_schedule(
    periods: list[tuple[int, float | None]],
    *,
    start: datetime = START,
    duration: int = 3600,
    unit: ChargingRateUnit = A,
    phases: int | None = None,
) -> CompositeSchedule:
    return CompositeSchedule(
        1, start, duration, unit, tuple(CompositePeriod(s, v, phases) for s, v in periods)
    )


def test_equal_schedules_match() -> None:
    mine = a_schedule([(0, 16), (600, 10)])
    result = compare(mine, a_schedule([(0, 16.0), (600, 10.05)]))
    assert result.matches
    assert result.differences == ()


def test_schedules_are_aligned_on_absolute_time() -> None:
    mine = a_schedule([(0, 16), (600, 10)])
    theirs = a_schedule([(0, 16), (598, 10)], start=START + timedelta(seconds=2))
    assert compare(mine, theirs).matches


def test_a_different_limit_is_reported_with_its_interval() -> None:
    mine = a_schedule([(0, 16), (600, 10), (1200, 16)])
    theirs = a_schedule([(0, 16), (600, 12), (1200, 16)])
    result = compare(mine, theirs)
    assert not result.matches
    [difference] = result.differences
    assert (difference.start, difference.end) == (
        START + timedelta(seconds=600),
        START + timedelta(seconds=1200),
    )
    assert (difference.expected, difference.reported) == (10, 12)


def test_units_are_converted_before_comparing() -> None:
    mine = a_schedule([(0, 16)], phases=3)
    theirs = a_schedule([(0, 11040)], unit=W, phases=3)
    assert compare(mine, theirs).matches
    single_phase = a_schedule([(0, 11040)], unit=W, phases=1)
    [difference] = compare(mine, single_phase).differences
    assert difference.reported == 48.0


def test_no_expected_limit_against_a_station_limit_is_a_difference() -> None:
    mine = a_schedule([(0, None), (300, 10)])
    theirs = a_schedule([(0, 32), (300, 10)])
    [difference] = compare(mine, theirs).differences
    assert (difference.expected, difference.reported) == (None, 32)


@pytest.mark.parametrize("duration", [600, 7200])
def test_only_the_overlap_is_compared(duration: int) -> None:
    mine = a_schedule([(0, 16)], duration=3600)
    theirs = a_schedule([(0, 16)], duration=duration)
    assert compare(mine, theirs).matches
