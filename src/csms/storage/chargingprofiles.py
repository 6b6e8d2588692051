"""SQL implementation of :class:`csms.domain.smartcharging.ChargingProfileRepository`.

The schedule is stored as version-neutral JSON: ``{"unit", "periods": [[startPeriod, limit,
numberPhases], ...], "duration", "start_schedule", "min_charging_rate", "id"}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, insert, select, true, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.elements import ColumnElement

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
    InstalledProfile,
    RecurrencyKind,
)
from csms.storage.direct import reading, writing
from csms.storage.tables_smartcharging import charging_profiles

__all__ = ["SqlChargingProfileRepository", "schedule_from_json", "schedule_to_json"]

_t = charging_profiles.c


def schedule_to_json(schedule: ChargingSchedule) -> dict[str, Any]:
    """The stored form of a schedule."""
    start = schedule.start_schedule
    return {
        "unit": schedule.charging_rate_unit.value,
        "periods": [[p.start_period, p.limit, p.number_phases] for p in schedule.periods],
        "duration": schedule.duration,
        "start_schedule": start.isoformat() if start else None,
        "min_charging_rate": schedule.min_charging_rate,
        "id": schedule.id,
    }


def schedule_from_json(data: Mapping[str, Any]) -> ChargingSchedule:
    """Read a schedule back from its stored form."""
    start = data.get("start_schedule")
    return ChargingSchedule(
        charging_rate_unit=ChargingRateUnit(data["unit"]),
        periods=tuple(
            ChargingSchedulePeriod(int(s), float(limit), phases)
            for s, limit, phases in data["periods"]
        ),
        duration=data.get("duration"),
        start_schedule=datetime.fromisoformat(start) if start else None,
        min_charging_rate=data.get("min_charging_rate"),
        id=int(data.get("id", 1)),
    )


def _installed(row: RowMapping) -> InstalledProfile:
    profile = ChargingProfile(
        id=row["profile_id"],
        stack_level=row["stack_level"],
        purpose=ChargingProfilePurpose(row["purpose"]),
        kind=ChargingProfileKind(row["kind"]),
        schedule=schedule_from_json(row["schedule"]),
        recurrency_kind=RecurrencyKind(row["recurrency_kind"]) if row["recurrency_kind"] else None,
        valid_from=row["valid_from"],
        valid_to=row["valid_to"],
        transaction_id=row["transaction_id"],
    )
    return InstalledProfile(
        station_id=row["station_id"],
        evse_id=row["evse_id"],
        profile=profile,
        status=ChargingProfileStatus(row["status"]) if row["status"] else None,
        sent_at=row["sent_at"],
        installed=row["installed"],
        removed_at=row["removed_at"],
        row_id=row["id"],
    )


class SqlChargingProfileRepository:
    """Implements :class:`csms.domain.smartcharging.ChargingProfileRepository`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def record_set(
        self,
        station_id: str,
        evse_id: int,
        profile: ChargingProfile,
        status: ChargingProfileStatus | None,
        now: datetime,
    ) -> None:
        accepted = status is ChargingProfileStatus.ACCEPTED
        async with writing(self._engine) as conn:
            if accepted:
                # The station keeps one profile per id and per (EVSE, purpose, stackLevel):
                # 1.6 §3.13.2, §5.16.3; 2.0.1 K01.FR.05.
                await conn.execute(
                    update(charging_profiles)
                    .where(
                        _t.station_id == station_id,
                        _t.installed.is_(True),
                        (_t.profile_id == profile.id)
                        | and_(
                            _t.evse_id == evse_id,
                            _t.purpose == profile.purpose.value,
                            _t.stack_level == profile.stack_level,
                        ),
                    )
                    .values(installed=False, removed_at=now)
                )
            await conn.execute(
                insert(charging_profiles).values(
                    station_id=station_id,
                    evse_id=evse_id,
                    profile_id=profile.id,
                    stack_level=profile.stack_level,
                    purpose=profile.purpose.value,
                    kind=profile.kind.value,
                    recurrency_kind=profile.recurrency_kind.value
                    if profile.recurrency_kind
                    else None,
                    valid_from=profile.valid_from,
                    valid_to=profile.valid_to,
                    transaction_id=profile.transaction_id,
                    schedule=schedule_to_json(profile.schedule),
                    status=status.value if status else None,
                    installed=accepted,
                    sent_at=now,
                )
            )

    async def record_clear(
        self,
        station_id: str,
        criteria: ClearCriteria,
        status: ClearChargingProfileStatus,
        now: datetime,
    ) -> int:
        if status is not ClearChargingProfileStatus.ACCEPTED:
            return 0
        condition: ColumnElement[bool] = true()
        if criteria.profile_id is not None:
            condition = _t.profile_id == criteria.profile_id  # other fields ignored (errata 3.26)
        else:
            if criteria.evse_id is not None:
                condition = and_(condition, _t.evse_id == criteria.evse_id)
            if criteria.purpose is not None:
                condition = and_(condition, _t.purpose == criteria.purpose.value)
            if criteria.stack_level is not None:
                condition = and_(condition, _t.stack_level == criteria.stack_level)
        async with writing(self._engine) as conn:
            result = await conn.execute(
                update(charging_profiles)
                .where(_t.station_id == station_id, _t.installed.is_(True), condition)
                .values(installed=False, removed_at=now)
            )
            return int(result.rowcount)

    async def end_transaction(self, station_id: str, evse_id: int, now: datetime) -> int:
        async with writing(self._engine) as conn:
            result = await conn.execute(
                update(charging_profiles)
                .where(
                    _t.station_id == station_id,
                    _t.installed.is_(True),
                    _t.evse_id == evse_id,
                    _t.purpose == ChargingProfilePurpose.TX.value,
                )
                .values(installed=False, removed_at=now)
            )
            return int(result.rowcount)

    async def installed(self, station_id: str) -> Sequence[InstalledProfile]:
        stmt = (
            select(charging_profiles)
            .where(_t.station_id == station_id, _t.installed.is_(True))
            .order_by(_t.evse_id, _t.purpose, _t.stack_level, _t.id)
        )
        async with reading(self._engine) as conn:
            return [_installed(row) for row in (await conn.execute(stmt)).mappings()]

    async def history(self, station_id: str, *, limit: int = 100) -> Sequence[InstalledProfile]:
        stmt = (
            select(charging_profiles)
            .where(_t.station_id == station_id)
            .order_by(_t.id.desc())
            .limit(limit)
        )
        async with reading(self._engine) as conn:
            return [_installed(row) for row in (await conn.execute(stmt)).mappings()]
