"""Version-neutral operator commands (CSMS → station) and what stations answer to them.

The blocks' ``commands`` modules map these to the payloads of the station's negotiated version
(1.6 edition 2 §5; 2.0.1 Part 2 use cases B, C, F, G, P) and map the answers back. Status enums
are the union of the versions' values, so one result type serves every version; a value a version
does not define simply never occurs for it.

Targets follow :mod:`csms.domain.model`: ``evse_id`` N is 1.6 ``connectorId`` N, and 0 means the
station as a whole.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

S = TypeVar("S", bound=enum.StrEnum)

__all__ = [
    "MASKED",
    "AcceptStatus",
    "AvailabilityType",
    "ChangeStatus",
    "CommandResult",
    "ConfigurationKey",
    "ConfigurationReport",
    "ConfigurationStatus",
    "DataTransferResult",
    "DataTransferStatus",
    "MessageTrigger",
    "RemoteStartResult",
    "ResetType",
    "StatusInfo",
    "TriggerStatus",
    "UnlockStatus",
    "VariableRef",
    "VariableResult",
]


class AcceptStatus(enum.StrEnum):
    """ClearCache, RemoteStart/Stop (2.x RequestStart/Stop): the station accepts or not."""

    ACCEPTED = "Accepted"
    REJECTED = "Rejected"


class ChangeStatus(enum.StrEnum):
    """ChangeAvailability and Reset: accepted now, refused, or scheduled for later."""

    ACCEPTED = "Accepted"
    REJECTED = "Rejected"
    SCHEDULED = "Scheduled"


class ConfigurationStatus(enum.StrEnum):
    """1.6 ChangeConfiguration.conf and 2.x SetVariableStatusEnumType."""

    ACCEPTED = "Accepted"
    REJECTED = "Rejected"
    REBOOT_REQUIRED = "RebootRequired"
    NOT_SUPPORTED = "NotSupported"
    UNKNOWN_COMPONENT = "UnknownComponent"
    UNKNOWN_VARIABLE = "UnknownVariable"
    NOT_SUPPORTED_ATTRIBUTE_TYPE = "NotSupportedAttributeType"

    @property
    def applied(self) -> bool:
        """True if the station took the new value (now or after a reboot)."""
        return self in (ConfigurationStatus.ACCEPTED, ConfigurationStatus.REBOOT_REQUIRED)


class UnlockStatus(enum.StrEnum):
    """1.6 UnlockStatus and 2.x UnlockStatusEnumType."""

    UNLOCKED = "Unlocked"
    UNLOCK_FAILED = "UnlockFailed"
    NOT_SUPPORTED = "NotSupported"
    ONGOING_AUTHORIZED_TRANSACTION = "OngoingAuthorizedTransaction"
    UNKNOWN_CONNECTOR = "UnknownConnector"


class TriggerStatus(enum.StrEnum):
    """TriggerMessage / ExtendedTriggerMessage answers (1.6 §6.53, 2.0.1 F06)."""

    ACCEPTED = "Accepted"
    REJECTED = "Rejected"
    NOT_IMPLEMENTED = "NotImplemented"


class DataTransferStatus(enum.StrEnum):
    """DataTransfer answers in either direction (1.6 §4.3/§5.6; 2.0.1 P01/P02)."""

    ACCEPTED = "Accepted"
    REJECTED = "Rejected"
    UNKNOWN_MESSAGE_ID = "UnknownMessageId"
    UNKNOWN_VENDOR_ID = "UnknownVendorId"


class AvailabilityType(enum.StrEnum):
    """1.6 AvailabilityType; 2.x OperationalStatusEnumType (same values)."""

    OPERATIVE = "Operative"
    INOPERATIVE = "Inoperative"


class ResetType(enum.StrEnum):
    """What kind of reset an operator asks for.

    =========== ============ =============================================================
    value       1.6 (§5.14)  2.x (B11/B12)
    =========== ============ =============================================================
    Hard        Hard         Immediate (2.x has no hard reset; it ends transactions first)
    Soft        Soft         Immediate
    Immediate   Hard         Immediate
    OnIdle      (refused)    OnIdle: once no transaction is running
    =========== ============ =============================================================
    """

    HARD = "Hard"
    SOFT = "Soft"
    IMMEDIATE = "Immediate"
    ON_IDLE = "OnIdle"


class MessageTrigger(enum.StrEnum):
    """Messages an operator can ask a station to send (1.6 §5.17 and security extension; 2.x F06).

    The 2.x name is used where the versions differ: ``SignChargingStationCertificate`` is 1.6
    ``SignChargePointCertificate``. ``DiagnosticsStatusNotification`` exists in 1.6 only;
    ``TransactionEvent``, ``SignV2GCertificate``, ``SignCombinedCertificate`` and
    ``PublishFirmwareStatusNotification`` in 2.x only.
    """

    BOOT_NOTIFICATION = "BootNotification"
    DIAGNOSTICS_STATUS_NOTIFICATION = "DiagnosticsStatusNotification"
    FIRMWARE_STATUS_NOTIFICATION = "FirmwareStatusNotification"
    HEARTBEAT = "Heartbeat"
    METER_VALUES = "MeterValues"
    STATUS_NOTIFICATION = "StatusNotification"
    LOG_STATUS_NOTIFICATION = "LogStatusNotification"
    SIGN_CHARGING_STATION_CERTIFICATE = "SignChargingStationCertificate"
    SIGN_V2G_CERTIFICATE = "SignV2GCertificate"
    SIGN_COMBINED_CERTIFICATE = "SignCombinedCertificate"
    TRANSACTION_EVENT = "TransactionEvent"
    PUBLISH_FIRMWARE_STATUS_NOTIFICATION = "PublishFirmwareStatusNotification"


@dataclass(frozen=True, slots=True)
class StatusInfo:
    """2.x StatusInfoType: why the station answered as it did (absent in 1.6)."""

    reason_code: str
    additional_info: str | None = None


@dataclass(frozen=True, slots=True)
class CommandResult(Generic[S]):
    """A station's answer to a command that reports only a status."""

    status: S
    status_info: StatusInfo | None = None


