"""What a station lets the CSMS read and change: 1.6 configuration keys and 2.x device-model variables.

1.6 keys are those of OCPP 1.6 edition 2 §9 (Standard Configuration Keys); 2.x variables are
(component, variable) pairs of the 2.0.1 Part 2 appendices §3 (OCPPCommCtrlr, TxCtrlr, ...), with
the reconnection back-off of Part 4 §8. One store serves both: a 1.6 key is a variable of the
unnamed component.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass


class Kind(enum.Enum):
    """The data type of a value, which decides what a Set/ChangeConfiguration may write."""

    INTEGER = "integer"
    BOOLEAN = "boolean"
    STRING = "string"


class SetResult(enum.Enum):
    """The outcome of writing a value (mapped to each version's status enum by the caller)."""

    ACCEPTED = "Accepted"
    REJECTED = "Rejected"
    UNKNOWN_COMPONENT = "UnknownComponent"
    UNKNOWN_VARIABLE = "UnknownVariable"


@dataclass(slots=True)
class Variable:
    """One configurable value, kept as the string the wire carries."""

    component: str
    name: str
    value: str
    kind: Kind = Kind.STRING
    readonly: bool = False
    instance: str | None = None


Key = tuple[str, str, str | None]


class ConfigStore:
    """The station's variables by (component, variable, instance)."""

    __slots__ = ("_values",)

    def __init__(self, variables: list[Variable]) -> None:
        self._values: dict[Key, Variable] = {
            (v.component, v.name, v.instance): v for v in variables
        }

    def __iter__(self) -> Iterator[Variable]:
        return iter(self._values.values())

    def find(self, component: str, name: str, instance: str | None = None) -> Variable | None:
        """Return the variable, or None."""
        return self._values.get((component, name, instance))

    def has_component(self, component: str) -> bool:
        """True if any variable belongs to ``component``."""
        return any(key[0] == component for key in self._values)

    def get(self, component: str, name: str, instance: str | None = None) -> str:
        """Return a variable's value (KeyError if the station has no such variable)."""
        return self._values[(component, name, instance)].value

    def get_int(self, component: str, name: str, default: int, instance: str | None = None) -> int:
        """Return an integer variable, or ``default`` when absent."""
        variable = self.find(component, name, instance)
        return default if variable is None else int(variable.value)

    def get_float(self, component: str, name: str, default: float) -> float:
        """Return a numeric variable as float (sub-second values are allowed for tests)."""
        variable = self.find(component, name)
        return default if variable is None else float(variable.value)

    def set(
        self,
        component: str,
        name: str,
        value: str,
        instance: str | None = None,
        *,
        force: bool = False,
    ) -> SetResult:
        """Write ``value`` if the variable exists, is writable and the value fits its type."""
        variable = self._values.get((component, name, instance))
        if variable is None:
            if self.has_component(component):
                return SetResult.UNKNOWN_VARIABLE
            return SetResult.UNKNOWN_COMPONENT
        if variable.readonly and not force:
            return SetResult.REJECTED
        if not _fits(variable.kind, value):
            return SetResult.REJECTED
        if variable.kind is Kind.BOOLEAN:
            value = value.lower()
        variable.value = value
        return SetResult.ACCEPTED


def _fits(kind: Kind, value: str) -> bool:
    if kind is Kind.INTEGER:
        try:
            float(value)  # numbers only; sub-second intervals keep tests fast
        except ValueError:
            return False
        return True
    if kind is Kind.BOOLEAN:
        return value.lower() in ("true", "false")
    return True


INT, B, S = Kind.INTEGER, Kind.BOOLEAN, Kind.STRING
V16 = ""  # 1.6 keys have no component


def v16_keys(*, connectors: int, heartbeat: float, meter_interval: float) -> ConfigStore:
    """The configuration keys of a 1.6 station (1.6 §9.1 Core, §9.3 Local Auth List, §9.4 Reservation,
    §9.5 Smart Charging profile keys), with readonly ones marked as the spec does."""

    def key(name: str, value: object, kind: Kind = S, readonly: bool = False) -> Variable:
        text = str(value).lower() if isinstance(value, bool) else str(value)
        return Variable(V16, name, text, kind, readonly)

    return ConfigStore(
        [
            key("AllowOfflineTxForUnknownId", False, B),
            key("AuthorizationCacheEnabled", False, B),
            key("AuthorizeRemoteTxRequests", False, B),
            key("ClockAlignedDataInterval", 0, INT),
            key("ConnectionTimeOut", 60, INT),
            key("GetConfigurationMaxKeys", 50, INT, readonly=True),
            key("HeartbeatInterval", heartbeat, INT),
            key("LocalAuthorizeOffline", True, B),
            key("LocalPreAuthorize", False, B),
            key("MeterValuesAlignedData", "Energy.Active.Import.Register"),
            key("MeterValuesSampledData", "Energy.Active.Import.Register,Power.Active.Import"),
            key("MeterValueSampleInterval", meter_interval, INT),
            key("NumberOfConnectors", connectors, INT, readonly=True),
            key("ResetRetries", 1, INT),
            key("StopTransactionOnEVSideDisconnect", True, B),
            key("StopTransactionOnInvalidId", True, B),
            key("StopTxnAlignedData", ""),
            key("StopTxnSampledData", "Energy.Active.Import.Register"),
            key(
                "SupportedFeatureProfiles",
                "Core,FirmwareManagement,LocalAuthListManagement,Reservation,SmartCharging,"
                "RemoteTrigger",
                readonly=True,
            ),
            key("TransactionMessageAttempts", 3, INT),
            key("TransactionMessageRetryInterval", 5, INT),
            key("UnlockConnectorOnEVSideDisconnect", True, B),
            key("WebSocketPingInterval", 0, INT),
            key("LocalAuthListEnabled", True, B),
            key("LocalAuthListMaxLength", 100, INT, readonly=True),
            key("SendLocalListMaxLength", 100, INT, readonly=True),
            key("ReserveConnectorZeroSupported", False, B, readonly=True),
            key("ChargeProfileMaxStackLevel", 10, INT, readonly=True),
            key("ChargingScheduleAllowedChargingRateUnit", "Current,Power", readonly=True),
            key("ChargingScheduleMaxPeriods", 24, INT, readonly=True),
            key("MaxChargingProfilesInstalled", 10, INT, readonly=True),
        ]
    )


def v2_variables(
    *,
    identity: str,
    evses: int,
    heartbeat: float,
    meter_interval: float,
    backoff: tuple[float, float, int],
) -> ConfigStore:
    """The device model of a 2.x station: the variables the 2.0.1 appendices mark Required for the
    functional blocks the simulator implements, plus the Part 4 §8 back-off variables."""
    wait_minimum, random_range, repeat_times = backoff

    def var(
        component: str,
        name: str,
        value: object,
        kind: Kind = S,
        /,
        *,
        readonly: bool = False,
        instance: str | None = None,
    ) -> Variable:
        text = str(value).lower() if isinstance(value, bool) else str(value)
        return Variable(component, name, text, kind, readonly, instance)

    return ConfigStore(
        [
            var("OCPPCommCtrlr", "HeartbeatInterval", heartbeat, INT),
            var("OCPPCommCtrlr", "RetryBackOffWaitMinimum", wait_minimum, INT),
            var("OCPPCommCtrlr", "RetryBackOffRandomRange", random_range, INT),
            var("OCPPCommCtrlr", "RetryBackOffRepeatTimes", repeat_times, INT),
            var("OCPPCommCtrlr", "MessageAttempts", 3, INT, instance="TransactionEvent"),
            var("OCPPCommCtrlr", "MessageAttemptInterval", 5, INT, instance="TransactionEvent"),
            var("OCPPCommCtrlr", "MessageTimeout", 30, INT, instance="Default"),
            var("OCPPCommCtrlr", "NetworkConfigurationPriority", "1"),
            var("OCPPCommCtrlr", "NetworkProfileConnectionAttempts", 3, INT),
            var("OCPPCommCtrlr", "OfflineThreshold", 60, INT),
            var("OCPPCommCtrlr", "ResetRetries", 1, INT),
            var("OCPPCommCtrlr", "UnlockOnEVSideDisconnect", True, B),
            var("OCPPCommCtrlr", "WebSocketPingInterval", 0, INT),
            var("SecurityCtrlr", "Identity", identity, readonly=True),
            var("SecurityCtrlr", "SecurityProfile", 1, INT, readonly=True),
            var("SecurityCtrlr", "OrganizationName", "csms simulator"),
            var("SecurityCtrlr", "CertificateEntries", 0, INT, readonly=True),
            var("AuthCtrlr", "AuthorizeRemoteStart", False, B),
            var("AuthCtrlr", "LocalAuthorizeOffline", True, B),
            var("AuthCtrlr", "LocalPreAuthorize", False, B),
            var("AuthCtrlr", "Enabled", True, B),
            var("AuthCacheCtrlr", "Enabled", False, B),
            var("LocalAuthListCtrlr", "Enabled", True, B),
            var("LocalAuthListCtrlr", "Entries", 0, INT, readonly=True),
            var("LocalAuthListCtrlr", "ItemsPerMessage", 100, INT, readonly=True),
            var("LocalAuthListCtrlr", "BytesPerMessage", 65536, INT, readonly=True),
            var("TxCtrlr", "EVConnectionTimeOut", 60, INT),
            var("TxCtrlr", "StopTxOnEVSideDisconnect", True, B),
            var("TxCtrlr", "StopTxOnInvalidId", True, B),
            var("TxCtrlr", "TxStartPoint", "PowerPathClosed"),
            var("TxCtrlr", "TxStopPoint", "EVConnected,Authorized"),
            var("SampledDataCtrlr", "TxUpdatedInterval", meter_interval, INT),
            var("SampledDataCtrlr", "TxUpdatedMeasurands", "Energy.Active.Import.Register"),
            var("SampledDataCtrlr", "TxEndedMeasurands", "Energy.Active.Import.Register"),
            var("SampledDataCtrlr", "TxEndedInterval", 0, INT),
            var("AlignedDataCtrlr", "Interval", 0, INT),
            var("AlignedDataCtrlr", "Measurands", "Energy.Active.Import.Register"),
            var("SmartChargingCtrlr", "Enabled", True, B),
            var(
                "SmartChargingCtrlr", "Entries", 0, INT, readonly=True, instance="ChargingProfiles"
            ),
            var("SmartChargingCtrlr", "LimitChangeSignificance", 1, INT),
            var("SmartChargingCtrlr", "PeriodsPerSchedule", 24, INT, readonly=True),
            var("SmartChargingCtrlr", "ProfileStackLevel", 10, INT, readonly=True),
            var("SmartChargingCtrlr", "RateUnit", "A,W", readonly=True),
            var("ReservationCtrlr", "Enabled", True, B),
            var("ReservationCtrlr", "NonEvseSpecific", False, B, readonly=True),
            var("DeviceDataCtrlr", "ItemsPerMessage", 50, INT, readonly=True, instance="GetReport"),
            var(
                "DeviceDataCtrlr",
                "ItemsPerMessage",
                50,
                INT,
                readonly=True,
                instance="GetVariables",
            ),
            var(
                "DeviceDataCtrlr",
                "ItemsPerMessage",
                50,
                INT,
                readonly=True,
                instance="SetVariables",
            ),
            var("ChargingStation", "AvailabilityState", "Available", readonly=True),
            var("ChargingStation", "Available", True, B, readonly=True),
            var("ChargingStation", "SupplyPhases", 3, INT, readonly=True),
            var("EVSE", "Count", evses, INT, readonly=True),
            var("ClockCtrlr", "DateTime", "", readonly=True),
            var("ClockCtrlr", "TimeSource", "Heartbeat"),
        ]
    )
