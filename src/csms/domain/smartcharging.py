"""Charging profiles, version-neutral (1.6 §3.13, §7.8–7.14; 2.0.1/2.1 K01–K08).

``evse_id`` is the 1.6 ``connectorId`` or the 2.x ``evseId``; 0 is the station as a whole. Purpose
names are the 2.x ones; 1.6 ``ChargePointMaxProfile`` is :attr:`ChargingProfilePurpose.STATION_MAX`.

The profile store holds every profile csms sent with the station's answer. A profile is *installed*
while the station accepted it and nothing replaced or cleared it since: the station keeps one
profile per id and per (evse, purpose, stackLevel) (1.6 §3.13.2, §5.16.3; 2.0.1 K01.FR.05), so a
newly accepted profile supersedes those, and an accepted ClearChargingProfile removes the profiles
it matches (1.6 errata 3.25/3.26: by id alone, else every given field must match, none → all).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

__all__ = [
    "ChargingProfile",
    "ChargingProfileKind",
    "ChargingProfilePurpose",
    "ChargingProfileRepository",
    "ChargingProfileStatus",
    "ChargingRateUnit",
    "ChargingSchedule",
    "ChargingSchedulePeriod",
    "ClearChargingProfileStatus",
    "ClearCriteria",
    "GetCompositeScheduleStatus",
    "InstalledProfile",
    "RecurrencyKind",
]


class ChargingProfilePurpose(enum.StrEnum):
    """1.6 ChargingProfilePurposeType; 2.x ChargingProfilePurposeEnumType (the ones csms sets)."""

    STATION_MAX = "ChargingStationMaxProfile"  # 1.6 ChargePointMaxProfile
    TX_DEFAULT = "TxDefaultProfile"
    TX = "TxProfile"


class ChargingProfileKind(enum.StrEnum):
    """1.6 ChargingProfileKindType; 2.x ChargingProfileKindEnumType."""

    ABSOLUTE = "Absolute"
    RECURRING = "Recurring"
    RELATIVE = "Relative"


class RecurrencyKind(enum.StrEnum):
    """1.6 RecurrencyKindType; 2.x RecurrencyKindEnumType."""

    DAILY = "Daily"
    WEEKLY = "Weekly"


class ChargingRateUnit(enum.StrEnum):
    """A: amperes per phase; W: total watts (1.6 §7.12)."""

    A = "A"
    W = "W"


class ChargingProfileStatus(enum.StrEnum):
    """The answer to SetChargingProfile (2.x has no NotSupported)."""

    ACCEPTED = "Accepted"
    REJECTED = "Rejected"
    NOT_SUPPORTED = "NotSupported"


class GetCompositeScheduleStatus(enum.StrEnum):
    """The answer to GetCompositeSchedule (1.6 §7.26; 2.x GenericStatusEnumType)."""

    ACCEPTED = "Accepted"
    REJECTED = "Rejected"


class ClearChargingProfileStatus(enum.StrEnum):
    """The answer to ClearChargingProfile."""

    ACCEPTED = "Accepted"
    UNKNOWN = "Unknown"


@dataclass(frozen=True, slots=True)
class ChargingSchedulePeriod:
    """A limit from ``start_period`` seconds after the schedule's start (1.6 §7.14)."""

    start_period: int
    limit: float
    number_phases: int | None = None  # absent: 3 (1.6 §7.12)


@dataclass(frozen=True, slots=True)
class ChargingSchedule:
    """1.6 ChargingSchedule; 2.x ChargingScheduleType (``id`` only in 2.x, 1 when not given)."""

    charging_rate_unit: ChargingRateUnit
    periods: tuple[ChargingSchedulePeriod, ...]
    duration: int | None = None
    start_schedule: datetime | None = None
    min_charging_rate: float | None = None
    id: int = 1

    def __post_init__(self) -> None:
        if not self.periods:
            raise ValueError("a charging schedule needs at least one period")
        starts = [p.start_period for p in self.periods]
        if starts[0] != 0 or starts != sorted(set(starts)):
            raise ValueError("periods must start at 0 and increase (1.6 §7.13)")


@dataclass(frozen=True, slots=True)
class ChargingProfile:
    """1.6 ChargingProfile; 2.x ChargingProfileType with one schedule."""

    id: int
    stack_level: int
    purpose: ChargingProfilePurpose
    kind: ChargingProfileKind
    schedule: ChargingSchedule
    recurrency_kind: RecurrencyKind | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    transaction_id: str | None = None  # 1.6 integer, 2.x string; only for TxProfile

    def __post_init__(self) -> None:
        if self.stack_level < 0:
            raise ValueError("stackLevel must be >= 0 (1.6 §7.8)")
        if (self.kind is ChargingProfileKind.RECURRING) != (self.recurrency_kind is not None):
            raise ValueError("recurrencyKind goes with, and only with, a Recurring profile")
        if self.transaction_id is not None and self.purpose is not ChargingProfilePurpose.TX:
            raise ValueError("transactionId is only valid for a TxProfile (1.6 §7.8)")


@dataclass(frozen=True, slots=True)
class InstalledProfile:
    """A profile csms sent to a station's EVSE, with the station's answer."""

    station_id: str
    evse_id: int
    profile: ChargingProfile
    status: ChargingProfileStatus | None  # None: no answer (timeout, CALLERROR, disconnect)
    sent_at: datetime
    installed: bool = False  # accepted and neither superseded nor cleared since
    removed_at: datetime | None = None
    row_id: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class ClearCriteria:
    """Which installed profiles a ClearChargingProfile removes (1.6 errata 3.25/3.26)."""

    profile_id: int | None = None
    evse_id: int | None = None
    purpose: ChargingProfilePurpose | None = None
    stack_level: int | None = None

    def matches(self, evse_id: int, profile: ChargingProfile) -> bool:
        """True if a profile installed on ``evse_id`` is cleared by these criteria."""
        if self.profile_id is not None:
            return profile.id == self.profile_id  # the other fields are then ignored
        return (
            (self.evse_id is None or self.evse_id == evse_id)
            and (self.purpose is None or self.purpose is profile.purpose)
            and (self.stack_level is None or self.stack_level == profile.stack_level)
        )


class ChargingProfileRepository(Protocol):
    """The profile store (changes committed on return)."""

    async def record_set(
        self,
        station_id: str,
        evse_id: int,
        profile: ChargingProfile,
        status: ChargingProfileStatus | None,
        now: datetime,
    ) -> None:
        """Store a SetChargingProfile and the answer; Accepted installs it (superseding others)."""
        ...

    async def record_clear(
        self,
        station_id: str,
        criteria: ClearCriteria,
        status: ClearChargingProfileStatus,
        now: datetime,
    ) -> int:
        """Store a ClearChargingProfile answer; Accepted removes the matching installed profiles.

        Returns:
            How many installed profiles were removed.
        """
        ...

    async def end_transaction(self, station_id: str, evse_id: int, now: datetime) -> int:
        """Uninstall the TxProfiles of ``evse_id``: they end with its transaction (1.6 §3.13.1).

        For the transactions block to call when a transaction stops. Returns how many were removed.
        """
        ...

    async def installed(self, station_id: str) -> Sequence[InstalledProfile]:
        """Return the profiles installed on the station, by EVSE, purpose and stack level."""
        ...

    async def history(self, station_id: str, *, limit: int = 100) -> Sequence[InstalledProfile]:
        """Return every profile sent to the station, newest first, with its answer."""
        ...
