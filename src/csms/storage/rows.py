"""Domain objects to table rows and back."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.engine import RowMapping

from csms.domain.model import (
    ConnectorState,
    MeterSample,
    RegistrationStatus,
    Station,
    StatusReport,
)

__all__ = [
    "STATION_FIELDS",
    "STATUS_FIELDS",
    "connector_state",
    "meter_rows",
    "station",
    "station_row",
    "status_report",
]

STATION_FIELDS = tuple(f.name for f in dataclasses.fields(Station))
# The StatusNotification fields stored as reported, both in the history and as current state.
STATUS_FIELDS = ("status", "timestamp", "error_code", "info", "vendor_id", "vendor_error_code")


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


def meter_rows(
    station_id: str,
    evse_id: int | None,
    transaction_id: str | None,
    samples: Iterable[MeterSample],
    received_at: datetime,
) -> list[dict[str, Any]]:
    """Return one ``meter_values`` row per sampled value."""
    return [
        {
            "station_id": station_id,
            "evse_id": evse_id,
            "transaction_id": transaction_id,
            "timestamp": s.timestamp,
            "measurand": s.measurand,
            "phase": s.phase,
            "unit": s.unit,
            "context": s.context,
            "location": s.location,
            "value": s.value,
            "raw_value": s.raw_value,
            "signed_data": s.signed_data,
            "received_at": received_at,
        }
        for s in samples
    ]
