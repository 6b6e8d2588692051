"""SQL implementation of :class:`csms.domain.devicemodel.DeviceModelRepository`.

Reports, events and monitor reports arrive a few times per station per hour (far below meter
values), and a NotifyReport part can carry hundreds of variables, so each message is committed in
its own short write transaction (:mod:`csms.storage.direct`) rather than through the group
committer; every write is an upsert or an insert-if-absent, so a retried message changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, Table, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from csms.domain.configuration import masked
from csms.domain.devicemodel import (
    DeviceEvent,
    MonitorReportPart,
    ReportPart,
    ReportProgress,
    StoredAttribute,
    VariableAttribute,
    VariableCharacteristics,
    VariableKey,
    VariableMonitor,
)
from csms.storage.dialect import dialect_insert
from csms.storage.direct import reading, writing
from csms.storage.tables_devicemodel import (
    device_events,
    device_model_attributes,
    device_model_reports,
    variable_monitors,
)

__all__ = ["SqlDeviceModelRepository"]

_KIND_VARIABLES = "variables"
_KIND_MONITORS = "monitors"
_KEY_COLUMNS = (
    "component",
    "component_instance",
    "evse_id",
    "connector_id",
    "variable",
    "variable_instance",
)
_CHARACTERISTICS = (
    "data_type",
    "unit",
    "min_limit",
    "max_limit",
    "values_list",
    "supports_monitoring",
)


def _key_row(key: VariableKey) -> dict[str, Any]:
    return {
        "component": key.component,
        "component_instance": key.component_instance,
        "evse_id": key.evse_id,
        "connector_id": key.connector_id,
        "variable": key.variable,
        "variable_instance": key.variable_instance,
    }


def _key_of(row: RowMapping) -> VariableKey:
    return VariableKey(
        component=row["component"],
        variable=row["variable"],
        component_instance=row["component_instance"],
        evse_id=row["evse_id"],
        connector_id=row["connector_id"],
        variable_instance=row["variable_instance"],
    )


def _attribute_row(
    station_id: str,
    key: VariableKey,
    attribute: VariableAttribute,
    *,
    source: str,
    at: datetime,
) -> dict[str, Any]:
    return {
        "station_id": station_id,
        "path": key.path(),
        "attribute_type": attribute.type,
        **_key_row(key),
        # Masked here too: a secret must not reach the database whatever the caller did.
        "value": masked(key.variable, attribute.value),
        "mutability": attribute.mutability,
        "persistent": attribute.persistent,
        "constant": attribute.constant,
        "source": source,
        "updated_at": at,
    }


def _characteristics_row(chars: VariableCharacteristics | None) -> dict[str, Any]:
    if chars is None:
        return dict.fromkeys(_CHARACTERISTICS)
    return {
        "data_type": chars.data_type,
        "unit": chars.unit,
        "min_limit": chars.min_limit,
        "max_limit": chars.max_limit,
        "values_list": chars.values_list,
        "supports_monitoring": chars.supports_monitoring,
    }


async def _upsert(
    conn: AsyncConnection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    keys: Sequence[str],
    update: Iterable[str],
) -> None:
    if not rows:
        return
    stmt = dialect_insert(conn, table)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys), set_={name: stmt.excluded[name] for name in update}
    )
    await conn.execute(stmt, list(rows))


async def _note_part(
    conn: AsyncConnection,
    *,
    station_id: str,
    kind: str,
    request_id: int,
    seq_no: int,
    tbc: bool,
    at: datetime,
) -> None:
    """Add ``seq_no`` to the parts received for the request (read-modify-write, one transaction)."""
    table = device_model_reports
    where = (
        (table.c.station_id == station_id)
        & (table.c.kind == kind)
        & (table.c.request_id == request_id)
    )
    row = (await conn.execute(select(table).where(where))).mappings().first()
    seq_nos = {seq_no}
    final = None if tbc else seq_no
    started = at
    if row is not None:
        seq_nos |= _parse_seq_nos(row["seq_nos"])
        final = row["final_seq_no"] if final is None else final
        started = row["started_at"]
    values = {
        "station_id": station_id,
        "kind": kind,
        "request_id": request_id,
        "seq_nos": ",".join(str(n) for n in sorted(seq_nos)),
        "final_seq_no": final,
        "started_at": started,
        "updated_at": at,
    }
    await _upsert(
        conn,
        table,
        [values],
        ("station_id", "kind", "request_id"),
        ("seq_nos", "final_seq_no", "updated_at"),
    )


async def _upsert_monitors(conn: AsyncConnection, monitors: Sequence[VariableMonitor]) -> None:
    """Store monitors by (station, id); the last of a repeated id wins."""
    rows = {
        (m.station_id, m.monitor_id): {
            "station_id": m.station_id,
            "monitor_id": m.monitor_id,
            **_key_row(m.key),
            "transaction": m.transaction,
            "value": m.value,
            "type": m.type,
            "severity": m.severity,
            "reported_at": m.reported_at,
        }
        for m in monitors
    }
    update = (*_KEY_COLUMNS, "transaction", "value", "type", "severity", "reported_at")
    await _upsert(
        conn, variable_monitors, list(rows.values()), ("station_id", "monitor_id"), update
    )


def _parse_seq_nos(text: str) -> set[int]:
    return {int(part) for part in text.split(",") if part}


def _progress(row: RowMapping) -> ReportProgress:
    seq_nos = _parse_seq_nos(row["seq_nos"])
    final = row["final_seq_no"]
    last = max(seq_nos) if seq_nos else -1
    top = max(last, final if final is not None else -1)
    missing = tuple(n for n in range(top + 1) if n not in seq_nos)
    return ReportProgress(
        station_id=row["station_id"],
        request_id=row["request_id"],
        kind=row["kind"],
        parts=len(seq_nos),
        last_seq_no=last,
        complete=final is not None and not missing,
        missing=missing,
        started_at=row["started_at"],
        updated_at=row["updated_at"],
    )


class SqlDeviceModelRepository:
    """Implements :class:`csms.domain.devicemodel.DeviceModelRepository`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def record_report(self, part: ReportPart, received_at: datetime) -> None:
        rows = {}
        for reported in part.variables:
            for attribute in reported.attributes:
                row = _attribute_row(
                    part.station_id,
                    reported.key,
                    attribute,
                    source="NotifyReport",
                    at=received_at,
                )
                row |= _characteristics_row(reported.characteristics)
                rows[(row["path"], row["attribute_type"])] = row  # the last entry wins
        update = (
            "value",
            "mutability",
            "persistent",
            "constant",
            *_CHARACTERISTICS,
            "source",
            "updated_at",
        )
        async with writing(self._engine) as conn:
            await _upsert(
                conn,
                device_model_attributes,
                list(rows.values()),
                ("station_id", "path", "attribute_type"),
                update,
            )
            await _note_part(
                conn,
                station_id=part.station_id,
                kind=_KIND_VARIABLES,
                request_id=part.request_id,
                seq_no=part.seq_no,
                tbc=part.tbc,
                at=received_at,
            )

    async def record_values(
        self,
        station_id: str,
        values: Sequence[tuple[VariableKey, VariableAttribute]],
        *,
        source: str,
        at: datetime,
    ) -> None:
        rows = {}
        for key, attribute in values:
            row = _attribute_row(station_id, key, attribute, source=source, at=at)
            rows[(row["path"], row["attribute_type"])] = row | _characteristics_row(None)
        if not rows:
            return
        async with writing(self._engine) as conn:
            # Only the value moves: what a NotifyReport said about mutability and limits stays.
            await _upsert(
                conn,
                device_model_attributes,
                list(rows.values()),
                ("station_id", "path", "attribute_type"),
                ("value", "source", "updated_at"),
            )

    async def record_events(self, events: Sequence[DeviceEvent]) -> None:
        rows = [
            {
                "station_id": e.station_id,
                "event_id": e.event_id,
                "timestamp": e.timestamp,
                "trigger": e.trigger,
                "cause": e.cause,
                "actual_value": masked(e.key.variable, e.actual_value),
                "tech_code": e.tech_code,
                "tech_info": e.tech_info,
                "cleared": e.cleared,
                "transaction_id": e.transaction_id,
                "variable_monitoring_id": e.variable_monitoring_id,
                "notification_type": e.notification_type,
                "severity": e.severity,
                **_key_row(e.key),
                "received_at": e.received_at,
            }
            for e in events
        ]
        if not rows:
            return
        async with writing(self._engine) as conn:
            stmt = dialect_insert(conn, device_events).on_conflict_do_nothing(
                index_elements=["station_id", "event_id", "timestamp"]
            )
            await conn.execute(stmt, rows)

    async def record_monitor_report(self, part: MonitorReportPart, received_at: datetime) -> None:
        async with writing(self._engine) as conn:
            await _upsert_monitors(conn, part.monitors)
            await _note_part(
                conn,
                station_id=part.station_id,
                kind=_KIND_MONITORS,
                request_id=part.request_id,
                seq_no=part.seq_no,
                tbc=part.tbc,
                at=received_at,
            )

    async def record_monitors(self, monitors: Sequence[VariableMonitor]) -> None:
        async with writing(self._engine) as conn:
            await _upsert_monitors(conn, monitors)

    async def remove_monitors(self, station_id: str, monitor_ids: Sequence[int]) -> None:
        if not monitor_ids:
            return
        t = variable_monitors
        async with writing(self._engine) as conn:
            await conn.execute(
                delete(t).where((t.c.station_id == station_id) & t.c.monitor_id.in_(monitor_ids))
            )

    async def monitor_severity(self, station_id: str, monitor_ids: Sequence[int]) -> dict[int, int]:
        if not monitor_ids:
            return {}
        t = variable_monitors
        stmt = select(t.c.monitor_id, t.c.severity).where(
            (t.c.station_id == station_id) & t.c.monitor_id.in_(sorted(set(monitor_ids)))
        )
        async with reading(self._engine) as conn:
            return {row.monitor_id: row.severity for row in await conn.execute(stmt)}

    async def attributes(
        self,
        station_id: str,
        *,
        component: str | None = None,
        variable: str | None = None,
    ) -> Sequence[StoredAttribute]:
        t = device_model_attributes
        stmt = select(t).where(t.c.station_id == station_id)
        if component is not None:
            stmt = stmt.where(t.c.component == component)
        if variable is not None:
            stmt = stmt.where(t.c.variable == variable)
        stmt = stmt.order_by(t.c.path, t.c.attribute_type)
        async with reading(self._engine) as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [
            StoredAttribute(
                key=_key_of(row),
                attribute=VariableAttribute(
                    type=row["attribute_type"],
                    value=row["value"],
                    mutability=row["mutability"],
                    persistent=row["persistent"],
                    constant=row["constant"],
                ),
                characteristics=(
                    VariableCharacteristics(
                        data_type=row["data_type"],
                        supports_monitoring=bool(row["supports_monitoring"]),
                        unit=row["unit"],
                        min_limit=row["min_limit"],
                        max_limit=row["max_limit"],
                        values_list=row["values_list"],
                    )
                    if row["data_type"] is not None
                    else None
                ),
                source=row["source"],
                updated_at=row["updated_at"],
            )
            for row in rows
        ]

    async def events(
        self, station_id: str, *, limit: int = 100, before_id: int | None = None
    ) -> Sequence[tuple[int, DeviceEvent]]:
        t = device_events
        stmt = select(t).where(t.c.station_id == station_id)
        if before_id is not None:
            stmt = stmt.where(t.c.id < before_id)
        stmt = stmt.order_by(t.c.id.desc()).limit(limit)
        async with reading(self._engine) as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [
            (
                row["id"],
                DeviceEvent(
                    station_id=row["station_id"],
                    event_id=row["event_id"],
                    timestamp=row["timestamp"],
                    trigger=row["trigger"],
                    actual_value=row["actual_value"],
                    notification_type=row["notification_type"],
                    key=_key_of(row),
                    cause=row["cause"],
                    tech_code=row["tech_code"],
                    tech_info=row["tech_info"],
                    cleared=row["cleared"],
                    transaction_id=row["transaction_id"],
                    variable_monitoring_id=row["variable_monitoring_id"],
                    severity=row["severity"],
                    received_at=row["received_at"],
                ),
            )
            for row in rows
        ]

    async def monitors(self, station_id: str) -> Sequence[VariableMonitor]:
        t = variable_monitors
        stmt = select(t).where(t.c.station_id == station_id).order_by(t.c.monitor_id)
        async with reading(self._engine) as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [
            VariableMonitor(
                station_id=row["station_id"],
                monitor_id=row["monitor_id"],
                key=_key_of(row),
                transaction=row["transaction"],
                value=row["value"],
                type=row["type"],
                severity=row["severity"],
                reported_at=row["reported_at"],
            )
            for row in rows
        ]

    async def reports(self, station_id: str) -> Sequence[ReportProgress]:
        t = device_model_reports
        stmt = (
            select(t)
            .where(t.c.station_id == station_id)
            .order_by(t.c.updated_at.desc(), t.c.request_id.desc())
        )
        async with reading(self._engine) as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [_progress(row) for row in rows]
