"""SetNetworkProfile (2.0.1 B09; 2.1 keeps it): store a connection profile in a station's slot.

A network connection profile tells the station where and how to connect (CSMS URL, security
profile, interface, APN/VPN) the next time it uses that configuration slot (B10: after the slot
is moved first in ``OCPPCommCtrlr.NetworkConfigurationPriority`` and the station resets). Two
rules keep an operator from weakening the link by accident:

* the profile's ``securityProfile`` is never lower than the one csms requires of its stations
  (``CSMS_SECURITY_PROFILE``): a station never drops to a weaker profile than csms enforces
  (2.0.1 A05: no downgrade; B09.FR.04 is the station-side rule), and a profile of 2 or more goes
  with a ``wss://`` URL, one below 2 with ``ws://`` (2.0.1 A00: TLS from profile 2 on);
* 2.1's ``connectionData.basicAuthPassword`` is refused: the password must change together with
  the hash csms checks, which only the password rotation does
  (``POST /api/v1/stations/{id}/authorization-key``).

The connection data is sent as given (schema-checked for the station's version by the gateway) and
never logged: APN and VPN passwords and keys travel in it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from csms.blocks.outbound import (
    Payload,
    not_in_version,
    read_status,
    read_status_info,
    sends,
    sent_actions,
)
from csms.domain.commands import CommandResult
from csms.domain.errors import CommandNotAllowed, InvalidPayload
from csms.rpc import OcppVersion

__all__ = ["COMMANDS", "SetNetworkProfile", "SetNetworkProfileStatus"]

V2 = (OcppVersion.V201, OcppVersion.V21)

# Security profiles 2 and 3 run over TLS (2.0.1 Part 2 A00.FR.2xx/3xx).
_TLS_FROM = 2
_PASSWORD_FIELD = "basicAuthPassword"


class SetNetworkProfileStatus(enum.StrEnum):
    """SetNetworkProfileStatusEnumType."""

    ACCEPTED = "Accepted"
    REJECTED = "Rejected"
    FAILED = "Failed"


@sends(V2, "SetNetworkProfile")
@dataclass(frozen=True, slots=True)
class SetNetworkProfile:
    """Store ``connection_data`` (a NetworkConnectionProfileType, spelled as the schema spells it)
    in the station's ``configuration_slot``.

    ``required_security_profile`` is csms's own ``CSMS_SECURITY_PROFILE``; there is no default,
    so no caller can forget the floor. For a 2.0.1 station, ``ocppVersion`` defaults to OCPP20
    (the only 2.x value 2.0.1 defines).

    Raises:
        CommandNotAllowed: a lower security profile than csms requires, or a basicAuthPassword.
        InvalidPayload: a security profile that is not an integer, or a URL scheme that does not
            fit it.
    """

    configuration_slot: int
    connection_data: Payload = field(repr=False)
    required_security_profile: int = field(kw_only=True)

    def __post_init__(self) -> None:
        if _PASSWORD_FIELD in self.connection_data:
            raise CommandNotAllowed(
                "connectionData.basicAuthPassword is changed by the password rotation, which "
                "also updates the password csms expects"
            )
        profile = self.connection_data.get("securityProfile")
        if not isinstance(profile, int) or isinstance(profile, bool):
            raise InvalidPayload(
                "connectionData.securityProfile must be an integer",
                code="TypeConstraintViolation",
                path="connectionData.securityProfile",
            )
        if profile < self.required_security_profile:
            raise CommandNotAllowed(
                f"security profile {profile} is lower than the {self.required_security_profile} "
                "csms requires (CSMS_SECURITY_PROFILE)"
            )
        url = self.connection_data.get("ocppCsmsUrl")
        if isinstance(url, str):
            scheme = url.partition(":")[0].lower()
            expected = "wss" if profile >= _TLS_FROM else "ws"
            if scheme != expected:
                raise InvalidPayload(
                    f"security profile {profile} connects with {expected}://, not {scheme}://",
                    code="PropertyConstraintViolation",
                    path="connectionData.ocppCsmsUrl",
                )

    def request(self, version: OcppVersion) -> tuple[str, Payload]:
        if not version.is_2x:
            raise not_in_version("SetNetworkProfile", version)
        data: dict[str, Any] = dict(self.connection_data)
        if version is OcppVersion.V201:
            data.setdefault("ocppVersion", "OCPP20")
        return "SetNetworkProfile", {
            "configurationSlot": self.configuration_slot,
            "connectionData": data,
        }

    def result(
        self, version: OcppVersion, payload: Payload
    ) -> CommandResult[SetNetworkProfileStatus]:
        return CommandResult(
            read_status(SetNetworkProfileStatus, payload), read_status_info(payload)
        )


# The (version, action) pairs this module's commands send (for the support matrix).
COMMANDS = sent_actions(SetNetworkProfile)
