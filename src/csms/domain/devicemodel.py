"""The 2.x device model as csms knows it: what a station reported about its components, variables
and monitors, and the events it notified.

A 2.0.1/2.1 station describes itself as components (optionally on an EVSE and connector) holding
variables, each with up to four attributes (Actual, Target, MinSet, MaxSet) and characteristics
(2.0.1 Part 1 §4 "Device model"; Part 2 B07/B08 NotifyReport). csms keeps the latest reported value
of every attribute, whichever message reported it (NotifyReport, NotifyEvent's actualValue,
Get/SetVariables results), with the time and source, so an operator can see the station's
configuration without asking it again. Secret values (``SecurityCtrlr.BasicAuthPassword``) are
masked before they reach the repository (:func:`csms.domain.configuration.masked`).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

__all__ = [
    "ClearMonitoringStatus",
    "ComponentCriterion",
    "CustomerInformationStatus",
    "DeviceEvent",
    "DeviceModelRepository",
    "DeviceModelStatus",
    "MonitorReportPart",
    "MonitorSetting",
    "MonitorSettingResult",
    "MonitoringBase",
    "MonitoringCriterion",
    "ReportBase",
    "ReportPart",
    "ReportProgress",
    "ReportedVariable",
    "SetMonitoringStatus",
    "StoredAttribute",
    "VariableAttribute",
    "VariableCharacteristics",
    "VariableKey",
    "VariableMonitor",
]


class DeviceModelStatus(enum.StrEnum):
    """2.x GenericDeviceModelStatusEnumType: the answer to a report or monitoring-base request."""

    ACCEPTED = "Accepted"
    REJECTED = "Rejected"
    NOT_SUPPORTED = "NotSupported"
    EMPTY_RESULT_SET = "EmptyResultSet"


class ReportBase(enum.StrEnum):
    """2.x ReportBaseEnumType (GetBaseReport, B07)."""

    CONFIGURATION_INVENTORY = "ConfigurationInventory"
    FULL_INVENTORY = "FullInventory"
    SUMMARY_INVENTORY = "SummaryInventory"


class ComponentCriterion(enum.StrEnum):
    """2.x ComponentCriterionEnumType (GetReport, B08)."""

    ACTIVE = "Active"
    AVAILABLE = "Available"
    ENABLED = "Enabled"
    PROBLEM = "Problem"


class MonitoringCriterion(enum.StrEnum):
    """2.x MonitoringCriterionEnumType (GetMonitoringReport, N02)."""

    THRESHOLD = "ThresholdMonitoring"
    DELTA = "DeltaMonitoring"
    PERIODIC = "PeriodicMonitoring"


class MonitoringBase(enum.StrEnum):
    """2.x MonitoringBaseEnumType (SetMonitoringBase, N03)."""

    ALL = "All"
    FACTORY_DEFAULT = "FactoryDefault"
    HARD_WIRED_ONLY = "HardWiredOnly"


class SetMonitoringStatus(enum.StrEnum):
    """2.x SetMonitoringStatusEnumType (SetVariableMonitoring, N04)."""

    ACCEPTED = "Accepted"
    UNKNOWN_COMPONENT = "UnknownComponent"
    UNKNOWN_VARIABLE = "UnknownVariable"
    UNSUPPORTED_MONITOR_TYPE = "UnsupportedMonitorType"
    REJECTED = "Rejected"
    DUPLICATE = "Duplicate"


class ClearMonitoringStatus(enum.StrEnum):
    """2.x ClearMonitoringStatusEnumType (ClearVariableMonitoring, N06)."""

    ACCEPTED = "Accepted"
    REJECTED = "Rejected"
    NOT_FOUND = "NotFound"


class CustomerInformationStatus(enum.StrEnum):
    """2.x CustomerInformationStatusEnumType (CustomerInformation, N09/N10)."""

    ACCEPTED = "Accepted"
    REJECTED = "Rejected"
    INVALID = "Invalid"


@dataclass(frozen=True, slots=True, order=True)
class VariableKey:
    """Which variable: a component (with instance, EVSE, connector) and a variable (with instance).

    EVSE and connector are None when the component is not on one (2.0.1 Part 2 ComponentType).
    """

    component: str
    variable: str
    component_instance: str | None = None
    evse_id: int | None = None
    connector_id: int | None = None
    variable_instance: str | None = None

    def path(self) -> str:
        """A readable, unique text form: ``EVSE[2].Connector[1]/Component[inst]/Variable[inst]``."""
        where = ""
        if self.evse_id is not None:
            where = f"EVSE[{self.evse_id}]"
            if self.connector_id is not None:
                where += f".Connector[{self.connector_id}]"
            where += "/"
        component = self.component + (
            f"[{self.component_instance}]" if self.component_instance is not None else ""
        )
        variable = self.variable + (
            f"[{self.variable_instance}]" if self.variable_instance is not None else ""
        )
        return f"{where}{component}/{variable}"


@dataclass(frozen=True, slots=True)
class VariableAttribute:
    """One attribute of a variable as reported (2.0.1 VariableAttributeType)."""

    type: str = "Actual"  # AttributeEnumType: Actual, Target, MinSet, MaxSet
    value: str | None = None
    mutability: str | None = None  # ReadOnly, WriteOnly, ReadWrite (default ReadWrite)
    persistent: bool | None = None
    constant: bool | None = None


@dataclass(frozen=True, slots=True)
class VariableCharacteristics:
    """Fixed facts about a variable (2.0.1 VariableCharacteristicsType)."""

    data_type: str
    supports_monitoring: bool
    unit: str | None = None
    min_limit: float | None = None
    max_limit: float | None = None
    values_list: str | None = None


@dataclass(frozen=True, slots=True)
class ReportedVariable:
    """One ``reportData`` entry: a variable with its attributes and characteristics."""

    key: VariableKey
    attributes: tuple[VariableAttribute, ...]
    characteristics: VariableCharacteristics | None = None


@dataclass(frozen=True, slots=True)
class ReportPart:
    """One NotifyReport: part ``seq_no`` of the report requested with ``request_id``."""

    station_id: str
    request_id: int
    seq_no: int
    tbc: bool
    generated_at: datetime
    variables: tuple[ReportedVariable, ...]


@dataclass(frozen=True, slots=True)
class ReportProgress:
    """How far a requested report (GetBaseReport, GetReport, GetMonitoringReport) has arrived."""

    station_id: str
    request_id: int
    kind: str  # "variables" (NotifyReport) or "monitors" (NotifyMonitoringReport)
    parts: int
    last_seq_no: int
    complete: bool  # the part with tbc = false arrived and no seqNo is missing
    missing: tuple[int, ...]  # seqNos below the highest received that never arrived
    started_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class StoredAttribute:
    """What csms knows of one attribute of one variable, and where it learnt it."""

    key: VariableKey
    attribute: VariableAttribute
    characteristics: VariableCharacteristics | None
    source: str  # the OCPP action that last reported the value
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class DeviceEvent:
    """One NotifyEvent ``eventData`` entry (2.0.1 N07/G05; 2.1 adds ``severity``)."""

    station_id: str
    event_id: int
    timestamp: datetime
    trigger: str  # Alerting, Delta, Periodic
    actual_value: str
    notification_type: str  # HardWiredNotification, HardWiredMonitor, PreconfiguredMonitor, ...
    key: VariableKey
    cause: int | None = None
    tech_code: str | None = None
    tech_info: str | None = None
    cleared: bool | None = None
    transaction_id: str | None = None
    variable_monitoring_id: int | None = None
    severity: int | None = None  # 2.1 field; for 2.0.1 the severity of the monitor, when known
    received_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class VariableMonitor:
    """A monitor the station reported (2.0.1 VariableMonitoringType, N02/N03 NotifyMonitoringReport)."""

    station_id: str
    monitor_id: int
    key: VariableKey
    transaction: bool
    value: float
    type: str  # UpperThreshold, LowerThreshold, Delta, Periodic, PeriodicClockAligned
    severity: int  # 0 Danger ... 9 Debug (2.0.1 Part 2 §3.77)
    reported_at: datetime


@dataclass(frozen=True, slots=True)
class MonitorSetting:
    """A monitor to set (SetMonitoringData): ``monitor_id`` None creates one, else replaces it."""

    key: VariableKey
    type: str  # MonitorEnumType
    value: float
    severity: int
    transaction: bool = False
    monitor_id: int | None = None


@dataclass(frozen=True, slots=True)
class MonitorSettingResult:
    """The station's answer for one monitor (SetMonitoringResult); ``monitor_id`` once Accepted."""

    key: VariableKey
    status: SetMonitoringStatus
    type: str
    severity: int
    monitor_id: int | None = None
    status_info: tuple[str, str | None] | None = None


