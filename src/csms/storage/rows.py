"""Domain objects to table rows and back.

The hot statements (:mod:`csms.storage.statements`) take tuples, not dicts: each ``*_COLUMNS``
names, in order, what the builder next to it puts in a tuple. Timestamps arrive already converted
for the dialect (``timestamp`` is the dialect's :attr:`~csms.storage.statements.Codec.timestamp`).
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import RowMapping

from csms.domain.model import (
    ConnectorState,
    MeterSample,
    RegistrationStatus,
    Station,
    StatusReport,
)
from csms.storage.statements import Codec, Prepared
from csms.storage.tables import meter_values

__all__ = [
    "INSERT_METER_VALUES",
    "METER_COLUMNS",
    "STATION_FIELDS",
    "STATUS_COLUMNS",
    "STATUS_FIELDS",
    "connector_state",
    "meter_tuples",
    "station",
    "station_from_tuple",
    "station_row",
    "status_report",
    "status_tuple",
]

STATION_FIELDS = tuple(f.name for f in dataclasses.fields(Station))
# The StatusNotification fields stored as reported, both in the history and as current state.
STATUS_FIELDS = ("status", "timestamp", "error_code", "info", "vendor_id", "vendor_error_code")

_REGISTRATION = {status.value: status for status in RegistrationStatus}
_STATION_TYPES = typing.get_type_hints(Station)
_STATION_BOOLS = frozenset(
    i for i, name in enumerate(STATION_FIELDS) if _STATION_TYPES[name] is bool
)
_STATION_TIMESTAMPS = frozenset(
    i for i, name in enumerate(STATION_FIELDS) if _STATION_TYPES[name] == datetime | None
)
_REGISTRATION_INDEX = STATION_FIELDS.index("registration_status")


def station_row(value: Station) -> dict[str, Any]:
    """Return the ``stations`` row of ``value``."""
    row = {name: getattr(value, name) for name in STATION_FIELDS}
    row["registration_status"] = value.registration_status.value
    return row


def station(row: RowMapping) -> Station:
    """Return the :class:`Station` of a ``stations`` row."""
    fields = {name: row[name] for name in STATION_FIELDS}
    fields["registration_status"] = RegistrationStatus(row["registration_status"])
    return Station(**fields)


def _station_converters(codec: Codec) -> tuple[Callable[[Any], Any] | None, ...]:
    converters: list[Callable[[Any], Any] | None] = []
    for i in range(len(STATION_FIELDS)):
        if i == _REGISTRATION_INDEX:
            converters.append(_REGISTRATION.__getitem__)
        elif i in _STATION_BOOLS:
            converters.append(codec.read_bool)
        elif i in _STATION_TIMESTAMPS:
            converters.append(codec.read_timestamp)
        else:
            converters.append(None)
    return tuple(converters)


_CONVERTERS: dict[Codec, tuple[Callable[[Any], Any] | None, ...]] = {}


def station_from_tuple(values: Iterable[Any], codec: Codec) -> Station:
    """Return the :class:`Station` of the driver's raw ``stations`` row (columns in
    :data:`STATION_FIELDS` order), converting values as the column types would."""
    converters = _CONVERTERS.get(codec)
    if converters is None:
        converters = _CONVERTERS[codec] = _station_converters(codec)
    return Station(
        *[
            value if convert is None or value is None else convert(value)
            for convert, value in zip(converters, values, strict=True)
        ]
    )


def status_report(row: RowMapping) -> StatusReport:
    """Return the :class:`StatusReport` of a ``status_history`` row."""
    return StatusReport(
        station_id=row["station_id"],
        evse_id=row["evse_id"],
        connector_id=row["connector_id"],
        **{name: row[name] for name in STATUS_FIELDS},
    )


def connector_state(row: RowMapping) -> ConnectorState:
    """Return the :class:`ConnectorState` of a ``connector_status`` row."""
    return ConnectorState(
        evse_id=row["evse_id"],
        connector_id=row["connector_id"],
        status=row["status"],
        timestamp=row["timestamp"],
        error_code=row["error_code"],
        info=row["info"],
    )


# --- tuples for the hot statements ------------------------------------------------------------

# status_history; the same tuple feeds connector_status, whose last column is "updated_at".
STATUS_COLUMNS = ("station_id", "evse_id", "connector_id", *STATUS_FIELDS, "received_at")


def status_tuple(
    report: StatusReport, received_at: Any, timestamp: Callable[[datetime], Any]
) -> tuple[Any, ...]:
    """Return the :data:`STATUS_COLUMNS` of ``report`` (``received_at`` already converted)."""
    return (
        report.station_id,
        report.evse_id,
        report.connector_id,
        report.status,
        timestamp(report.timestamp),
        report.error_code,
        report.info,
        report.vendor_id,
        report.vendor_error_code,
        received_at,
    )


METER_COLUMNS = (
    "station_id",
    "evse_id",
    "transaction_id",
    "timestamp",
    "measurand",
    "phase",
    "unit",
    "context",
    "location",
    "value",
    "raw_value",
    "signed_data",
    "received_at",
)

INSERT_METER_VALUES = Prepared(
    lambda _: insert(meter_values), METER_COLUMNS, column_keys=METER_COLUMNS
)


def meter_tuples(
    out: list[tuple[Any, ...]],
    station_id: str,
    evse_id: int | None,
    transaction_id: str | None,
    samples: Iterable[MeterSample],
    *,
    received_at: Any,
    timestamp: Callable[[datetime], Any],
    known: tuple[datetime, Any] | None = None,
) -> None:
    """Append one :data:`METER_COLUMNS` tuple per sampled value to ``out``.

    ``received_at`` is already converted; ``known`` is a time and its conversion already made
    (e.g. a TransactionEvent's own timestamp, which its samples usually repeat).
    """
    last, stamp = known if known is not None else (None, None)
    for s in samples:
        # The samples of one meterValue share their timestamp; equal instants convert alike.
        if s.timestamp is not last and s.timestamp != last:
            last = s.timestamp
            stamp = timestamp(last)
        out.append(
            (
                station_id,
                evse_id,
                transaction_id,
                stamp,
                s.measurand,
                s.phase,
                s.unit,
                s.context,
                s.location,
                s.value,
                s.raw_value,
                s.signed_data,
                received_at,
            )
        )
