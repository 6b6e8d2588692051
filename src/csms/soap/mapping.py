"""SOAP bodies ↔ the OCPP-J 1.6 payloads the handlers take, for 1.6 and 1.5.

1.6 SOAP bodies decode to the 1.6J payloads as they are (the WSDL and the JSON schemas name the
same fields), so only 1.5 needs mapping onto the shared model (the 1.5 and 1.6
CentralSystemService WSDLs compared; OCPP 1.6 edition 2, "changes since 1.5"):

* MeterValues ``values`` → ``meterValue``; a 1.5 ``value`` is text with optional attributes
  (context, format, measurand, location, unit) → a ``sampledValue`` object; units ``Amp``/``Volt``
  → ``A``/``V``.
* StopTransaction ``transactionData`` is a list of ``{values: [MeterValue]}`` → the flat 1.6 list
  of MeterValue (no ``reason``: 1.6 then means Local).
* StatusNotification ``Occupied`` → ``Charging`` (1.6 split Occupied into Preparing, Charging,
  SuspendedEV/EVSE and Finishing; Charging is the one that says "in use"); error code
  ``Mode3Error`` → ``EVCommunicationError`` (its 1.6 name).
* BootNotification response ``interval`` → ``heartbeatInterval``; 1.5 has no Pending, so a Pending
  answer is sent as Rejected with the same interval (the station boots again after it, as 1.6
  §4.2 asks of a Pending one).

Everything else (Authorize, StartTransaction, Heartbeat, DataTransfer, the status notifications)
has the same fields in both versions; 1.5 enumerations are subsets of 1.6's.
"""

from __future__ import annotations

from typing import Any

Payload = dict[str, Any]

_UNITS_15 = {"Amp": "A", "Volt": "V"}
_STATUS_15 = {"Occupied": "Charging"}
_ERROR_CODES_15 = {"Mode3Error": "EVCommunicationError"}
_SAMPLE_ATTRIBUTES = ("context", "format", "measurand", "location", "unit")


def request_to_json(version: str, action: str, body: Payload) -> Payload:
    """The 1.6J request payload for a decoded SOAP request body of ``version``."""
    if version != "1.5":
        return body
    payload = dict(body)
    if action == "MeterValues":
        payload["meterValue"] = [_meter_value_15(v) for v in payload.pop("values", [])]
        if not payload["meterValue"]:
            del payload["meterValue"]
    elif action == "StopTransaction":
        data = payload.pop("transactionData", [])
        values = [_meter_value_15(v) for d in data for v in (d or {}).get("values", [])]
        if values:
            payload["transactionData"] = values
    elif action == "StatusNotification":
        payload["status"] = _STATUS_15.get(payload["status"], payload["status"])
        payload["errorCode"] = _ERROR_CODES_15.get(payload["errorCode"], payload["errorCode"])
    return payload


def response_from_json(version: str, action: str, payload: Payload) -> Payload:
    """The SOAP response body of ``version`` for the 1.6J response payload of a handler."""
    if version != "1.5" or action != "BootNotification":
        return payload
    body = {k: v for k, v in payload.items() if k != "interval"}
    body["heartbeatInterval"] = payload["interval"]
    if body.get("status") == "Pending":
        body["status"] = "Rejected"
    return body


def _meter_value_15(value: Payload) -> Payload:
    samples = []
    for item in value.get("value", []):
        if isinstance(item, dict):
            sample = {"value": str(item.get("$", ""))}
            for name in _SAMPLE_ATTRIBUTES:
                if ("@" + name) in item:
                    sample[name] = item["@" + name]
            if "unit" in sample:
                sample["unit"] = _UNITS_15.get(sample["unit"], sample["unit"])
        else:
            sample = {"value": str(item)}
        samples.append(sample)
    return {"timestamp": value["timestamp"], "sampledValue": samples}
