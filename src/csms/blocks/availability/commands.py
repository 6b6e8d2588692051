"""ChangeAvailability (1.6 §5.2; 2.0.1 G03/G04): make the station, an EVSE or a connector
(in)operative."""

from __future__ import annotations

from dataclasses import dataclass

from csms.blocks.outbound import (
    Payload,
    not_in_version,
    read_status,
    read_status_info,
    sends,
    sent_actions,
)
from csms.domain.commands import AvailabilityType, ChangeStatus, CommandResult
from csms.domain.errors import InvalidPayload
from csms.rpc import ALL_VERSIONS, OcppVersion

__all__ = ["COMMANDS", "ChangeAvailability"]


@sends(ALL_VERSIONS, "ChangeAvailability")
@dataclass(frozen=True, slots=True)
class ChangeAvailability:
    """Change the availability of the station (``evse_id`` 0), an EVSE, or one connector.

    1.6 has no connector below an EVSE: 1.6 ``connectorId`` N is EVSE N, so ``connector_id`` may
    only be given (as 1) for 2.x stations.
    """

    availability: AvailabilityType
    evse_id: int = 0
    connector_id: int | None = None

    def __post_init__(self) -> None:
        # 1.6 ChangeAvailability.req connectorId >= 0 (§6.7); 2.x connectors are numbered from 1
        # within their EVSE (2.0.1 part 1 §7.2). Refused rather than sent: a 2.x negative EVSE,
        # or a connector without its EVSE, would otherwise address the whole station.
        if self.evse_id < 0:
            raise InvalidPayload(
                "evse_id is 0 (the whole station) or an EVSE, numbered from 1",
                code="PropertyConstraintViolation",
                path="evse.id",
            )
        if self.connector_id is not None and (self.connector_id < 1 or self.evse_id < 1):
            raise InvalidPayload(
                "connector_id names a connector (numbered from 1) of the EVSE evse_id (from 1)",
                code="PropertyConstraintViolation",
                path="evse.connectorId",
            )

    def request(self, version: OcppVersion) -> tuple[str, Payload]:
        if version is OcppVersion.V16:
            if self.connector_id not in (None, 1):
                raise not_in_version("a connector below a 1.6 connector", version)
            return "ChangeAvailability", {
                "connectorId": self.evse_id,
                "type": self.availability.value,
            }
        payload: Payload = {"operationalStatus": self.availability.value}
        if self.evse_id > 0:
            evse: Payload = {"id": self.evse_id}
            if self.connector_id is not None:
                evse["connectorId"] = self.connector_id
            payload["evse"] = evse
        return "ChangeAvailability", payload

    def result(self, version: OcppVersion, payload: Payload) -> CommandResult[ChangeStatus]:
        return CommandResult(read_status(ChangeStatus, payload), read_status_info(payload))


# The (version, action) pairs this module's commands send (for the support matrix).
COMMANDS = sent_actions(ChangeAvailability)
