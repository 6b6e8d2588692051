"""Builders of domain objects for storage tests: ``a_<thing>(**overrides)``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from csms.domain.model import (
    BootInfo,
    MeterSample,
    MeterValuesReport,
    RegistrationStatus,
    Station,
    StatusReport,
    TransactionEventReport,
)

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    """Return T0 plus ``seconds``."""
    return T0 + timedelta(seconds=seconds)


def a_station(station_id: str = "CS1", **overrides: Any) -> Station:
    fields: dict[str, Any] = {
        "id": station_id,
        "registration_status": RegistrationStatus.ACCEPTED,
        "created_at": T0,
    }
    return Station(**(fields | overrides))


def a_boot(**overrides: Any) -> BootInfo:
    fields: dict[str, Any] = {
        "vendor_name": "Acme",
        "model": "Wallbox 22",
        "serial_number": "SN-1",
        "firmware_version": "1.2.3",
        "reason": "PowerUp",
    }
    return BootInfo(**(fields | overrides))


def a_status(station_id: str = "CS1", **overrides: Any) -> StatusReport:
    fields: dict[str, Any] = {
        "station_id": station_id,
        "evse_id": 1,
        "connector_id": 1,
        "status": "Available",
        "timestamp": T0,
    }
    return StatusReport(**(fields | overrides))


def a_sample(value: float | None = 1234.5, **overrides: Any) -> MeterSample:
    fields: dict[str, Any] = {
        "timestamp": T0,
        "value": value,
        "raw_value": "1234.5" if value is not None else "n/a",
        "unit": "Wh",
    }
    return MeterSample(**(fields | overrides))


def a_meter_values(
    station_id: str = "CS1", *, samples: int | tuple[MeterSample, ...] = 5, **overrides: Any
) -> MeterValuesReport:
    """A MeterValues report with ``samples`` samples (a count, or the samples themselves)."""
    if isinstance(samples, int):
        samples = tuple(a_sample(float(i)) for i in range(samples))
    fields: dict[str, Any] = {
        "station_id": station_id,
        "evse_id": 1,
        "transaction_id": "TX1",
        "samples": samples,
    }
    return MeterValuesReport(**(fields | overrides))


def a_transaction_event(
    seq_no: int, event_type: str = "Updated", station_id: str = "CS1", **overrides: Any
) -> TransactionEventReport:
    fields: dict[str, Any] = {
        "station_id": station_id,
        "transaction_id": "TX1",
        "event_type": event_type,
        "seq_no": seq_no,
        "timestamp": at(seq_no * 60),
        "trigger_reason": "MeterValuePeriodic",
        "raw": {"eventType": event_type, "seqNo": seq_no},
    }
    return TransactionEventReport(**(fields | overrides))
