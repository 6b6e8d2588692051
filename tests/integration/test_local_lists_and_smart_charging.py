"""Local Auth List Management and Smart Charging end to end, on SQLite and PostgreSQL.

The `ocpp` package's 1.6 ChargePoint (and, for the 2.x mapping, its 2.0.1 one) connects over
loopback to a real csms and answers every command of both profiles with its own ``on(...)``
handlers; the typed commands run against the live gateway and store of that csms. The station
keeps its local list and profiles as the spec says, so what it holds afterwards shows what csms
sent.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from ocpp.routing import on
from ocpp.v16 import ChargePoint
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v16.enums import Action
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201
from ocpp.v201.enums import Action as Action201

from csms.blocks.localauthlist import LocalListCommands
from csms.blocks.smartcharging import SmartChargingCommands
from csms.domain.localauth import (
    AuthorizationStatus,
    LocalListEntry,
    LocalListSyncState,
    UpdateStatus,
    UpdateType,
)
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
from tests.integration.harness import RunningCsms, running_csms, settings_for

EXPIRY = datetime(2027, 6, 30, 12, 0, tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Station(ChargePoint):  # type: ignore[misc]
    """A 1.6 station with a local list (SendLocalListMaxLength 2) and smart charging."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.list_version = 0
        self.local_list: dict[str, dict[str, Any]] = {}
        self.sent_lists: list[tuple[int, str, list[str]]] = []
        self.refuse_next_differential = False
        self.profiles: dict[int, tuple[int, dict[str, Any]]] = {}  # id → (connector, profile)
        self.local_limit: float | None = None

    @on(Action.get_configuration)  # type: ignore[untyped-decorator]
    async def on_get_configuration(self, key: list[str] | None = None, **_: Any) -> Any:
        assert key == ["SendLocalListMaxLength"]
        return result16.GetConfiguration(
            configuration_key=[{"key": "SendLocalListMaxLength", "readonly": True, "value": "2"}]
        )

    @on(Action.get_local_list_version)  # type: ignore[untyped-decorator]
    async def on_get_local_list_version(self, **_: Any) -> Any:
        return result16.GetLocalListVersion(list_version=self.list_version)

    @on(Action.send_local_list)  # type: ignore[untyped-decorator]
    async def on_send_local_list(
        self, list_version: int, update_type: str, local_authorization_list: Any = (), **_: Any
    ) -> Any:
        self.sent_lists.append(
            (list_version, update_type, [e["id_tag"] for e in local_authorization_list])
        )
        if update_type == "Differential" and self.refuse_next_differential:
            self.refuse_next_differential = False
            return result16.SendLocalList(status="VersionMismatch")
        if update_type == "Full":
            self.local_list = {}
        for entry in local_authorization_list:
            if "id_tag_info" in entry:
                self.local_list[entry["id_tag"]] = entry["id_tag_info"]
            else:
                self.local_list.pop(entry["id_tag"], None)
        self.list_version = list_version
        return result16.SendLocalList(status="Accepted")

    @on(Action.set_charging_profile)  # type: ignore[untyped-decorator]
    async def on_set_charging_profile(
        self, connector_id: int, cs_charging_profiles: dict[str, Any], **_: Any
    ) -> Any:
        profile = cs_charging_profiles
        if profile["charging_profile_purpose"] == "TxProfile":
            return result16.SetChargingProfile(status="Rejected")  # no transaction (§3.13.1)
        for other_id, (other_connector, other) in list(self.profiles.items()):
            if (other_connector, other["stack_level"], other["charging_profile_purpose"]) == (
                connector_id,
                profile["stack_level"],
                profile["charging_profile_purpose"],
            ):
                del self.profiles[other_id]
        self.profiles[profile["charging_profile_id"]] = (connector_id, profile)
        return result16.SetChargingProfile(status="Accepted")

    @on(Action.clear_charging_profile)  # type: ignore[untyped-decorator]
    async def on_clear_charging_profile(
        self,
        id: int | None = None,
        connector_id: int | None = None,
        charging_profile_purpose: str | None = None,
        stack_level: int | None = None,
        **_: Any,
    ) -> Any:
        def matches(connector: int, profile: dict[str, Any]) -> bool:
            if id is not None:
                return bool(profile["charging_profile_id"] == id)
            return (
                connector_id in (None, connector)
                and charging_profile_purpose in (None, profile["charging_profile_purpose"])
                and stack_level in (None, profile["stack_level"])
            )

        cleared = [pid for pid, (c, p) in self.profiles.items() if matches(c, p)]
        for pid in cleared:
            del self.profiles[pid]
        return result16.ClearChargingProfile(status="Accepted" if cleared else "Unknown")

    @on(Action.get_composite_schedule)  # type: ignore[untyped-decorator]
    async def on_get_composite_schedule(self, connector_id: int, duration: int, **_: Any) -> Any:
        """Just enough of §3.13.3 for this test: one TxDefault on the connector under one cap."""
        now = datetime.now(UTC).replace(microsecond=0)
        cap = min(
            (p["charging_schedule"]["charging_schedule_period"][0]["limit"]
             for c, p in self.profiles.values()
             if p["charging_profile_purpose"] == "ChargePointMaxProfile"),
            default=None,
        )  # fmt: skip
        periods: list[dict[str, Any]] = []
        for c, profile in self.profiles.values():
            if c == connector_id and profile["charging_profile_purpose"] == "TxDefaultProfile":
                schedule = profile["charging_schedule"]
                elapsed = (now - datetime.fromisoformat(schedule["start_schedule"])).seconds
                for period in schedule["charging_schedule_period"]:
                    start = max(0, period["start_period"] - elapsed)
                    limit = period["limit"] if cap is None else min(cap, period["limit"])
                    periods = [p for p in periods if p["start_period"] != start]
                    periods.append({"start_period": start, "limit": limit})
        if not periods and cap is not None:
            periods = [{"start_period": 0, "limit": cap}]
        if self.local_limit is not None:
            periods = [{"start_period": 0, "limit": self.local_limit}]
        if not periods:
            return result16.GetCompositeSchedule(status="Rejected")
        return result16.GetCompositeSchedule(
            status="Accepted",
            connector_id=connector_id,
            schedule_start=_iso(now),
            charging_schedule={
                "duration": duration,
                "charging_rate_unit": "A",
                "charging_schedule_period": periods,
            },
        )


