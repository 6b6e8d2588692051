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
from typing import Any, TypeVar

import orjson

from csms.blocks.context import CallContext
from csms.blocks.outbound import negotiated_version, send
from csms.blocks.provisioning.commands import GetVariables, SetVariables, variable_payloads
from csms.blocks.routing import handles
from csms.blocks.timefmt import station_time
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
    "record_variables_read",
    "record_variables_set",
    "set_variables",
    "variable_key",
    "variable_payloads",
]

Payload = dict[str, Any]
V2 = (OcppVersion.V201, OcppVersion.V21)

logger = logging.getLogger(__name__)

T = TypeVar("T")

# A CALL frame around the payload: [2,"<message id, up to 36>","SetVariables",...] (2.0.1 Part 4).
_FRAME_OVERHEAD = 64

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
            generated_at=station_time(payload["generatedAt"], self._clock()),
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


async def message_limits(
    device_model: DeviceModelRepository, station_id: str, action: str
) -> tuple[int | None, int | None]:
    """The station's ItemsPerMessage and BytesPerMessage for ``action`` (DeviceDataCtrlr, with the
    action as instance; 2.0.1 Part 2 §3.1.7), as its device model reported them, or None.

    BytesPerMessage is reported as the variable's maxLimit; a value is used when no limit is.
    """
    items = size = None
    for stored in await device_model.attributes(station_id, component="DeviceDataCtrlr"):
        if stored.key.variable_instance != action or stored.attribute.type != "Actual":
            continue
        chars = stored.characteristics
        raw = chars.max_limit if chars is not None and chars.max_limit is not None else None
        if raw is None and stored.attribute.value is not None:
            try:
                raw = float(stored.attribute.value)
            except ValueError:
                continue
        if raw is None or raw < 1:
            continue
        if stored.key.variable == "ItemsPerMessage":
            items = int(raw)
        elif stored.key.variable == "BytesPerMessage":
            size = int(raw)
    return items, size


def split_for_limits(
    entries: Sequence[T],
    size_of: Callable[[T], int],
    *,
    items: int | None,
    max_bytes: int | None,
    overhead: int,
) -> list[list[T]]:
    """Cut ``entries`` into runs of at most ``items`` whose serialised size stays under
    ``max_bytes`` (``overhead`` counts the frame and payload around them). An entry too big on its
    own still goes, alone: the station answers for it (e.g. with a CALLERROR) rather than csms
    silently dropping it."""
    batches: list[list[T]] = []
    current: list[T] = []
    used = overhead
    for entry in entries:
        size = size_of(entry) + 1  # the comma between entries
        full = items is not None and len(current) >= items
        too_big = max_bytes is not None and current and used + size > max_bytes
        if full or too_big:
            batches.append(current)
            current, used = [], overhead
        current.append(entry)
        used += size
    if current:
        batches.append(current)
    return batches


async def _send_split(
    gateway: StationGateway,
    device_model: DeviceModelRepository,
    station_id: str,
    *,
    action: str,
    entries: Sequence[T],
    make: Callable[[tuple[T, ...]], GetVariables | SetVariables],
    timeout: float | None,
) -> tuple[VariableResult, ...]:
    """Send ``entries`` in as many CALLs as the station's limits for ``action`` require."""
    items, max_bytes = await message_limits(device_model, station_id, action)
    version = negotiated_version(gateway, station_id)

    def size_of(entry: T) -> int:
        # Both requests are one list ({"getVariableData": [...]}); this is the entry's item.
        (listed,) = make((entry,)).request(version)[1].values()
        return len(orjson.dumps(listed[0]))

    overhead = _FRAME_OVERHEAD + 2 * len(action)  # the action, and the list's name
    batches = split_for_limits(
        entries, size_of, items=items, max_bytes=max_bytes, overhead=overhead
    )
    results: list[VariableResult] = []
    for batch in batches:
        results += await send(gateway, station_id, make(tuple(batch)), timeout=timeout)
    if len(batches) > 1:
        logger.info(
            "[%s] %s split into %d messages (ItemsPerMessage %s, BytesPerMessage %s)",
            station_id,
            action,
            len(batches),
            items,
            max_bytes,
        )
    return tuple(results)


async def get_variables(
    gateway: StationGateway,
    device_model: DeviceModelRepository,
    station_id: str,
    refs: Sequence[VariableRef],
    *,
    clock: Callable[[], datetime],
    timeout: float | None = None,
) -> tuple[VariableResult, ...]:
    """Read variables of a 2.x station (B06) and store the values it returned (Accepted ones).

    The request is split to respect the station's ItemsPerMessage/BytesPerMessage for
    GetVariables (B06.FR.xx: a request beyond them may be rejected whole).
    """
    results = await _send_split(
        gateway,
        device_model,
        station_id,
        action="GetVariables",
        entries=refs,
        make=GetVariables,
        timeout=timeout,
    )
    await record_variables_read(device_model, station_id, results, clock())
    return results


async def record_variables_read(
    device_model: DeviceModelRepository,
    station_id: str,
    results: Sequence[VariableResult],
    at: datetime,
) -> None:
    """Store the values a 2.x station returned to GetVariables (the Accepted ones)."""
    values = [
        (key_of_ref(r.ref), VariableAttribute(type=r.ref.attribute_type or "Actual", value=r.value))
        for r in results
        if r.status == "Accepted"
    ]
    await device_model.record_values(station_id, values, source="GetVariables", at=at)


async def set_variables(
    gateway: StationGateway,
    device_model: DeviceModelRepository,
    station_id: str,
    values: Sequence[tuple[VariableRef, str]],
    *,
    clock: Callable[[], datetime],
    timeout: float | None = None,
) -> tuple[VariableResult, ...]:
    """Set variables of a 2.x station (B05) and store each value the station applied.

    Split like :func:`get_variables`, by the station's limits for SetVariables.
    """
    results = await _send_split(
        gateway,
        device_model,
        station_id,
        action="SetVariables",
        entries=values,
        make=SetVariables,
        timeout=timeout,
    )
    await record_variables_set(device_model, station_id, values, results, clock())
    return results


async def record_variables_set(
    device_model: DeviceModelRepository,
    station_id: str,
    values: Sequence[tuple[VariableRef, str]],
    results: Sequence[VariableResult],
    at: datetime,
) -> None:
    """Store each value of a SetVariables that the station applied."""
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
    await device_model.record_values(station_id, applied, source="SetVariables", at=at)
    logger.info("[%s] SetVariables: %d of %d applied", station_id, len(applied), len(results))
