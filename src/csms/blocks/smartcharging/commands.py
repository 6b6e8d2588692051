"""Operator commands of the smart charging block, over the :class:`StationGateway` port.

* :meth:`SmartChargingCommands.set_charging_profile` sends a profile and stores it with the
  station's answer (an accepted one supersedes the station's profile with the same id or the same
  EVSE, purpose and stackLevel; 1.6 §5.16.3).
* :meth:`SmartChargingCommands.clear_charging_profile` clears by id or by EVSE/purpose/stackLevel;
  the store changes only when the station answered Accepted.
* :meth:`SmartChargingCommands.get_composite_schedule` asks the station for its composite schedule,
  computes the one csms expects from the installed profiles (:func:`csms.domain.composite.
  composite_schedule`, from the station's own schedule start) and compares the two.

A command without an answer (timeout, CALLERROR, disconnect) raises the gateway's domain error; a
SetChargingProfile is then stored without status and counts as not installed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from csms.blocks.smartcharging import payloads
from csms.domain.composite import (
    DEFAULT_VOLTAGE,
    CompositeSchedule,
    ScheduleComparison,
    compare,
    composite_schedule,
)
from csms.domain.errors import DomainError, InvalidPayload, StationNotConnected
from csms.domain.ports import StationGateway
from csms.domain.smartcharging import (
    ChargingProfile,
    ChargingProfileRepository,
    ChargingProfileStatus,
    ChargingRateUnit,
    ClearChargingProfileStatus,
    ClearCriteria,
    GetCompositeScheduleStatus,
)
from csms.rpc import OcppVersion

__all__ = [
    "COMMANDS",
    "ClearChargingProfileResult",
    "CompositeScheduleResult",
    "SmartChargingCommands",
]

logger = logging.getLogger(__name__)

# The (version, action) pairs these commands send, for the support matrix.
COMMANDS = frozenset(
    (version, action)
    for version in OcppVersion
    for action in ("SetChargingProfile", "ClearChargingProfile", "GetCompositeSchedule")
)


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class ClearChargingProfileResult:
    """The station's answer and how many installed profiles the store removed."""

    status: ClearChargingProfileStatus
    removed: int


@dataclass(frozen=True, slots=True)
class CompositeScheduleResult:
    """The station's composite schedule next to the one csms expects, and how they differ."""

    status: GetCompositeScheduleStatus
    reported: CompositeSchedule | None  # None: the station gave no schedule
    expected: CompositeSchedule
    comparison: ScheduleComparison | None  # None when there is nothing to compare

    @property
    def matches(self) -> bool:
        """True if the station reported a schedule equal to the expected one."""
        return self.comparison is not None and self.comparison.matches


