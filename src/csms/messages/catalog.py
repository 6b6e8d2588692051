"""Which OCPP actions exist in each version, and who may send their request.

The action *names* are those of the official JSON schemas shipped in the ``ocpp`` wheel (see
:mod:`csms.messages.schemas`); a unit test keeps these tables and the schema files in step. The
*directions* are hand-written from the specifications:

* 1.6: OCPP 1.6 edition 2 §4 "Operations Initiated by Charge Point" and §5 "Operations Initiated by
  Central System"; the security extension from "Improved security for OCPP 1.6-J" edition 2 §5,
  whose message descriptions say which side sends each request.
* 2.0.1: the use cases of OCPP 2.0.1 Part 2, as exercised by the Part 6 test cases.
* 2.1: the 2.0.1 set (unchanged) plus the messages new in 2.1, from their schema descriptions and
  use cases. NotifyPeriodicEventStream is only ever sent as an unconfirmed SEND (2.1 Part 4 §4.2.4):
  it has no response schema and is never answered.

DataTransfer is the only action either side may initiate, in every version.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from csms.rpc.versions import OcppVersion


class Direction(enum.Enum):
    """Who sends the request (CALL, or 2.1 SEND) of an action; the value is for display."""

    CS_TO_CSMS = "CS→CSMS"
    CSMS_TO_CS = "CSMS→CS"
    BOTH = "both"

    @property
    def from_station(self) -> bool:
        """True if a station may send this request to the CSMS."""
        return self is not Direction.CSMS_TO_CS

    @property
    def to_station(self) -> bool:
        """True if the CSMS may send this request to a station."""
        return self is not Direction.CS_TO_CSMS


@dataclass(frozen=True, slots=True)
class ActionInfo:
    """What the catalog knows about one action of one version.

    Attributes:
        name: the action as it appears on the wire (case-sensitive, no "Request" suffix).
        direction: who may send the request.
        unconfirmed: 2.1 only: sent as SEND, so there is no response (2.1 Part 4 §4.2.4).
        security_extension: 1.6 only: added by the 1.6 security whitepaper (edition 2 §5).
    """

    name: str
    direction: Direction
    unconfirmed: bool = False
    security_extension: bool = False


_CS = Direction.CS_TO_CSMS
_CSMS = Direction.CSMS_TO_CS
_BOTH = Direction.BOTH

# OCPP 1.6 edition 2 §4 (Charge Point initiated) and §5 (Central System initiated).
_V16_CORE: dict[str, Direction] = {
    "Authorize": _CS,
    "BootNotification": _CS,
    "DataTransfer": _BOTH,  # §4.3 and §5.6
    "DiagnosticsStatusNotification": _CS,
    "FirmwareStatusNotification": _CS,
    "Heartbeat": _CS,
    "MeterValues": _CS,
    "StartTransaction": _CS,
    "StatusNotification": _CS,
    "StopTransaction": _CS,
    "CancelReservation": _CSMS,
    "ChangeAvailability": _CSMS,
    "ChangeConfiguration": _CSMS,
    "ClearCache": _CSMS,
    "ClearChargingProfile": _CSMS,
    "GetCompositeSchedule": _CSMS,
    "GetConfiguration": _CSMS,
    "GetDiagnostics": _CSMS,
    "GetLocalListVersion": _CSMS,
    "RemoteStartTransaction": _CSMS,
    "RemoteStopTransaction": _CSMS,
    "ReserveNow": _CSMS,
    "Reset": _CSMS,
    "SendLocalList": _CSMS,
    "SetChargingProfile": _CSMS,
    "TriggerMessage": _CSMS,
    "UnlockConnector": _CSMS,
    "UpdateFirmware": _CSMS,
}

# "Improved security for OCPP 1.6-J" edition 2 §5.1-§5.22.
_V16_SECURITY: dict[str, Direction] = {
    "CertificateSigned": _CSMS,
    "DeleteCertificate": _CSMS,
    "ExtendedTriggerMessage": _CSMS,
    "GetInstalledCertificateIds": _CSMS,
    "GetLog": _CSMS,
    "InstallCertificate": _CSMS,
    "LogStatusNotification": _CS,
    "SecurityEventNotification": _CS,
    "SignCertificate": _CS,
    "SignedFirmwareStatusNotification": _CS,
    "SignedUpdateFirmware": _CSMS,
}

# OCPP 2.0.1 Part 2 use cases (A-P); unchanged in 2.1.
_V201: dict[str, Direction] = {
    "Authorize": _CS,
    "BootNotification": _CS,
    "ClearedChargingLimit": _CS,
    "DataTransfer": _BOTH,
    "FirmwareStatusNotification": _CS,
    "Get15118EVCertificate": _CS,
    "GetCertificateStatus": _CS,
    "Heartbeat": _CS,
    "LogStatusNotification": _CS,
    "MeterValues": _CS,
    "NotifyChargingLimit": _CS,
    "NotifyCustomerInformation": _CS,
    "NotifyDisplayMessages": _CS,
    "NotifyEVChargingNeeds": _CS,
    "NotifyEVChargingSchedule": _CS,
    "NotifyEvent": _CS,
    "NotifyMonitoringReport": _CS,
    "NotifyReport": _CS,
    "PublishFirmwareStatusNotification": _CS,  # sent by a Local Controller (L03)
    "ReportChargingProfiles": _CS,
    "ReservationStatusUpdate": _CS,
    "SecurityEventNotification": _CS,
    "SignCertificate": _CS,
    "StatusNotification": _CS,
    "TransactionEvent": _CS,
    "CancelReservation": _CSMS,
    "CertificateSigned": _CSMS,
    "ChangeAvailability": _CSMS,
    "ClearCache": _CSMS,
    "ClearChargingProfile": _CSMS,
    "ClearDisplayMessage": _CSMS,
    "ClearVariableMonitoring": _CSMS,
    "CostUpdated": _CSMS,
    "CustomerInformation": _CSMS,
    "DeleteCertificate": _CSMS,
    "GetBaseReport": _CSMS,
    "GetChargingProfiles": _CSMS,
    "GetCompositeSchedule": _CSMS,
    "GetDisplayMessages": _CSMS,
    "GetInstalledCertificateIds": _CSMS,
    "GetLocalListVersion": _CSMS,
    "GetLog": _CSMS,
    "GetMonitoringReport": _CSMS,
    "GetReport": _CSMS,
    "GetTransactionStatus": _CSMS,
    "GetVariables": _CSMS,
    "InstallCertificate": _CSMS,
    "PublishFirmware": _CSMS,  # to a Local Controller (L03)
    "RequestStartTransaction": _CSMS,
    "RequestStopTransaction": _CSMS,
    "ReserveNow": _CSMS,
    "Reset": _CSMS,
    "SendLocalList": _CSMS,
    "SetChargingProfile": _CSMS,
    "SetDisplayMessage": _CSMS,
    "SetMonitoringBase": _CSMS,
    "SetMonitoringLevel": _CSMS,
    "SetNetworkProfile": _CSMS,
    "SetVariableMonitoring": _CSMS,
    "SetVariables": _CSMS,
    "TriggerMessage": _CSMS,
    "UnlockConnector": _CSMS,
    "UnpublishFirmware": _CSMS,
    "UpdateFirmware": _CSMS,
}

# Messages new in OCPP 2.1 edition 1.
_V21_NEW: dict[str, Direction] = {
    "BatterySwap": _CS,
    "ClosePeriodicEventStream": _CS,
    "GetCertificateChainStatus": _CS,
    "NotifyDERAlarm": _CS,
    "NotifyDERStartStop": _CS,
    "NotifyPeriodicEventStream": _CS,  # SEND only, see _V21_UNCONFIRMED
    "NotifyPriorityCharging": _CS,
    "NotifySettlement": _CS,
    "OpenPeriodicEventStream": _CS,
    "PullDynamicScheduleUpdate": _CS,
    "ReportDERControl": _CS,
    "VatNumberValidation": _CS,
    "AFRRSignal": _CSMS,
    "AdjustPeriodicEventStream": _CSMS,
    "ChangeTransactionTariff": _CSMS,
    "ClearDERControl": _CSMS,
    "ClearTariffs": _CSMS,
    "GetDERControl": _CSMS,
    "GetPeriodicEventStream": _CSMS,
    "GetTariffs": _CSMS,
    "NotifyAllowedEnergyTransfer": _CSMS,
    "NotifyWebPaymentStarted": _CSMS,
    "RequestBatterySwap": _CSMS,
    "SetDERControl": _CSMS,
    "SetDefaultTariff": _CSMS,
    "UpdateDynamicSchedule": _CSMS,
    "UsePriorityCharging": _CSMS,
}

# 2.1 Part 4 §4.2.4: sent as SEND [6, id, action, payload], never answered.
_V21_UNCONFIRMED = frozenset({"NotifyPeriodicEventStream"})


def _build(
    table: Mapping[str, Direction],
    *,
    unconfirmed: Iterable[str] = (),
    security: Iterable[str] = (),
) -> Mapping[str, ActionInfo]:
    unconfirmed, security = frozenset(unconfirmed), frozenset(security)
    return MappingProxyType(
        {
            name: ActionInfo(name, direction, name in unconfirmed, name in security)
            for name, direction in sorted(table.items())
        }
    )


_CATALOG: Mapping[OcppVersion, Mapping[str, ActionInfo]] = MappingProxyType(
    {
        OcppVersion.V16: _build(_V16_CORE | _V16_SECURITY, security=_V16_SECURITY),
        OcppVersion.V201: _build(_V201),
        OcppVersion.V21: _build(_V201 | _V21_NEW, unconfirmed=_V21_UNCONFIRMED),
    }
)


def actions(version: OcppVersion) -> Mapping[str, ActionInfo]:
    """Return every action of ``version`` by name (a read-only mapping, sorted by name)."""
    return _CATALOG[version]


def action_info(version: OcppVersion, action: str) -> ActionInfo | None:
    """Return what the catalog knows about ``action`` in ``version``, or None if it does not exist.

    Names are case-sensitive (OCPP-J 1.6 §4.2.1; 2.0.1 Part 4 §4.1.6): ``bootnotification`` and the
    2.x ``BootNotificationRequest`` are unknown.
    """
    return _CATALOG[version].get(action)
