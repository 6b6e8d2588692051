"""GetBaseReport and GetReport (2.0.1 B07/B08): ask a 2.x station to report its device model.

The station answers with a status and then sends the report as NotifyReport parts with the same
``requestId`` (stored by :class:`~csms.blocks.provisioning.device_model.DeviceModelBlock`). The
operator picks the ``requestId`` so the parts can be followed in ``/stations/{id}/reports``.
"""

from __future__ import annotations

from dataclasses import dataclass

from csms.blocks.outbound import (
    Payload,
    read_status,
    read_status_info,
    require_2x,
    sends,
    sent_actions,
)
from csms.blocks.provisioning.device_model import variable_payloads
from csms.domain.commands import CommandResult, VariableRef
from csms.domain.devicemodel import ComponentCriterion, DeviceModelStatus, ReportBase
from csms.rpc import OcppVersion

__all__ = ["COMMANDS", "GetBaseReport", "GetReport"]

V2 = (OcppVersion.V201, OcppVersion.V21)


@sends(V2, "GetBaseReport")
@dataclass(frozen=True, slots=True)
class GetBaseReport:
    """B07: one of the predefined reports (configuration, full or summary inventory)."""

    request_id: int
    report_base: ReportBase = ReportBase.FULL_INVENTORY

    def request(self, version: OcppVersion) -> tuple[str, Payload]:
        require_2x("GetBaseReport (1.6: GetConfiguration)", version)
        return "GetBaseReport", {"requestId": self.request_id, "reportBase": self.report_base}

    def result(self, version: OcppVersion, payload: Payload) -> CommandResult[DeviceModelStatus]:
        return CommandResult(read_status(DeviceModelStatus, payload), read_status_info(payload))


@sends(V2, "GetReport")
@dataclass(frozen=True, slots=True)
class GetReport:
    """B08: the variables matching the criteria and/or the given components/variables."""

    request_id: int
    criteria: tuple[ComponentCriterion, ...] = ()
    refs: tuple[VariableRef, ...] = ()

    def request(self, version: OcppVersion) -> tuple[str, Payload]:
        require_2x("GetReport (1.6: GetConfiguration)", version)
        payload: Payload = {"requestId": self.request_id}
        if self.criteria:
            payload["componentCriteria"] = [str(c) for c in self.criteria]
        if self.refs:
            payload["componentVariable"] = [variable_payloads(ref) for ref in self.refs]
        return "GetReport", payload

    def result(self, version: OcppVersion, payload: Payload) -> CommandResult[DeviceModelStatus]:
        return CommandResult(read_status(DeviceModelStatus, payload), read_status_info(payload))


# The (version, action) pairs this module's commands send (for the support matrix).
COMMANDS = sent_actions(GetBaseReport, GetReport)