class SmartChargingCommands:
    """Typed commands of the smart charging block."""

    def __init__(
        self,
        gateway: StationGateway,
        profiles: ChargingProfileRepository,
        *,
        clock: Callable[[], datetime] = _utc_now,
        call_timeout: float | None = None,
        voltage: float = DEFAULT_VOLTAGE,
    ) -> None:
        self._gateway = gateway
        self._profiles = profiles
        self._clock = clock
        self._timeout = call_timeout
        self._voltage = voltage

    def _version(self, station_id: str) -> OcppVersion:
        version = self._gateway.ocpp_version(station_id)
        if version is None:
            raise StationNotConnected(f"station {station_id!r} is not connected")
        return OcppVersion(version)

    async def set_charging_profile(
        self, station_id: str, evse_id: int, profile: ChargingProfile
    ) -> ChargingProfileStatus:
        """Send SetChargingProfile (1.6 §5.16; 2.x K01) and store the profile with the answer.

        Raises:
            InvalidPayload: the profile cannot be set there (1.6 §3.13.1) or is invalid for the
                station's version; nothing is sent or stored.
            StationNotConnected, CallTimeout, CallFailed, CallOutcomeUnknown, StationBusy.
        """
        version = self._version(station_id)
        payloads.check_target(evse_id, profile)
        request = payloads.profile_payload(evse_id, profile, version)
        try:
            answer = await self._gateway.call(
                station_id, "SetChargingProfile", request, timeout=self._timeout
            )
        except DomainError as error:
            await self.record_set_unanswered(station_id, evse_id, profile, error)
            raise
        return await self.record_set_answer(station_id, evse_id, profile, answer)

    async def record_set_unanswered(
        self, station_id: str, evse_id: int, profile: ChargingProfile, error: DomainError
    ) -> None:
        """Store a SetChargingProfile that got no answer (timeout, CALLERROR, disconnect)
        without status, as not installed; one refused before sending (InvalidPayload) is not
        stored. Also for one sent through the generic call."""
        if not isinstance(error, InvalidPayload):
            await self._profiles.record_set(station_id, evse_id, profile, None, self._clock())

    async def record_set_answer(
        self, station_id: str, evse_id: int, profile: ChargingProfile, answer: dict[str, object]
    ) -> ChargingProfileStatus:
        """Store a sent SetChargingProfile with the station's answer (also for one sent through
        the generic call); Accepted installs it."""
        status = ChargingProfileStatus(str(answer["status"]))
        await self._profiles.record_set(station_id, evse_id, profile, status, self._clock())
        logger.info(
            "[%s] SetChargingProfile %d (%s, level %d) on %d: %s",
            station_id,
            profile.id,
            profile.purpose.value,
            profile.stack_level,
            evse_id,
            status.value,
        )
        return status

    async def clear_charging_profile(
        self, station_id: str, criteria: ClearCriteria | None = None
    ) -> ClearChargingProfileResult:
        """Send ClearChargingProfile (1.6 §5.5; 2.x K10); on Accepted remove matching profiles."""
        criteria = criteria or ClearCriteria()
        # 1.6 connectorId 0 and 2.x evseId 0 address the whole station; below 0 addresses nothing.
        for name, value in (("evseId", criteria.evse_id), ("stackLevel", criteria.stack_level)):
            if value is not None and value < 0:
                raise InvalidPayload(
                    f"{name} cannot be negative (0 is the whole station)"
                    if name == "evseId"
                    else "stackLevel cannot be negative",
                    code="PropertyConstraintViolation",
                    path=f"chargingProfileCriteria.{name}",
                )
        version = self._version(station_id)
        answer = await self._gateway.call(
            station_id,
            "ClearChargingProfile",
            payloads.clear_payload(criteria, version),
            timeout=self._timeout,
        )
        return await self.record_clear_answer(station_id, criteria, answer)

    async def record_clear_answer(
        self, station_id: str, criteria: ClearCriteria, answer: dict[str, object]
    ) -> ClearChargingProfileResult:
        """Keep the station's answer to ClearChargingProfile: Accepted removes the profiles the
        criteria match (also for one sent through the generic call)."""
        status = ClearChargingProfileStatus(str(answer["status"]))
        removed = await self._profiles.record_clear(station_id, criteria, status, self._clock())
        logger.info("[%s] ClearChargingProfile: %s (%d removed)", station_id, status, removed)
        return ClearChargingProfileResult(status, removed)

    async def expected_schedule(
        self,
        station_id: str,
        evse_id: int,
        *,
        start: datetime,
        duration: int,
        charging_rate_unit: ChargingRateUnit | None = None,
        transaction_start: datetime | None = None,
        transaction_id: str | None = None,
    ) -> CompositeSchedule:
        """The composite schedule csms expects the station to apply, from the installed profiles."""
        installed = await self._profiles.installed(station_id)
        return composite_schedule(
            [(p.evse_id, p.profile) for p in installed],
            evse_id=evse_id,
            start=start,
            duration=duration,
            charging_rate_unit=charging_rate_unit,
            transaction_start=transaction_start,
            transaction_id=transaction_id,
            voltage=self._voltage,
        )

    async def get_composite_schedule(
        self,
        station_id: str,
        evse_id: int,
        duration: int,
        charging_rate_unit: ChargingRateUnit | None = None,
        *,
        transaction_start: datetime | None = None,
        transaction_id: str | None = None,
        tolerance: float = 0.1,
    ) -> CompositeScheduleResult:
        """Send GetCompositeSchedule (1.6 §5.7; 2.x K08) and compare with the expected schedule.

        ``transaction_start`` / ``transaction_id`` describe the transaction running on
        ``evse_id``, if any (TxProfiles and Relative profiles depend on it). The expected schedule
        starts where the station's does, in the requested unit, else in the station's.
        """
        version = self._version(station_id)
        sent_at = self._clock().replace(microsecond=0)
        answer = await self._gateway.call(
            station_id,
            "GetCompositeSchedule",
            payloads.composite_request(evse_id, duration, charging_rate_unit, version),
            timeout=self._timeout,
        )
        reported = payloads.composite_from_response(
            answer, version, evse_id=evse_id, duration=duration, received_at=sent_at
        )
        unit = charging_rate_unit or (reported.charging_rate_unit if reported else None)
        expected = await self.expected_schedule(
            station_id,
            evse_id,
            start=reported.start if reported else sent_at,
            duration=duration,
            charging_rate_unit=unit,
            transaction_start=transaction_start,
            transaction_id=transaction_id,
        )
        comparison = None
        if reported is not None:
            comparison = compare(expected, reported, tolerance=tolerance, voltage=self._voltage)
        logger.info(
            "[%s] GetCompositeSchedule %d: %s, %s",
            station_id,
            evse_id,
            answer["status"],
            "as expected" if comparison and comparison.matches else "differs or none",
        )
        status = GetCompositeScheduleStatus(answer["status"])
        return CompositeScheduleResult(status, reported, expected, comparison)
