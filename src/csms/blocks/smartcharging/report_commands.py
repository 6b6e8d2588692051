"""GetChargingProfiles (2.0.1 K09): ask a 2.x station which charging profiles it has installed.

The station answers Accepted (ReportChargingProfiles parts follow, with the same ``requestId``,
kept by :class:`~csms.blocks.smartcharging.handlers.SmartChargingReportsBlock`) or NoProfiles.
This shows what the station really runs beside what csms believes it installed (the profile
store), including profiles set by others (an energy manager, the station itself).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from csms.blocks.outbound import (
    Payload,
    not_in_version,
    read_status,
    read_status_info,
    sends,
    sent_actions,
)
from csms.domain.commands import CommandResult
from csms.rpc import OcppVersion

__all__ = ["COMMANDS", "GetChargingProfileStatus", "GetChargingProfiles"]

V2 = (OcppVersion.V201, OcppVersion.V21)


class GetChargingProfileStatus(enum.StrEnum):
    """2.x GetChargingProfileStatusEnumType."""

    ACCEPTED = "Accepted"
    NO_PROFILES = "NoProfiles"


@sends(V2, "GetChargingProfiles")
@dataclass(frozen=True, slots=True)
class GetChargingProfiles:
    """K09: report the profiles matching the criterion (on ``evse_id``; 0 the station; None all).

    ``purpose`` is a ChargingProfilePurposeEnumType name (including the station's own
    ``ChargingStationExternalConstraints``), ``sources`` ChargingLimitSourceEnumType names.
    """

    request_id: int
    evse_id: int | None = None
    purpose: str | None = None
    stack_level: int | None = None
    profile_ids: tuple[int, ...] = ()
    sources: tuple[str, ...] = ()

    def request(self, version: OcppVersion) -> tuple[str, Payload]:
        if not version.is_2x:
            raise not_in_version("GetChargingProfiles (1.6: GetCompositeSchedule)", version)
        criterion: Payload = {}
        if self.purpose is not None:
            criterion["chargingProfilePurpose"] = self.purpose
        if self.stack_level is not None:
            criterion["stackLevel"] = self.stack_level
        if self.profile_ids:
            criterion["chargingProfileId"] = list(self.profile_ids)
        if self.sources:
            criterion["chargingLimitSource"] = list(self.sources)
        payload: Payload = {"requestId": self.request_id, "chargingProfile": criterion}
        if self.evse_id is not None:
            payload["evseId"] = self.evse_id
        return "GetChargingProfiles", payload

    def result(
        self, version: OcppVersion, payload: Payload
    ) -> CommandResult[GetChargingProfileStatus]:
        return CommandResult(
            read_status(GetChargingProfileStatus, payload), read_status_info(payload)
        )


# The (version, action) pairs this module's commands send (for the support matrix).
COMMANDS = sent_actions(GetChargingProfiles)
