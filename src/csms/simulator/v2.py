"""OCPP 2.0.1 and 2.1 on the station side: the requests it sends (answers in
:mod:`~csms.simulator.v2_answers`).

Shapes from the official 2.0.1/2.1 schemas; behaviour from the use cases they name (2.0.1 Part 2:
B01 boot, C01 authorize, E01-E08 transactions, G01 status, J01/J02 meter values).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from csms.rpc.versions import OcppVersion
from csms.simulator.dialect import (
    MODEL,
    VENDOR,
    BootReason,
    Handler,
    Payload,
    StopReason,
    format_time,
)
from csms.simulator.state import Evse, Status, Transaction
from csms.simulator.v2_answers import ANSWERS_21, ANSWERS_201

if TYPE_CHECKING:
    from csms.simulator.station import SimStation

_CONNECTOR_STATUS = {
    Status.AVAILABLE: "Available",
    Status.PREPARING: "Occupied",
    Status.CHARGING: "Occupied",
    Status.SUSPENDED_EV: "Occupied",
    Status.FINISHING: "Occupied",
    Status.RESERVED: "Reserved",
    Status.UNAVAILABLE: "Unavailable",
    Status.FAULTED: "Faulted",
}
_CHARGING_STATE = {
    Status.CHARGING: "Charging",
    Status.SUSPENDED_EV: "SuspendedEV",
    Status.PREPARING: "EVConnected",
    Status.FINISHING: "EVConnected",
}
_REASONS = {
    StopReason.HARD_RESET: "ImmediateReset",
    StopReason.SOFT_RESET: "ImmediateReset",
    StopReason.UNLOCK: "Other",
}
_STOP_TRIGGERS = {
    StopReason.REMOTE: "RemoteStop",
    StopReason.LOCAL: "StopAuthorized",
    StopReason.EV_DISCONNECTED: "EVCommunicationLost",
    StopReason.HARD_RESET: "ResetCommand",
    StopReason.SOFT_RESET: "ResetCommand",
    StopReason.UNLOCK: "UnlockCommand",
    StopReason.POWER_LOSS: "AbnormalCondition",
    StopReason.GROUND_FAULT: "AbnormalCondition",
    StopReason.REBOOT: "ResetCommand",
    StopReason.DEAUTHORIZED: "Deauthorized",
}


def id_token(tag: str) -> Payload:
    """An RFID card (IdTokenType, type ISO14443)."""
    return {"idToken": tag[:36], "type": "ISO14443"}


class V2Dialect:
    """Station-initiated messages of OCPP 2.0.1 and 2.1 (they are alike for what is sent here)."""

    transaction_actions = frozenset({"TransactionEvent"})

    def __init__(self, answers: dict[str, Handler]) -> None:
        self.answers = answers

    def boot(self, station: SimStation, reason: BootReason) -> tuple[str, Payload]:
        """B01 BootNotificationRequest."""

        return "BootNotification", {
            "reason": reason.value,
            "chargingStation": {
                "vendorName": VENDOR,
                "model": MODEL,
                "serialNumber": f"SN-{station.identity}"[:25],
                "firmwareVersion": station.state.firmware_version,
            },
        }

    def wire_status(self, evse: Evse) -> str:
        """ConnectorStatusEnumType: everything with a cable in is Occupied."""
        return _CONNECTOR_STATUS[evse.status]

    def status(self, station: SimStation, evse: Evse, now: datetime) -> tuple[str, Payload]:
        """G01 StatusNotificationRequest for connector 1 of the EVSE."""
        return "StatusNotification", {
            "timestamp": format_time(now),
            "connectorStatus": self.wire_status(evse),
            "evseId": evse.id,
            "connectorId": 1,
        }

    def authorize(self, id_tag: str) -> tuple[str, Payload]:
        """C01 AuthorizeRequest."""
        return "Authorize", {"idToken": id_token(id_tag)}

    def _event(
        self,
        event_type: str,
        trigger: str,
        evse: Evse,
        tx: Transaction,
        now: datetime,
        *,
        offline: bool,
        context: str,
        info: Payload | None = None,
    ) -> tuple[str, Payload]:
        transaction_info: Payload = {"transactionId": tx.transaction_id}
        if info:
            transaction_info.update(info)
        payload: Payload = {
            "eventType": event_type,
            "timestamp": format_time(now),
            "triggerReason": trigger,
            "seqNo": tx.next_seq(),
            "transactionInfo": transaction_info,
            "meterValue": [_meter_value(evse, now, context)],
        }
        if offline:
            payload["offline"] = True
        return "TransactionEvent", payload

    def started(
        self, station: SimStation, evse: Evse, tx: Transaction, now: datetime, *, offline: bool
    ) -> tuple[str, Payload]:
        """E01/E02 TransactionEvent Started, with the EVSE, the token and the start register."""
        info: Payload = {"chargingState": "Charging"}
        if tx.remote_start_id is not None:
            info["remoteStartId"] = tx.remote_start_id
        action, payload = self._event(
            "Started",
            "RemoteStart" if tx.remote_start_id is not None else "Authorized",
            evse,
            tx,
            tx.started_at,
            offline=offline,
            context="Transaction.Begin",
            info=info,
        )
        payload["evse"] = {"id": evse.id, "connectorId": 1}
        payload["idToken"] = id_token(tx.id_tag)
        return action, payload

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
        """J02 TransactionEvent Updated with periodic (or F06 triggered) meter values."""
        return self._event(
            "Updated",
            "Trigger" if triggered else "MeterValuePeriodic",
            evse,
            tx,
            now,
            offline=offline,
            context="Sample.Periodic",
            info={"chargingState": _CHARGING_STATE.get(evse.status, "Charging")},
        )

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
        """E06-E08 TransactionEvent Ended with the stoppedReason and the final register."""
        return self._event(
            "Ended",
            _STOP_TRIGGERS[reason],
            evse,
            tx,
            now,
            offline=offline,
            context="Transaction.End",
            info={
                "chargingState": "EVConnected" if evse.plugged else "Idle",
                "stoppedReason": _REASONS.get(reason, reason.value),
            },
        )

    def meter_values(self, station: SimStation, evse: Evse, now: datetime) -> tuple[str, Payload]:
        """J01 MeterValuesRequest outside a transaction."""
        return "MeterValues", {
            "evseId": evse.id,
            "meterValue": [_meter_value(evse, now, "Trigger")],
        }


def _meter_value(evse: Evse, now: datetime, context: str) -> Payload:
    return {
        "timestamp": format_time(now),
        "sampledValue": [
            {
                "value": evse.meter.reading_wh,
                "context": context,
                "measurand": "Energy.Active.Import.Register",
                "unitOfMeasure": {"unit": "Wh"},
            },
            {
                "value": float(int(evse.meter.power_w)),
                "context": context,
                "measurand": "Power.Active.Import",
                "unitOfMeasure": {"unit": "W"},
            },
        ],
    }


DIALECT_201 = V2Dialect(ANSWERS_201)
DIALECT_21 = V2Dialect(ANSWERS_21)


def dialect(version: OcppVersion) -> V2Dialect:
    """The dialect of a 2.x version."""
    return DIALECT_21 if version is OcppVersion.V21 else DIALECT_201