@dataclass(frozen=True, slots=True)
class MonitorReportPart:
    """One NotifyMonitoringReport: part ``seq_no`` of the monitoring report ``request_id``."""

    station_id: str
    request_id: int
    seq_no: int
    tbc: bool
    generated_at: datetime
    monitors: tuple[VariableMonitor, ...]


class DeviceModelRepository(Protocol):
    """Where the device model, its monitors and the notified events are kept.

    Every ``record_*`` method returns once the data is committed (ocpp-rules §3.3), and is
    idempotent: a NotifyReport/NotifyEvent sent again (a retry after a lost answer) changes nothing.
    """

    async def record_report(self, part: ReportPart, received_at: datetime) -> None:
        """Store the variables of one NotifyReport and note the part for its request."""

    async def record_values(
        self,
        station_id: str,
        values: Sequence[tuple[VariableKey, VariableAttribute]],
        *,
        source: str,
        at: datetime,
    ) -> None:
        """Store attribute values learnt from NotifyEvent or Get/SetVariables."""

    async def record_events(self, events: Sequence[DeviceEvent]) -> None:
        """Store notified events once each (per station, eventId and timestamp)."""

    async def record_monitor_report(self, part: MonitorReportPart, received_at: datetime) -> None:
        """Store the monitors of one NotifyMonitoringReport and note the part for its request."""

    async def record_monitors(self, monitors: Sequence[VariableMonitor]) -> None:
        """Store monitors a station accepted (SetVariableMonitoring), replacing same ids."""

    async def remove_monitors(self, station_id: str, monitor_ids: Sequence[int]) -> None:
        """Forget monitors the station cleared (ClearVariableMonitoring Accepted)."""

    async def monitor_severity(self, station_id: str, monitor_ids: Sequence[int]) -> dict[int, int]:
        """The severity of the station's known monitors among ``monitor_ids``."""
        ...

    async def attributes(
        self,
        station_id: str,
        *,
        component: str | None = None,
        variable: str | None = None,
    ) -> Sequence[StoredAttribute]:
        """The station's stored attributes, optionally of one component and/or variable name."""
        ...

    async def events(
        self, station_id: str, *, limit: int = 100, before_id: int | None = None
    ) -> Sequence[tuple[int, DeviceEvent]]:
        """The station's notified events, newest first, with their storage ids (for paging)."""
        ...

    async def monitors(self, station_id: str) -> Sequence[VariableMonitor]:
        """The station's reported monitors, by id."""
        ...

    async def reports(self, station_id: str) -> Sequence[ReportProgress]:
        """The reports the station sent, newest first."""
        ...
