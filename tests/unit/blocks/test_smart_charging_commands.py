"""Smart charging commands against a scripted station and a real (SQLite) store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from csms.blocks.smartcharging import SmartChargingCommands
from csms.domain.errors import CallTimeout, InvalidPayload
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
)
from csms.rpc import OcppVersion
from csms.storage import SqliteSynchronous, Store, open_store
from tests.unit.blocks.scripted_gateway import ScriptedGateway
from tests.unit.storage.builders import a_station

Payload = dict[str, Any]
NOW = datetime(2026, 12, 1, 12, 0, 0, 250_000, tzinfo=UTC)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'csms.db'}"
    store = await open_store(url, sqlite_synchronous=SqliteSynchronous.NORMAL)
    try:
        await store.stations.add(a_station("CS1"))
        yield store
    finally:
        await store.aclose()


def a_profile(
    profile_id: int,
    purpose: ChargingProfilePurpose = ChargingProfilePurpose.TX_DEFAULT,
    periods: tuple[tuple[int, float], ...] = ((0, 16), (1800, 10)),
    level: int = 0,
) -> ChargingProfile:
    return ChargingProfile(
        id=profile_id,
        stack_level=level,
        purpose=purpose,
        kind=ChargingProfileKind.ABSOLUTE,
        schedule=ChargingSchedule(
            ChargingRateUnit.A,
            tuple(ChargingSchedulePeriod(s, v) for s, v in periods),
            start_schedule=NOW.replace(microsecond=0),
        ),
    )


def answering(**statuses: str) -> Any:
    def answer(action: str, payload: Payload) -> Payload:
        return {"status": statuses[action]}

    return answer


def commands_for(
    store: Store, version: OcppVersion, answer: Any
) -> tuple[SmartChargingCommands, ScriptedGateway]:
    gateway = ScriptedGateway(version, answer)
    return SmartChargingCommands(gateway, store.charging_profiles, clock=lambda: NOW), gateway


@pytest.mark.parametrize("version", list(OcppVersion))
async def test_set_and_clear_keep_the_store_in_step(store: Store, version: OcppVersion) -> None:
    commands, gateway = commands_for(
        store, version, answering(SetChargingProfile="Accepted", ClearChargingProfile="Accepted")
    )
    cap = a_profile(1, ChargingProfilePurpose.STATION_MAX)
    assert await commands.set_charging_profile("CS1", 0, cap) is ChargingProfileStatus.ACCEPTED
    assert await commands.set_charging_profile("CS1", 1, a_profile(2)) == "Accepted"
    installed = await store.charging_profiles.installed("CS1")
    assert [(p.evse_id, p.profile.id) for p in installed] == [(0, 1), (1, 2)]
    result = await commands.clear_charging_profile("CS1", ClearCriteria(profile_id=2))
    assert (result.status, result.removed) == (ClearChargingProfileStatus.ACCEPTED, 1)
    assert [p.profile.id for p in await store.charging_profiles.installed("CS1")] == [1]
    assert gateway.actions() == ["SetChargingProfile"] * 2 + ["ClearChargingProfile"]


async def test_refused_and_unanswered_profiles_are_stored_but_not_installed(store: Store) -> None:
    status = {"SetChargingProfile": "Rejected", "ClearChargingProfile": "Unknown"}
    commands, _ = commands_for(store, OcppVersion.V16, answering(**status))
    assert await commands.set_charging_profile("CS1", 1, a_profile(1)) == "Rejected"
    cleared = await commands.clear_charging_profile("CS1")
    assert (cleared.status, cleared.removed) == (ClearChargingProfileStatus.UNKNOWN, 0)

    def silent(action: str, payload: Payload) -> Payload:
        raise CallTimeout("no reply")

    commands, _ = commands_for(store, OcppVersion.V16, silent)
    with pytest.raises(CallTimeout):
        await commands.set_charging_profile("CS1", 1, a_profile(2))
    history = await store.charging_profiles.history("CS1")
    assert [(p.profile.id, p.status) for p in history] == [
        (2, None),
        (1, ChargingProfileStatus.REJECTED),
    ]
    assert await store.charging_profiles.installed("CS1") == []


async def test_misplaced_profiles_are_refused_before_sending(store: Store) -> None:
    commands, gateway = commands_for(store, OcppVersion.V16, answering())
    with pytest.raises(InvalidPayload):
        await commands.set_charging_profile("CS1", 0, a_profile(1, ChargingProfilePurpose.TX))
    with pytest.raises(InvalidPayload):
        await commands.set_charging_profile(
            "CS1", 2, a_profile(1, ChargingProfilePurpose.STATION_MAX)
        )
    assert gateway.calls == []
    assert await store.charging_profiles.history("CS1") == []


@pytest.mark.parametrize("version", list(OcppVersion))
async def test_composite_schedule_is_compared_with_the_expected_one(
    store: Store, version: OcppVersion
) -> None:
    reported_periods = [{"startPeriod": 0, "limit": 12}, {"startPeriod": 1800, "limit": 10}]
    start = NOW.replace(microsecond=0)

    def station(action: str, payload: Payload) -> Payload:
        if action == "SetChargingProfile":
            return {"status": "Accepted"}
        schedule = {"chargingRateUnit": "A", "chargingSchedulePeriod": reported_periods}
        if version is OcppVersion.V16:
            return {
                "status": "Accepted",
                "connectorId": payload["connectorId"],
                "scheduleStart": start.isoformat(),
                "chargingSchedule": {"duration": payload["duration"], **schedule},
            }
        return {
            "status": "Accepted",
            "schedule": {
                "evseId": payload["evseId"],
                "duration": payload["duration"],
                "scheduleStart": start.isoformat(),
                **schedule,
            },
        }

    commands, _ = commands_for(store, version, station)
    await commands.set_charging_profile("CS1", 1, a_profile(1))
    cap = a_profile(2, ChargingProfilePurpose.STATION_MAX, periods=((0, 12),))
    await commands.set_charging_profile("CS1", 0, cap)
    result = await commands.get_composite_schedule("CS1", 1, 3600)
    assert result.status == "Accepted"
    assert result.matches, result.comparison
    assert [(p.start_period, p.limit) for p in result.expected.periods] == [(0, 12), (1800, 10)]

    reported_periods[1]["limit"] = 14
    differs = await commands.get_composite_schedule("CS1", 1, 3600, ChargingRateUnit.A)
    assert differs.comparison is not None
    [difference] = differs.comparison.differences
    assert (difference.start, difference.expected, difference.reported) == (
        start + timedelta(seconds=1800),
        10,
        14,
    )


async def test_a_rejected_composite_request_has_nothing_to_compare(store: Store) -> None:
    commands, _ = commands_for(store, OcppVersion.V16, answering(GetCompositeSchedule="Rejected"))
    result = await commands.get_composite_schedule("CS1", 9, 60)
    assert (result.reported, result.comparison, result.matches) == (None, None, False)
    assert result.expected.start == NOW.replace(microsecond=0)


@pytest.mark.parametrize("version", [OcppVersion.V16, OcppVersion.V201])
@pytest.mark.parametrize(
    "criteria", [ClearCriteria(evse_id=-1), ClearCriteria(stack_level=-2)], ids=["evse", "level"]
)
async def test_clear_refuses_negative_numbers_before_sending(
    store: Store, version: OcppVersion, criteria: ClearCriteria
) -> None:
    commands, gateway = commands_for(store, version, answering(ClearChargingProfile="Accepted"))
    with pytest.raises(InvalidPayload, match="cannot be negative"):
        await commands.clear_charging_profile("CS1", criteria)
    assert gateway.actions() == []
