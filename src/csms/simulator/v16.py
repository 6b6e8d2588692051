"""OCPP 1.6 on the station side: the requests it sends (answers in :mod:`~csms.simulator.v16_answers`).

Message shapes from OCPP 1.6 edition 2 §6 and the 1.6 security whitepaper edition 2 §5; the
``transactionId`` of MeterValues/StopTransaction is filled in when the message is sent, from the
StartTransaction.conf, or -1 when none came (1.6 errata v4.0 §4.8).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from csms.simulator.dialect import (
    MODEL,
    VENDOR,
    BootReason,
    Handler,
    Payload,
    StopReason,
    format_time,
)
from csms.simulator.state import Evse, Transaction
from csms.simulator.v16_answers import ANSWERS

if TYPE_CHECKING:
    from csms.simulator.station import SimStation

_ERROR_CODES = {None: "NoError", "GroundFailure": "GroundFailure"}
_REASONS = {StopReason.GROUND_FAULT: "Other"}


class V16Dialect:
    """Station-initiated messages of OCPP 1.6."""

    transaction_actions = frozenset({"StartTransaction", "StopTransaction", "MeterValues"})

    def __init__(self, answers: dict[str, Handler]) -> None:
        self.answers = answers

    def boot(self, station: SimStation, reason: BootReason) -> tuple[str, Payload]:
        """1.6 §6.2 BootNotification.req (1.6 has no boot reason)."""

        return "BootNotification", {
            "chargePointVendor": VENDOR,
            "chargePointModel": MODEL,
            "chargePointSerialNumber": f"SN-{station.identity}"[:25],
            "firmwareVersion": station.state.firmware_version,
            "meterType": "SimMeter",
        }

    def wire_status(self, evse: Evse) -> str:
        """ChargePointStatus (1.6 §7.7) is the neutral status itself."""
        return evse.status.value

    def status(self, station: SimStation, evse: Evse, now: datetime) -> tuple[str, Payload]:
        """1.6 §6.47 StatusNotification.req."""
        payload: Payload = {
            "connectorId": evse.id,
            "errorCode": _ERROR_CODES.get(evse.error_code, "OtherError"),
            "status": self.wire_status(evse),
            "timestamp": format_time(now),
        }
        if evse.error_code and payload["errorCode"] == "OtherError":
            payload["vendorErrorCode"] = evse.error_code[:50]
        return "StatusNotification", payload

    def authorize(self, id_tag: str) -> tuple[str, Payload]:
        """1.6 §6.1 Authorize.req."""
        return "Authorize", {"idTag": id_tag[:20]}

    def started(
        self, station: SimStation, evse: Evse, tx: Transaction, now: datetime, *, offline: bool
    ) -> tuple[str, Payload]:
        """1.6 §6.45 StartTransaction.req."""
        payload: Payload = {
            "connectorId": evse.id,
            "idTag": tx.id_tag[:20],
            "meterStart": tx.meter_start_wh,
            "timestamp": format_time(tx.started_at),
        }
        return "StartTransaction", payload

    def updated(
        self,
        station: SimStation,
        evse: Evse,
        tx: Transaction,
        now: datetime,
        *,
        offline: bool,
        triggered: bool = False,
    ) -> tuple[str, Payload]:
        """1.6 §6.30 MeterValues.req with the transactionId (set when sent)."""
        return "MeterValues", {
            "connectorId": evse.id,
            "transactionId": -1,
            "meterValue": [_meter_value(evse, now, "Sample.Periodic")],
        }

    def ended(
        self,
        station: SimStation,
        evse: Evse,
        tx: Transaction,
        reason: StopReason,
        now: datetime,
        *,
        offline: bool,
    ) -> tuple[str, Payload]:
        """1.6 §6.49 StopTransaction.req with the final register and the reason."""
        return "StopTransaction", {
            "transactionId": -1,
            "idTag": tx.id_tag[:20],
            "meterStop": evse.meter.register_wh,
            "timestamp": format_time(now),
            "reason": _REASONS.get(reason, reason.value),
            "transactionData": [_meter_value(evse, now, "Transaction.End")],
        }

    def meter_values(self, station: SimStation, evse: Evse, now: datetime) -> tuple[str, Payload]:
        """MeterValues.req outside a transaction (e.g. triggered)."""
        return "MeterValues", {
            "connectorId": evse.id,
            "meterValue": [_meter_value(evse, now, "Trigger")],
        }


def _meter_value(evse: Evse, now: datetime, context: str) -> Payload:
    return {
        "timestamp": format_time(now),
        "sampledValue": [
            {
                "value": str(evse.meter.reading_wh),
                "context": context,
                "measurand": "Energy.Active.Import.Register",
                "unit": "Wh",
            },
            {
                "value": str(int(evse.meter.power_w)),
                "context": context,
                "measurand": "Power.Active.Import",
                "unit": "W",
            },
        ],
    }


DIALECT = V16Dialect(ANSWERS)
