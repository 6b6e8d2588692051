"""The charging-profile store on SQLite and PostgreSQL: answers, supersession, clearing."""

from __future__ import annotations

from dataclasses import replace

from csms.domain.smartcharging import (
    ChargingProfile,
    ChargingProfileKind,
    ChargingProfilePurpose,
    ChargingProfileStatus,
    ChargingRateUnit,
    ChargingSchedule,
    ChargingSchedulePeriod,
    ClearChargingProfileStatus,
    ClearCriteria,
    RecurrencyKind,
)
from csms.storage import Store
from tests.unit.storage.builders import at

ACCEPTED = ChargingProfileStatus.ACCEPTED
DEFAULT = ChargingProfilePurpose.TX_DEFAULT


def a_profile(profile_id: int, level: int = 0, **overrides: object) -> ChargingProfile:
    fields: dict[str, object] = {
        "id": profile_id,
        "stack_level": level,
        "purpose": DEFAULT,
        "kind": ChargingProfileKind.ABSOLUTE,
        "schedule": ChargingSchedule(
            ChargingRateUnit.A, (ChargingSchedulePeriod(0, 16.5, 3), ChargingSchedulePeriod(60, 8))
        ),
    }
    fields.update(overrides)
    return ChargingProfile(**fields)  # type: ignore[arg-type]


def ids(profiles: object) -> list[int]:
    return [p.profile.id for p in profiles]  # type: ignore[attr-defined]


async def test_profiles_round_trip_with_every_field(store: Store) -> None:
    recurring = a_profile(
        1,
        kind=ChargingProfileKind.RECURRING,
        recurrency_kind=RecurrencyKind.WEEKLY,
        valid_from=at(0),
        valid_to=at(3600),
        schedule=ChargingSchedule(
            ChargingRateUnit.W,
            (ChargingSchedulePeriod(0, 11000.0),),
            duration=600,
            start_schedule=at(-60),
            min_charging_rate=1380.5,
            id=4,
        ),
    )
    tx = a_profile(2, purpose=ChargingProfilePurpose.TX, transaction_id="tx-9")
    await store.charging_profiles.record_set("CS1", 1, recurring, ACCEPTED, at(1))
    await store.charging_profiles.record_set("CS1", 2, tx, ACCEPTED, at(2))
    installed = await store.charging_profiles.installed("CS1")
    assert [(p.evse_id, p.profile) for p in installed] == [(1, recurring), (2, tx)]
    assert all(p.installed and p.status is ACCEPTED for p in installed)
    assert installed[0].sent_at == at(1)


async def test_only_accepted_profiles_are_installed(store: Store) -> None:
    profiles = store.charging_profiles
    await profiles.record_set("CS1", 1, a_profile(1), ChargingProfileStatus.REJECTED, at(0))
    await profiles.record_set("CS1", 1, a_profile(2), None, at(1))
    assert await profiles.installed("CS1") == []
    history = await profiles.history("CS1")
    assert [(p.profile.id, p.status, p.installed) for p in history] == [
        (2, None, False),
        (1, ChargingProfileStatus.REJECTED, False),
    ]


async def test_an_accepted_profile_supersedes_same_id_or_same_level_and_purpose(
    store: Store,
) -> None:
    profiles = store.charging_profiles
    await profiles.record_set("CS1", 1, a_profile(1, level=0), ACCEPTED, at(0))
    await profiles.record_set("CS1", 1, a_profile(2, level=1), ACCEPTED, at(1))
    await profiles.record_set("CS1", 2, a_profile(3, level=0), ACCEPTED, at(2))
    # Same (EVSE 1, TxDefault, level 0) as profile 1: replaces it (1.6 §3.13.2).
    await profiles.record_set("CS1", 1, a_profile(4, level=0), ACCEPTED, at(3))
    # Same id as profile 2, on another EVSE: replaces it (1.6 §5.16.3).
    await profiles.record_set("CS1", 2, a_profile(2, level=5), ACCEPTED, at(4))
    assert sorted(ids(await profiles.installed("CS1"))) == [2, 3, 4]
    old = [p for p in await profiles.history("CS1") if p.profile.id == 1]
    assert old[0].removed_at == at(3)
    # A refused profile supersedes nothing.
    await profiles.record_set(
        "CS1", 1, a_profile(4, level=0), ChargingProfileStatus.REJECTED, at(5)
    )
    assert sorted(ids(await profiles.installed("CS1"))) == [2, 3, 4]


async def test_clear_by_id_criteria_or_everything(store: Store) -> None:
    profiles = store.charging_profiles
    cap = a_profile(10, purpose=ChargingProfilePurpose.STATION_MAX)
    await profiles.record_set("CS1", 0, cap, ACCEPTED, at(0))
    for i, (evse, level) in enumerate([(1, 0), (1, 1), (2, 0), (2, 1)], start=1):
        await profiles.record_set("CS1", evse, a_profile(i, level), ACCEPTED, at(i))
    clear = profiles.record_clear
    unknown = ClearChargingProfileStatus.UNKNOWN
    accepted = ClearChargingProfileStatus.ACCEPTED
    assert await clear("CS1", ClearCriteria(profile_id=1), unknown, at(9)) == 0
    # By id the other fields are ignored (1.6 errata 3.26).
    assert await clear("CS1", ClearCriteria(profile_id=1, evse_id=2), accepted, at(9)) == 1
    assert await clear("CS1", ClearCriteria(evse_id=2, stack_level=1), accepted, at(9)) == 1
    assert await clear("CS1", ClearCriteria(purpose=DEFAULT), accepted, at(9)) == 2
    assert ids(await profiles.installed("CS1")) == [10]
    assert await clear("CS1", ClearCriteria(), accepted, at(9)) == 1
    assert await profiles.installed("CS1") == []


def test_clear_criteria_match_like_the_store() -> None:
    profile = a_profile(3, level=1)
    assert ClearCriteria().matches(1, profile)
    assert ClearCriteria(profile_id=3, evse_id=9).matches(1, profile)
    assert not ClearCriteria(profile_id=4).matches(1, profile)
    assert ClearCriteria(evse_id=1, purpose=DEFAULT, stack_level=1).matches(1, profile)
    assert not ClearCriteria(evse_id=1, stack_level=0).matches(1, profile)
    assert not ClearCriteria(purpose=ChargingProfilePurpose.TX).matches(1, replace(profile))


async def test_tx_profiles_end_with_their_transaction(store: Store) -> None:
    profiles = store.charging_profiles
    tx = ChargingProfilePurpose.TX
    await profiles.record_set("CS1", 1, a_profile(1, purpose=tx), ACCEPTED, at(0))
    await profiles.record_set("CS1", 2, a_profile(2, purpose=tx), ACCEPTED, at(0))
    await profiles.record_set("CS1", 1, a_profile(3), ACCEPTED, at(0))
    assert await profiles.end_transaction("CS1", 1, at(5)) == 1
    assert sorted(ids(await profiles.installed("CS1"))) == [2, 3]
