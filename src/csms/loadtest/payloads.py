"""The CALL payloads a simulated station sends, valid per the official OCA JSON schemas.

Shared by ``csms loadtest`` and ``benchmarks/loadgen.py`` (one load generator); tests validate
every builder against the schemas shipped in the ``ocpp`` wheel. 2.1 uses the 2.0.1 shapes: the
fields used here are unchanged in 2.1 Part 2.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from typing import Any

Payload = dict[str, Any]
PHASES = ("L1", "L2", "L3")
VENDOR = "csms-bench"
MODEL = "loadgen"


def utc_timestamp() -> str:
    """The current UTC time as an RFC 3339 string with millisecond precision."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# ---------------------------------------------------------------------------- credentials


def station_password(station_id: str, secret: str = "csms-bench") -> str:
    """A per-station Basic-auth password (24 hex chars, within OCPP's 16–40 bytes)."""
    return hashlib.sha256(f"{secret}:{station_id}".encode()).hexdigest()[:24]


def basic_auth_header(station_id: str, password: str) -> str:
    """``Authorization`` value of security profile 1 (username = station identity)."""
    token = base64.b64encode(f"{station_id}:{password}".encode()).decode()
    return f"Basic {token}"


# ---------------------------------------------------------------------------- provisioning


def boot_notification_16(serial: str) -> Payload:
    """1.6 BootNotification.req."""
    return {
        "chargePointVendor": VENDOR,
        "chargePointModel": MODEL,
        "chargePointSerialNumber": serial[:25],
        "firmwareVersion": "1.0.0",
    }


def boot_notification_201(serial: str) -> Payload:
    """2.0.1 / 2.1 BootNotificationRequest."""
    return {
        "reason": "PowerUp",
        "chargingStation": {
            "model": MODEL,
            "vendorName": VENDOR,
            "serialNumber": serial[:25],
            "firmwareVersion": "1.0.0",
        },
    }


def heartbeat_16() -> Payload:
    """Heartbeat (empty in every version)."""
    return {}


def status_notification_16(connector_id: int, status: str, timestamp: str) -> Payload:
    """1.6 StatusNotification.req (ChargePointStatus, no error)."""
    return {
        "connectorId": connector_id,
        "errorCode": "NoError",
        "status": status,
        "timestamp": timestamp,
    }


def status_notification_201(evse_id: int, status: str, timestamp: str) -> Payload:
    """2.x StatusNotificationRequest for connector 1 of ``evse_id`` (ConnectorStatusEnumType)."""
    return {
        "timestamp": timestamp,
        "connectorStatus": status,
        "evseId": evse_id,
        "connectorId": 1,
    }


# ---------------------------------------------------------------------------- 1.6 transactions


def start_transaction_16(connector_id: int, id_tag: str, meter_wh: int, timestamp: str) -> Payload:
    """1.6 StartTransaction.req."""
    return {
        "connectorId": connector_id,
        "idTag": id_tag[:20],
        "meterStart": meter_wh,
        "timestamp": timestamp,
    }


def stop_transaction_16(transaction_id: int, meter_wh: int, timestamp: str) -> Payload:
    """1.6 StopTransaction.req (normal end of session)."""
    return {
        "transactionId": transaction_id,
        "meterStop": meter_wh,
        "timestamp": timestamp,
        "reason": "EVDisconnected",
    }


def meter_values_16(transaction_id: int, energy_wh: float, timestamp: str) -> Payload:
    """1.6 MeterValues.req as a three-phase 11 kW charger sends it: energy, power, 3 currents."""
    current = [
        {
            "value": "16.0",
            "context": "Sample.Periodic",
            "measurand": "Current.Import",
            "phase": phase,
            "unit": "A",
        }
        for phase in PHASES
    ]
    return {
        "connectorId": 1,
        "transactionId": transaction_id,
        "meterValue": [
            {
                "timestamp": timestamp,
                "sampledValue": [
                    {
                        "value": f"{energy_wh:.1f}",
                        "context": "Sample.Periodic",
                        "measurand": "Energy.Active.Import.Register",
                        "location": "Outlet",
                        "unit": "Wh",
                    },
                    {
                        "value": "11040.0",
                        "context": "Sample.Periodic",
                        "measurand": "Power.Active.Import",
                        "location": "Outlet",
                        "unit": "W",
                    },
                    *current,
                ],
            }
        ],
    }


# ---------------------------------------------------------------------------- 2.x transactions


def _sampled_values_201(energy_wh: float) -> list[Payload]:
    """Five 2.x SampledValueType objects (energy, power, 3 phase currents)."""
    current = [
        {
            "value": 16.0,
            "context": "Sample.Periodic",
            "measurand": "Current.Import",
            "phase": phase,
            "unitOfMeasure": {"unit": "A"},
        }
        for phase in PHASES
    ]
    return [
        {
            "value": round(energy_wh, 1),
            "context": "Sample.Periodic",
            "measurand": "Energy.Active.Import.Register",
            "location": "Outlet",
            "unitOfMeasure": {"unit": "Wh"},
        },
        {
            "value": 11040.0,
            "context": "Sample.Periodic",
            "measurand": "Power.Active.Import",
            "location": "Outlet",
            "unitOfMeasure": {"unit": "W"},
        },
        *current,
    ]


def _energy_value(energy_wh: float, context: str, timestamp: str) -> list[Payload]:
    return [
        {
            "timestamp": timestamp,
            "sampledValue": [
                {
                    "value": round(energy_wh, 1),
                    "context": context,
                    "measurand": "Energy.Active.Import.Register",
                    "location": "Outlet",
                    "unitOfMeasure": {"unit": "Wh"},
                }
            ],
        }
    ]


def transaction_event_started_201(transaction_id: str, energy_wh: float, timestamp: str) -> Payload:
    """2.x TransactionEvent ``Started`` (seqNo 0) that opens a transaction on EVSE 1."""
    return {
        "eventType": "Started",
        "timestamp": timestamp,
        "triggerReason": "CablePluggedIn",
        "seqNo": 0,
        "transactionInfo": {"transactionId": transaction_id, "chargingState": "EVConnected"},
        "evse": {"id": 1, "connectorId": 1},
        "meterValue": _energy_value(energy_wh, "Transaction.Begin", timestamp),
    }


def transaction_event_updated_201(
    transaction_id: str, seq_no: int, energy_wh: float, timestamp: str
) -> Payload:
    """2.x TransactionEvent ``Updated`` / ``MeterValuePeriodic`` with 5 sampled values."""
    return {
        "eventType": "Updated",
        "timestamp": timestamp,
        "triggerReason": "MeterValuePeriodic",
        "seqNo": seq_no,
        "transactionInfo": {"transactionId": transaction_id, "chargingState": "Charging"},
        "meterValue": [{"timestamp": timestamp, "sampledValue": _sampled_values_201(energy_wh)}],
    }


def transaction_event_ended_201(
    transaction_id: str, seq_no: int, energy_wh: float, timestamp: str
) -> Payload:
    """2.x TransactionEvent ``Ended`` after the EV left."""
    return {
        "eventType": "Ended",
        "timestamp": timestamp,
        "triggerReason": "EVCommunicationLost",
        "seqNo": seq_no,
        "transactionInfo": {
            "transactionId": transaction_id,
            "chargingState": "Idle",
            "stoppedReason": "EVDisconnected",
        },
        "meterValue": _energy_value(energy_wh, "Transaction.End", timestamp),
    }