@dataclass(frozen=True, slots=True)
class RemoteStartResult:
    """RemoteStartTransaction.conf / RequestStartTransactionResponse.

    ``remote_start_id`` is the id csms sent (2.x only); the station repeats it in the
    TransactionEvent that starts the transaction. ``transaction_id`` is set by a 2.x station
    whose EVSE already had a transaction.
    """

    status: AcceptStatus
    remote_start_id: int | None = None
    transaction_id: str | None = None
    status_info: StatusInfo | None = None


@dataclass(frozen=True, slots=True)
class DataTransferResult:
    """DataTransfer.conf / DataTransferResponse, in either direction.

    ``data`` is a string in 1.6 and any JSON value in 2.x.
    """

    status: DataTransferStatus
    data: Any = None
    status_info: StatusInfo | None = None


@dataclass(frozen=True, slots=True)
class ConfigurationKey:
    """One 1.6 configuration key as a station reported it (1.6 §9; GetConfiguration.conf).

    ``unknown`` is True for a key the station said it does not know (``unknownKey``). Write-only
    secrets (AuthorizationKey) never carry their value: it is :data:`MASKED` whenever the station
    reported one. ``read_at`` is when a GetConfiguration last reported the key; ``changed_at`` when
    a ChangeConfiguration set it (the value is then the one csms sent).
    """

    key: str
    value: str | None = None
    readonly: bool | None = None
    unknown: bool = False
    read_at: datetime | None = None
    changed_at: datetime | None = None


MASKED = "********"


@dataclass(frozen=True, slots=True)
class ConfigurationReport:
    """GetConfiguration.conf: the keys the station reported and the ones it does not know."""

    keys: tuple[ConfigurationKey, ...]
    unknown_keys: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class VariableRef:
    """A 2.x device-model variable: component (+ instance, EVSE) and variable (+ instance)."""

    component: str
    variable: str
    component_instance: str | None = None
    variable_instance: str | None = None
    evse_id: int | None = None
    connector_id: int | None = None
    attribute_type: str | None = None  # Actual (default) | Target | MinSet | MaxSet


@dataclass(frozen=True, slots=True)
class VariableResult:
    """One entry of a 2.x GetVariablesResponse or SetVariablesResponse.

    ``status`` is the station's attributeStatus as sent (GetVariableStatusEnumType or
    SetVariableStatusEnumType); ``value`` is set for a successful get, masked for secrets.
    """

    ref: VariableRef
    status: str
    value: str | None = None
    status_info: StatusInfo | None = None
