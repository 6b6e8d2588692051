"""Every CALL a simulated station sends validates against the official OCA JSON schemas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import ocpp
import pytest

from csms.loadtest import payloads as p

SCHEMAS = Path(ocpp.__file__).resolve().parent
NOW = p.utc_timestamp()


def _validate(payload: dict[str, Any], schema: Path) -> None:
    document = json.loads(schema.read_text(encoding="utf-8-sig"))
    cls = jsonschema.validators.validator_for(document)
    cls(document).validate(payload)


CASES_16 = [
    ("BootNotification", p.boot_notification_16("lt-000001")),
    ("Heartbeat", p.heartbeat_16()),
    ("StatusNotification", p.status_notification_16(1, "Charging", NOW)),
    ("StartTransaction", p.start_transaction_16(1, "LT1", 10_000, NOW)),
    ("StopTransaction", p.stop_transaction_16(7, 12_000, NOW)),
    ("MeterValues", p.meter_values_16(7, 12_345.6, NOW)),
]
CASES_2X = [
    ("BootNotification", p.boot_notification_201("lt-000002")),
    ("Heartbeat", p.heartbeat_16()),
    ("StatusNotification", p.status_notification_201(1, "Occupied", NOW)),
    ("TransactionEvent", p.transaction_event_started_201("lt-2-t1", 10_000.0, NOW)),
    ("TransactionEvent", p.transaction_event_updated_201("lt-2-t1", 3, 10_500.0, NOW)),
    ("TransactionEvent", p.transaction_event_ended_201("lt-2-t1", 4, 11_000.0, NOW)),
]


@pytest.mark.parametrize(("action", "payload"), CASES_16, ids=[c[0] for c in CASES_16])
def test_16_payloads_validate(action: str, payload: dict[str, Any]) -> None:
    _validate(payload, SCHEMAS / "v16" / "schemas" / f"{action}.json")


@pytest.mark.parametrize("version", ["v201", "v21"])
@pytest.mark.parametrize(("action", "payload"), CASES_2X, ids=[c[0] for c in CASES_2X])
def test_2x_payloads_validate(version: str, action: str, payload: dict[str, Any]) -> None:
    _validate(payload, SCHEMAS / version / "schemas" / f"{action}Request.json")


def test_passwords_are_per_station_and_within_ocpp_limits() -> None:
    a, b = p.station_password("lt-1"), p.station_password("lt-2")
    assert a != b and 16 <= len(a) <= 40
    assert p.basic_auth_header("lt-1", a).startswith("Basic ")
