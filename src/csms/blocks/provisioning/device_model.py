"""The 2.x device model: NotifyReport stored, Get/SetVariables results kept current.

A station answers GetBaseReport/GetReport (2.0.1 B07/B08) with Accepted and then sends its report
as NotifyReport parts numbered by ``seqNo`` and flagged ``tbc`` (to be continued) while more follow;
every part is stored as it arrives and the parts are tracked per ``requestId``, so an operator sees
which reports are complete and which seqNos never arrived. Values the station reports later (Get/
SetVariables results, NotifyEvent actual values) update the same rows, so the stored model is the
latest knowledge of each attribute, with its source and time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from csms.blocks.context import CallContext
from csms.blocks.outbound import send
from csms.blocks.provisioning.commands import GetVariables, SetVariables
from csms.blocks.routing import handles
from csms.blocks.timefmt import parse_datetime
from csms.domain.commands import VariableRef, VariableResult
from csms.domain.devicemodel import (
    DeviceModelRepository,
    ReportedVariable,
    ReportPart,
    VariableAttribute,
    VariableCharacteristics,
    VariableKey,
)
from csms.domain.ports import StationGateway
from csms.rpc import OcppVersion

__all__ = [
    "DeviceModelBlock",
    "get_variables",
    "key_of_ref",
    "set_variables",
    "variable_key",
    "variable_payloads",
]

Payload = dict[str, Any]
V2 = (OcppVersion.V201, OcppVersion.V21)

logger = logging.getLogger(__name__)

# SetVariableStatusEnumType values after which the station holds the new value (now or on reboot).
_APPLIED = frozenset({"Accepted", "RebootRequired"})


def variable_key(component: Payload, variable: Payload) -> VariableKey:
    """The key of a ComponentType + VariableType pair as the schemas spell them."""
    evse = component.get("evse") or {}
    return VariableKey(
        component=str(component["name"]),
        variable=str(variable["name"]),
        component_instance=component.get("instance"),
        evse_id=evse.get("id"),
        connector_id=evse.get("connectorId"),
        variable_instance=variable.get("instance"),
    )


def variable_payloads(ref: VariableRef | VariableKey) -> Payload:
    """A ComponentVariableType (``component`` + optional ``variable``) for a ref or key."""
    component: Payload = {"name": ref.component}
    if ref.component_instance is not None:
        component["instance"] = ref.component_instance
    if ref.evse_id is not None:
        evse: Payload = {"id": ref.evse_id}
        if ref.connector_id is not None:
            evse["connectorId"] = ref.connector_id
        component["evse"] = evse
    variable: Payload = {"name": ref.variable}
    if ref.variable_instance is not None:
        variable["instance"] = ref.variable_instance
    return {"component": component, "variable": variable}


def key_of_ref(ref: VariableRef) -> VariableKey:
    """The device-model key an operator's :class:`VariableRef` names."""
    return VariableKey(
        component=ref.component,
        variable=ref.variable,
        component_instance=ref.component_instance,
        evse_id=ref.evse_id,
        connector_id=ref.connector_id,
        variable_instance=ref.variable_instance,
    )


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


def _reported_variable(entry: Payload) -> ReportedVariable:
    chars = entry.get("variableCharacteristics")
    return ReportedVariable(
        key=variable_key(entry["component"], entry["variable"]),
        attributes=tuple(
            VariableAttribute(
                type=attr.get("type", "Actual"),
                value=attr.get("value"),
                mutability=attr.get("mutability", "ReadWrite"),
                persistent=attr.get("persistent", False),
                constant=attr.get("constant", False),
            )
            for attr in entry.get("variableAttribute", ())
        ),
        characteristics=VariableCharacteristics(
            data_type=str(chars["dataType"]),
            supports_monitoring=bool(chars["supportsMonitoring"]),
            unit=chars.get("unit"),
            min_limit=_float(chars.get("minLimit")),
            max_limit=_float(chars.get("maxLimit")),
            values_list=chars.get("valuesList"),
        )
        if chars
        else None,
    )


class DeviceModelBlock:
    """Handler of NotifyReport (2.0.1 B07/B08; 2.1 keeps the message)."""

    def __init__(
        self, device_model: DeviceModelRepository, *, clock: Callable[[], datetime]
    ) -> None:
        self._device_model = device_model
        self._clock = clock

    @handles(V2, "NotifyReport")
    async def notify_report(self, ctx: CallContext, payload: Payload) -> Payload:
        """B07.FR.05/B08: store every reported attribute; answer with an empty response."""
        part = ReportPart(
            station_id=ctx.station_id,
            request_id=int(payload["requestId"]),
            seq_no=int(payload["seqNo"]),
            tbc=bool(payload.get("tbc", False)),
            generated_at=parse_datetime(payload["generatedAt"]),
            variables=tuple(_reported_variable(e) for e in payload.get("reportData", ())),
        )
        await self._device_model.record_report(part, self._clock())
        ctx.log.info(
            "NotifyReport request %d part %d%s: %d variables",
            part.request_id,
            part.seq_no,
            " (more follow)" if part.tbc else " (last)",
            len(part.variables),
        )
        return {}


async def get_variables(
    gateway: StationGateway,
    device_model: DeviceModelRepository,
    station_id: str,
    refs: Sequence[VariableRef],
    *,
    clock: Callable[[], datetime],
    timeout: float | None = None,
) -> tuple[VariableResult, ...]:
    """Read variables of a 2.x station (B06) and store the values it returned (Accepted ones)."""
    results = await send(gateway, station_id, GetVariables(tuple(refs)), timeout=timeout)
    values = [
        (key_of_ref(r.ref), VariableAttribute(type=r.ref.attribute_type or "Actual", value=r.value))
        for r in results
        if r.status == "Accepted"
    ]
    await device_model.record_values(station_id, values, source="GetVariables", at=clock())
    return results


async def set_variables(
    gateway: StationGateway,
    device_model: DeviceModelRepository,
    station_id: str,
    values: Sequence[tuple[VariableRef, str]],
    *,
    clock: Callable[[], datetime],
    timeout: float | None = None,
) -> tuple[VariableResult, ...]:
    """Set variables of a 2.x station (B05) and store each value the station applied."""
    results = await send(gateway, station_id, SetVariables(tuple(values)), timeout=timeout)
    asked = {key_of_ref(ref): (ref, value) for ref, value in values}
    applied = []
    for result in results:
        sent = asked.get(key_of_ref(result.ref))
        if sent is not None and result.status in _APPLIED:
            ref, value = sent
            applied.append(
                (
                    key_of_ref(ref),
                    VariableAttribute(type=ref.attribute_type or "Actual", value=value),
                )
            )
    await device_model.record_values(station_id, applied, source="SetVariables", at=clock())
    logger.info("[%s] SetVariables: %d of %d applied", station_id, len(applied), len(results))
    return results