@pytest.fixture
async def server(tmp_path: Path, database_url: str) -> AsyncIterator[RunningCsms]:
    settings = settings_for(tmp_path)
    settings = dataclasses.replace(
        settings, database=dataclasses.replace(settings.database, url=database_url)
    )
    async with running_csms(settings) as running:
        yield running


@asynccontextmanager
async def booted_station(server: RunningCsms, station_id: str) -> AsyncIterator[Station]:
    await server.add_station(station_id)
    async with server.connect(station_id, subprotocols=["ocpp1.6"]) as ws:
        station = Station(station_id, ws)
        task = asyncio.create_task(station.start())
        try:
            boot = await station.call(
                call16.BootNotification(charge_point_model="M", charge_point_vendor="V")
            )
            assert boot.status == "Accepted"
            yield station
        finally:
            task.cancel()


def _stores(server: RunningCsms) -> Any:
    assert server.csms.store is not None
    return server.csms.store


async def test_local_list_management_end_to_end(server: RunningCsms) -> None:
    store = _stores(server)
    commands = LocalListCommands(server.csms.registry, store.local_lists)
    async with booted_station(server, "CP-LL") as station:
        first = await commands.get_local_list_version("CP-LL")
        assert (first.version, first.sync.state) == (0, LocalListSyncState.IN_SYNC)

        entries = [
            LocalListEntry("TAG-A"),
            LocalListEntry("TAG-B", AuthorizationStatus.BLOCKED),
            LocalListEntry("TAG-C", expiry_date=EXPIRY, parent_id_token="FLEET-1"),
            LocalListEntry("TAG-D", AuthorizationStatus.EXPIRED),
            LocalListEntry("TAG-E", AuthorizationStatus.INVALID),
        ]
        full = await commands.send_local_list("CP-LL", entries)
        assert full.accepted
        # SendLocalListMaxLength 2: one Full message, then Differential ones, versions rising.
        assert station.sent_lists == [
            (1, "Full", ["TAG-A", "TAG-B"]),
            (2, "Differential", ["TAG-C", "TAG-D"]),
            (3, "Differential", ["TAG-E"]),
        ]
        assert station.local_list["TAG-C"] == {
            "status": "Accepted",
            "expiry_date": "2027-06-30T12:00:00.000Z",
            "parent_id_tag": "FLEET-1",
        }
        assert station.local_list["TAG-B"] == {"status": "Blocked"}
        assert (full.sync.state, full.sync.version, full.sync.station_version) == (
            LocalListSyncState.IN_SYNC,
            3,
            3,
        )

        # A Differential update the station refuses: csms sends the full list instead (§5.15).
        station.sent_lists.clear()
        station.refuse_next_differential = True
        changes = [LocalListEntry("TAG-A", None), LocalListEntry("TAG-F")]
        diff = await commands.send_local_list("CP-LL", changes, UpdateType.DIFFERENTIAL)
        assert station.sent_lists == [
            (4, "Differential", ["TAG-A", "TAG-F"]),
            (5, "Full", ["TAG-B", "TAG-C"]),
            (6, "Differential", ["TAG-D", "TAG-E"]),
            (7, "Differential", ["TAG-F"]),
        ]
        assert [m.status for m in diff.messages] == [
            UpdateStatus.VERSION_MISMATCH,
            *[UpdateStatus.ACCEPTED] * 3,
        ]
        assert sorted(station.local_list) == ["TAG-B", "TAG-C", "TAG-D", "TAG-E", "TAG-F"]

        checked = await commands.get_local_list_version("CP-LL")
        assert (checked.version, checked.sync.state) == (7, LocalListSyncState.IN_SYNC)
        station.list_version = 2  # the station lost its list
        drifted = await commands.get_local_list_version("CP-LL")
        assert (drifted.sync.state, drifted.sync.station_version) == (
            LocalListSyncState.PENDING,
            2,
        )

    # Everything is in the database.
    updates = await store.local_lists.updates("CP-LL")
    assert [(u.version, u.status) for u in updates][:2] == [
        (7, UpdateStatus.ACCEPTED),
        (6, UpdateStatus.ACCEPTED),
    ]
    assert len(updates) == 7
    stored = await store.local_lists.entries("CP-LL")
    assert [e.id_token for e in stored] == ["TAG-B", "TAG-C", "TAG-D", "TAG-E", "TAG-F"]


