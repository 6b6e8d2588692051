"""Monitoring and customer information commands (2.0.1 N02-N06, N09/N10).

SetVariableMonitoring / ClearVariableMonitoring change the monitors a station runs; with
:func:`set_variable_monitoring` / :func:`clear_variable_monitoring` the monitors the station
accepted (or cleared) are stored at once, so the stored monitors follow what the station runs
without a new GetMonitoringReport. GetMonitoringReport and CustomerInformation are answered by a
status and then by NotifyMonitoringReport / NotifyCustomerInformation parts with the same
``requestId`` (stored by their handlers).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from csms.blocks.outbound import (
    Payload,
    read_status,
    read_status_info,
    require_2x,
    send,
    sends,
    sent_actions,
)
from csms.blocks.provisioning.device_model import variable_key, variable_payloads
from csms.domain.commands import AcceptStatus, CommandResult, VariableRef
from csms.domain.devicemodel import (
    ClearMonitoringStatus,
    CustomerInformationStatus,
    DeviceModelRepository,
    DeviceModelStatus,
    MonitoringBase,
    MonitoringCriterion,
    MonitorSetting,
    MonitorSettingResult,
    SetMonitoringStatus,
    VariableMonitor,
)
from csms.domain.errors import InvalidPayload
from csms.domain.ports import StationGateway
from csms.rpc import OcppVersion

__all__ = [
    "COMMANDS",
    "ClearVariableMonitoring",
    "CustomerInformation",
    "GetMonitoringReport",
    "SetMonitoringBase",
    "SetMonitoringLevel",
    "SetVariableMonitoring",
    "clear_variable_monitoring",
    "set_variable_monitoring",
]

V2 = (OcppVersion.V201, OcppVersion.V21)


def _status_info(payload: Payload) -> tuple[str, str | None] | None:
    info = read_status_info(payload)
    return None if info is None else (info.reason_code, info.additional_info)


@sends(V2, "SetVariableMonitoring")
@dataclass(frozen=True, slots=True)
class SetVariableMonitoring:
    """N04: create or replace monitors; one result per monitor, in the order sent."""

    settings: tuple[MonitorSetting, ...]

    def request(self, version: OcppVersion) -> tuple[str, Payload]:
        require_2x("SetVariableMonitoring", version)
        data = []
        for s in self.settings:
            entry: Payload = {
                **variable_payloads(s.key),
                "value": s.value,
                "type": s.type,
                "severity": s.severity,
                "transaction": s.transaction,
            }
            if s.monitor_id is not None:
                entry["id"] = s.monitor_id
            data.append(entry)
        return "SetVariableMonitoring", {"setMonitoringData": data}

    def result(self, version: OcppVersion, payload: Payload) -> tuple[MonitorSettingResult, ...]:
        return tuple(
            MonitorSettingResult(
                key=variable_key(r["component"], r["variable"]),
                status=read_status(SetMonitoringStatus, r),
                type=str(r["type"]),
                severity=int(r["severity"]),
                monitor_id=r.get("id"),
                status_info=_status_info(r),
            )
            for r in payload.get("setMonitoringResult", ())
        )


@sends(V2, "ClearVariableMonitoring")
@dataclass(frozen=True, slots=True)
class ClearVariableMonitoring:
    """N06: remove monitors by id; one status per id."""

    monitor_ids: tuple[int, ...]

    def __post_init__(self) -> None:
        if not self.monitor_ids:
            raise InvalidPayload("name at least one monitor id to clear")

    def request(self, version: OcppVersion) -> tuple[str, Payload]:
        require_2x("ClearVariableMonitoring", version)
        return "ClearVariableMonitoring", {"id": list(self.monitor_ids)}

    def result(
        self, version: OcppVersion, payload: Payload
    ) -> tuple[tuple[int, ClearMonitoringStatus], ...]:
        return tuple(
            (int(r["id"]), read_status(ClearMonitoringStatus, r))
            for r in payload.get("clearMonitoringResult", ())
        )


@sends(V2, "SetMonitoringBase")
@dataclass(frozen=True, slots=True)
class SetMonitoringBase:
    """N03: which preconfigured monitors are active (All, FactoryDefault, HardWiredOnly)."""

    base: MonitoringBase

    def request(self, version: OcppVersion) -> tuple[str, Payload]:
        require_2x("SetMonitoringBase", version)
        return "SetMonitoringBase", {"monitoringBase": str(self.base)}

    def result(self, version: OcppVersion, payload: Payload) -> CommandResult[DeviceModelStatus]:
        return CommandResult(read_status(DeviceModelStatus, payload), read_status_info(payload))


@sends(V2, "SetMonitoringLevel")
@dataclass(frozen=True, slots=True)
class SetMonitoringLevel:
    """N05: report only events of this severity or more severe (0 Danger ... 9 Debug)."""

    severity: int

    def __post_init__(self) -> None:
        if not 0 <= self.severity <= 9:
            raise InvalidPayload("severity is 0 (Danger) to 9 (Debug)")

    def request(self, version: OcppVersion) -> tuple[str, Payload]:
        require_2x("SetMonitoringLevel", version)
        return "SetMonitoringLevel", {"severity": self.severity}

    def result(self, version: OcppVersion, payload: Payload) -> CommandResult[AcceptStatus]:
        return CommandResult(read_status(AcceptStatus, payload), read_status_info(payload))


@sends(V2, "GetMonitoringReport")
@dataclass(frozen=True, slots=True)
class GetMonitoringReport:
    """N02: report the monitors matching the criteria and/or components (NotifyMonitoringReport)."""

    request_id: int
    criteria: tuple[MonitoringCriterion, ...] = ()
    refs: tuple[VariableRef, ...] = ()

    def request(self, version: OcppVersion) -> tuple[str, Payload]:
        require_2x("GetMonitoringReport", version)
        payload: Payload = {"requestId": self.request_id}
        if self.criteria:
            payload["monitoringCriteria"] = [str(c) for c in self.criteria]
        if self.refs:
            payload["componentVariable"] = [variable_payloads(ref) for ref in self.refs]
        return "GetMonitoringReport", payload

    def result(self, version: OcppVersion, payload: Payload) -> CommandResult[DeviceModelStatus]:
        return CommandResult(read_status(DeviceModelStatus, payload), read_status_info(payload))


@sends(V2, "CustomerInformation")
@dataclass(frozen=True, slots=True)
class CustomerInformation:
    """N09/N10: report and/or clear what the station holds about one customer.

    The customer is named by exactly one of ``customer_identifier``, ``id_token`` (with its
    type) or ``customer_certificate`` (hash data), as the spec requires.
    """

    request_id: int
    report: bool
    clear: bool
    customer_identifier: str | None = None
    id_token: tuple[str, str] | None = None  # (idToken, IdTokenEnumType)
    customer_certificate: Payload | None = None  # CertificateHashDataType, as the schema names it

    def __post_init__(self) -> None:
        named = [
            x
            for x in (self.customer_identifier, self.id_token, self.customer_certificate)
            if x is not None
        ]
        if len(named) != 1:
            raise InvalidPayload(
                "name the customer by exactly one of customer_identifier, id_token or "
                "customer_certificate"
            )
        if not (self.report or self.clear):
            raise InvalidPayload("ask for a report, a clear, or both")

    def request(self, version: OcppVersion) -> tuple[str, Payload]:
        require_2x("CustomerInformation", version)
        payload: Payload = {
            "requestId": self.request_id,
            "report": self.report,
            "clear": self.clear,
        }
        if self.customer_identifier is not None:
            payload["customerIdentifier"] = self.customer_identifier
        if self.id_token is not None:
            payload["idToken"] = {"idToken": self.id_token[0], "type": self.id_token[1]}
        if self.customer_certificate is not None:
            payload["customerCertificate"] = self.customer_certificate
        return "CustomerInformation", payload

    def result(
        self, version: OcppVersion, payload: Payload
    ) -> CommandResult[CustomerInformationStatus]:
        return CommandResult(
            read_status(CustomerInformationStatus, payload), read_status_info(payload)
        )


async def set_variable_monitoring(
    gateway: StationGateway,
    device_model: DeviceModelRepository,
    station_id: str,
    settings: Sequence[MonitorSetting],
    *,
    clock: Callable[[], datetime],
    timeout: float | None = None,
) -> tuple[MonitorSettingResult, ...]:
    """Set monitors on a 2.x station and store each one it accepted, under the id it gave."""
    results = await send(
        gateway, station_id, SetVariableMonitoring(tuple(settings)), timeout=timeout
    )
    now = clock()
    by_key = {(s.key, s.type): s for s in settings}
    accepted = []
    for r in results:
        setting = by_key.get((r.key, r.type))
        if r.status is SetMonitoringStatus.ACCEPTED and r.monitor_id is not None and setting:
            accepted.append(
                VariableMonitor(
                    station_id=station_id,
                    monitor_id=int(r.monitor_id),
                    key=r.key,
                    transaction=setting.transaction,
                    value=setting.value,
                    type=r.type,
                    severity=r.severity,
                    reported_at=now,
                )
            )
    await device_model.record_monitors(accepted)
    return results


async def clear_variable_monitoring(
    gateway: StationGateway,
    device_model: DeviceModelRepository,
    station_id: str,
    monitor_ids: Sequence[int],
    *,
    timeout: float | None = None,
) -> tuple[tuple[int, ClearMonitoringStatus], ...]:
    """Clear monitors on a 2.x station and forget the ones it cleared (or never had)."""
    results = await send(
        gateway, station_id, ClearVariableMonitoring(tuple(monitor_ids)), timeout=timeout
    )
    gone = [
        monitor_id
        for monitor_id, status in results
        if status in (ClearMonitoringStatus.ACCEPTED, ClearMonitoringStatus.NOT_FOUND)
    ]
    await device_model.remove_monitors(station_id, gone)
    return results


# The (version, action) pairs this module's commands send (for the support matrix).
COMMANDS = sent_actions(
    SetVariableMonitoring,
    ClearVariableMonitoring,
    SetMonitoringBase,
    SetMonitoringLevel,
    GetMonitoringReport,
    CustomerInformation,
)