def _profile(
    profile_id: int,
    purpose: ChargingProfilePurpose,
    periods: tuple[tuple[int, float], ...],
    start: datetime,
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
            start_schedule=start,
        ),
    )


async def test_smart_charging_end_to_end(server: RunningCsms) -> None:
    store = _stores(server)
    commands = SmartChargingCommands(server.csms.registry, store.charging_profiles)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=600)
    async with booted_station(server, "CP-SC") as station:
        cap = _profile(1, ChargingProfilePurpose.STATION_MAX, ((0, 32),), start)
        assert await commands.set_charging_profile("CP-SC", 0, cap) == "Accepted"
        default = _profile(2, ChargingProfilePurpose.TX_DEFAULT, ((0, 16), (1800, 10)), start)
        assert await commands.set_charging_profile("CP-SC", 1, default) == "Accepted"
        connector, sent = station.profiles[1]
        assert (connector, sent["charging_profile_purpose"]) == (0, "ChargePointMaxProfile")
        assert station.profiles[2][1]["charging_schedule"]["charging_schedule_period"] == [
            {"start_period": 0, "limit": 16},
            {"start_period": 1800, "limit": 10},
        ]
        tx = _profile(3, ChargingProfilePurpose.TX, ((0, 6),), start)
        rejected = await commands.set_charging_profile("CP-SC", 1, tx)
        assert rejected is ChargingProfileStatus.REJECTED

        result = await commands.get_composite_schedule("CP-SC", 1, 3600)
        assert result.status == "Accepted"
        assert result.matches, result.comparison
        first, second = result.expected.periods  # 16 A, then 10 A 1800 s after `start`
        assert (first.start_period, first.limit, second.limit) == (0, 16, 10)
        assert 1195 <= second.start_period <= 1200

        station.local_limit = 8  # the station applies a limit csms does not know about
        differs = await commands.get_composite_schedule("CP-SC", 1, 3600)
        assert differs.comparison is not None
        assert {(d.expected, d.reported) for d in differs.comparison.differences} == {
            (16, 8),
            (10, 8),
        }
        station.local_limit = None

        cleared = await commands.clear_charging_profile(
            "CP-SC", ClearCriteria(evse_id=1, purpose=ChargingProfilePurpose.TX_DEFAULT)
        )
        assert (cleared.status, cleared.removed) == (ClearChargingProfileStatus.ACCEPTED, 1)
        assert sorted(station.profiles) == [1]
        capped = await commands.get_composite_schedule("CP-SC", 1, 3600)
        assert capped.matches
        assert [(p.start_period, p.limit) for p in capped.expected.periods] == [(0, 32)]

        unknown = await commands.clear_charging_profile("CP-SC", ClearCriteria(profile_id=99))
        assert (unknown.status, unknown.removed) == (ClearChargingProfileStatus.UNKNOWN, 0)

    installed = await store.charging_profiles.installed("CP-SC")
    assert [(p.evse_id, p.profile.id) for p in installed] == [(0, 1)]
    history = await store.charging_profiles.history("CP-SC")
    assert [(p.profile.id, p.status, p.installed) for p in history] == [
        (3, ChargingProfileStatus.REJECTED, False),
        (2, ChargingProfileStatus.ACCEPTED, False),
        (1, ChargingProfileStatus.ACCEPTED, True),
    ]


class Station2x(ChargePoint201):  # type: ignore[misc]
    """A 2.0.1 station: LocalAuthListCtrlr.ItemsPerMessage 2, and one charging profile slot."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sent_lists: list[tuple[int, str, list[str]]] = []
        self.profile: tuple[int, dict[str, Any]] | None = None

    @on(Action201.get_variables)  # type: ignore[untyped-decorator]
    async def on_get_variables(self, get_variable_data: list[dict[str, Any]], **_: Any) -> Any:
        values = {"ItemsPerMessage": "2", "BytesPerMessage": "8000"}
        return result201.GetVariables(
            get_variable_result=[
                {
                    "attribute_status": "Accepted",
                    "attribute_value": values[d["variable"]["name"]],
                    "component": d["component"],
                    "variable": d["variable"],
                }
                for d in get_variable_data
            ]
        )

    @on(Action201.send_local_list)  # type: ignore[untyped-decorator]
    async def on_send_local_list(
        self, version_number: int, update_type: str, local_authorization_list: Any = (), **_: Any
    ) -> Any:
        tokens = [e["id_token"]["id_token"] for e in local_authorization_list]
        self.sent_lists.append((version_number, update_type, tokens))
        return result201.SendLocalList(status="Accepted")

    @on(Action201.get_local_list_version)  # type: ignore[untyped-decorator]
    async def on_get_local_list_version(self, **_: Any) -> Any:
        return result201.GetLocalListVersion(version_number=self.sent_lists[-1][0])

    @on(Action201.set_charging_profile)  # type: ignore[untyped-decorator]
    async def on_set_charging_profile(
        self, evse_id: int, charging_profile: dict[str, Any], **_: Any
    ) -> Any:
        self.profile = (evse_id, charging_profile)
        return result201.SetChargingProfile(status="Accepted")

    @on(Action201.get_composite_schedule)  # type: ignore[untyped-decorator]
    async def on_get_composite_schedule(self, duration: int, evse_id: int, **_: Any) -> Any:
        assert self.profile is not None
        limit = self.profile[1]["charging_schedule"][0]["charging_schedule_period"][0]["limit"]
        return result201.GetCompositeSchedule(
            status="Accepted",
            schedule={
                "evse_id": evse_id,
                "duration": duration,
                "schedule_start": _iso(datetime.now(UTC)),
                "charging_rate_unit": "W",
                "charging_schedule_period": [{"start_period": 0, "limit": limit * 230 * 3}],
            },
        )

    @on(Action201.clear_charging_profile)  # type: ignore[untyped-decorator]
    async def on_clear_charging_profile(self, **kwargs: Any) -> Any:
        assert kwargs == {"charging_profile_id": 5}
        self.profile = None
        return result201.ClearChargingProfile(status="Accepted")


async def test_2x_mapping_end_to_end(server: RunningCsms) -> None:
    """The same commands to an `ocpp` 2.0.1 ChargePoint: the 2.x payloads and limits."""
    store = _stores(server)
    await server.add_station("CP-2X")
    async with server.connect("CP-2X", subprotocols=["ocpp2.0.1"]) as ws:
        station = Station2x("CP-2X", ws)
        task = asyncio.create_task(station.start())
        try:
            boot = await station.call(
                call201.BootNotification(
                    charging_station={"model": "M", "vendor_name": "V"}, reason="PowerUp"
                )
            )
            assert boot.status == "Accepted"
            lists = LocalListCommands(server.csms.registry, store.local_lists)
            result = await lists.send_local_list("CP-2X", [LocalListEntry(t) for t in "ABC"])
            assert result.accepted
            assert station.sent_lists == [(1, "Full", ["A", "B"]), (2, "Differential", ["C"])]
            version = await lists.get_local_list_version("CP-2X")
            assert (version.version, version.sync.state) == (2, LocalListSyncState.IN_SYNC)
            assert (version.sync.max_items, version.sync.max_bytes) == (2, 8000)

            smart = SmartChargingCommands(server.csms.registry, store.charging_profiles)
            start = datetime.now(UTC).replace(microsecond=0)
            profile = _profile(5, ChargingProfilePurpose.TX_DEFAULT, ((0, 16),), start)
            assert await smart.set_charging_profile("CP-2X", 1, profile) == "Accepted"
            assert station.profile is not None
            assert station.profile[0] == 1
            assert station.profile[1]["id"] == 5
            composite = await smart.get_composite_schedule("CP-2X", 1, 600)
            assert composite.reported is not None
            assert composite.reported.charging_rate_unit is ChargingRateUnit.W
            assert composite.matches, composite.comparison  # 16 A x 230 V x 3 = 11040 W
            cleared = await smart.clear_charging_profile("CP-2X", ClearCriteria(profile_id=5))
            assert cleared.removed == 1
        finally:
            task.cancel()
