"""OCPP 1.5 payloads ↔ the 1.6 payloads of the shared model, both directions, both services.

The handlers, the typed commands and storage speak 1.6 (the shared model); a 1.5 station, over
SOAP or OCPP-J, speaks 1.5. What differs (the 1.5 and 1.6 WSDLs compared; OCPP 1.6 edition 2,
"changes since 1.5"):

* MeterValues ``values`` ↔ ``meterValue``; a 1.5 sample is a ``value`` (text with optional context,
  format, measurand, location, unit) ↔ a 1.6 ``sampledValue``; units ``Amp``/``Volt`` ↔ ``A``/``V``;
  1.6's ``phase`` and the samples 1.5 cannot express (e.g. measurand SoC, unit Percent) are left
  out toward 1.5.
* StopTransaction ``transactionData`` is a list of ``{values: [MeterValue]}`` ↔ the flat 1.6 list
  (no ``reason`` in 1.5: 1.6 then means Local).
* StatusNotification ``Occupied`` ↔ ``Charging`` (1.6 split Occupied into Preparing, Charging,
  SuspendedEV/EVSE and Finishing; Charging is the one that says "in use"); error code
  ``Mode3Error`` ↔ ``EVCommunicationError``; 1.6-only error codes → ``OtherError``.
* BootNotification response ``heartbeatInterval`` ↔ ``interval``; 1.5 has no Pending, so a Pending
  answer is sent as Rejected with the same interval (the station boots again after it, as 1.6
  §4.2 asks of a Pending one).
* SendLocalList ``localAuthorisationList`` (and an optional ``hash``) ↔ ``localAuthorizationList``;
  its ``HashError`` answer → ``Failed``.
* UnlockConnector answers ``Accepted``/``Rejected`` ↔ ``Unlocked``/``UnlockFailed``.
* ChangeConfiguration: 1.6's ``RebootRequired`` → ``Accepted`` (1.5 cannot say it).
* RemoteStartTransaction has no ``chargingProfile`` in 1.5, and the status notifications only the
  final states: what 1.5 cannot carry is refused with NotSupported rather than silently dropped.

Everything else (Authorize, StartTransaction, Heartbeat, DataTransfer, Reset, GetConfiguration...)
has the same fields in both versions, and 1.5 enumerations are subsets of 1.6's.

A 1.5 sample reaches here in one of two spellings: 1.5J's ``{"value": "12", "unit": "Wh"}`` (see
:mod:`csms.messages.ocpp15.schemas`) or the SOAP decoder's ``{"$": "12", "@unit": "Wh"}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from csms.messages.schemas import SchemaKind
from csms.rpc.errors import CallErrorReply, ErrorCode

Payload = dict[str, Any]

_UNITS_15 = {"Amp": "A", "Volt": "V"}
_UNITS_16 = {v: k for k, v in _UNITS_15.items()}
_STATUS_15 = {"Occupied": "Charging"}
_IN_USE_16 = frozenset({"Preparing", "Charging", "SuspendedEV", "SuspendedEVSE", "Finishing"})
_ERROR_CODES_15 = {"Mode3Error": "EVCommunicationError"}
_ERROR_CODES_16 = {v: k for k, v in _ERROR_CODES_15.items()}
_UNLOCK_15 = {"Accepted": "Unlocked", "Rejected": "UnlockFailed"}
_SAMPLE_ATTRIBUTES = ("context", "format", "measurand", "location", "unit")
# 1.5 enumeration (simple type of the WSDL) of each sample attribute.
_SAMPLE_TYPES = {
    "context": "ReadingContext",
    "format": "ValueFormat",
    "measurand": "Measurand",
    "location": "Location",
    "unit": "UnitOfMeasure",
}
_LOCAL_LIST_15 = "localAuthorisationList"
_LOCAL_LIST_16 = "localAuthorizationList"


def to_16(action: str, kind: SchemaKind, payload: Payload) -> Payload:
    """The 1.6 payload for a (valid) 1.5 request or response of ``action``."""
    out = dict(payload)
    if kind is SchemaKind.REQUEST:
        if action == "MeterValues":
            values = [_meter_value_16(v) for v in out.pop("values", None) or []]
            if values:
                out["meterValue"] = values
        elif action == "StopTransaction":
            data = out.pop("transactionData", None) or []
            values = [_meter_value_16(v) for d in data for v in (d or {}).get("values", [])]
            if values:
                out["transactionData"] = values
        elif action == "StatusNotification":
            out["status"] = _STATUS_15.get(out["status"], out["status"])
            out["errorCode"] = _ERROR_CODES_15.get(out["errorCode"], out["errorCode"])
        elif action == "SendLocalList":
            out.pop("hash", None)
            if _LOCAL_LIST_15 in out:
                out[_LOCAL_LIST_16] = out.pop(_LOCAL_LIST_15)
        return out
    if action == "BootNotification" and "heartbeatInterval" in out:
        out["interval"] = out.pop("heartbeatInterval")
    elif action == "UnlockConnector":
        out["status"] = _UNLOCK_15.get(out["status"], out["status"])
    elif action == "SendLocalList" and out.get("status") == "HashError":
        out["status"] = "Failed"
    return out


def to_15(
    action: str,
    kind: SchemaKind,
    payload: Payload,
    enumerations: Mapping[str, frozenset[str]] | None = None,
) -> Payload:
    """The 1.5 payload for a 1.6 request or response of ``action``.

    ``enumerations`` (the 1.5 simple types, :attr:`Ocpp15Schemas.enumerations`) lets meter
    samples 1.5 cannot express be left out rather than refused.

    Raises:
        CallErrorReply: NotSupported, for content 1.5 has no way to say (a RemoteStart charging
            profile, a firmware status "Downloading").
    """
    out = dict(payload)
    if kind is SchemaKind.REQUEST:
        if action == "MeterValues":
            values = [_meter_value_15(v, enumerations) for v in out.pop("meterValue", [])]
            out["values"] = [v for v in values if v["value"]]
        elif action == "StopTransaction":
            out.pop("reason", None)
            data = out.pop("transactionData", None)
            values = [_meter_value_15(v, enumerations) for v in data or []]
            if any(v["value"] for v in values):
                out["transactionData"] = [{"values": [v for v in values if v["value"]]}]
        elif action == "StatusNotification":
            if out.get("status") in _IN_USE_16:
                out["status"] = "Occupied"
            code = _ERROR_CODES_16.get(out.get("errorCode", ""), out.get("errorCode"))
            known = None if enumerations is None else enumerations.get("ChargePointErrorCode")
            out["errorCode"] = "OtherError" if known and code not in known else code
        elif action == "RemoteStartTransaction" and "chargingProfile" in out:
            raise _not_in_15("a RemoteStartTransaction with a chargingProfile")
        elif action == "SendLocalList" and _LOCAL_LIST_16 in out:
            out[_LOCAL_LIST_15] = out.pop(_LOCAL_LIST_16)
        elif action in ("FirmwareStatusNotification", "DiagnosticsStatusNotification"):
            type_name = "FirmwareStatus" if action[0] == "F" else "DiagnosticsStatus"
            known = None if enumerations is None else enumerations.get(type_name)
            if known and out.get("status") not in known:
                raise _not_in_15(f"{action} status {str(out.get('status'))[:32]!r}")
        return out
    if action == "BootNotification" and "interval" in out:
        out["heartbeatInterval"] = out.pop("interval")
        if out.get("status") == "Pending":
            out["status"] = "Rejected"
    elif action == "UnlockConnector":
        out["status"] = "Accepted" if out.get("status") == "Unlocked" else "Rejected"
    elif action == "ChangeConfiguration" and out.get("status") == "RebootRequired":
        out["status"] = "Accepted"
    return out


def request_to_json(version: str, action: str, body: Payload) -> Payload:
    """The 1.6J request payload for a decoded SOAP request body of ``version`` (1.5 or 1.6)."""
    return body if version != "1.5" else to_16(action, SchemaKind.REQUEST, body)


def response_from_json(version: str, action: str, payload: Payload) -> Payload:
    """The SOAP response body of ``version`` for the 1.6J response payload of a handler."""
    return payload if version != "1.5" else to_15(action, SchemaKind.RESPONSE, payload)


def _not_in_15(what: str) -> CallErrorReply:
    return CallErrorReply(ErrorCode.NOT_SUPPORTED, f"{what} is not supported by OCPP 1.5")


def _meter_value_16(value: Payload) -> Payload:
    samples = []
    for item in value.get("value", []):
        if isinstance(item, dict):
            text = item["$"] if "$" in item else item.get("value", "")
            sample = {"value": str(text)}
            for name in _SAMPLE_ATTRIBUTES:
                found = item.get("@" + name, item.get(name))
                if found is not None:
                    sample[name] = found
            if "unit" in sample:
                sample["unit"] = _UNITS_15.get(sample["unit"], sample["unit"])
        else:
            sample = {"value": str(item)}
        samples.append(sample)
    return {"timestamp": value["timestamp"], "sampledValue": samples}


def _meter_value_15(value: Payload, enumerations: Mapping[str, frozenset[str]] | None) -> Payload:
    samples = []
    for sampled in value.get("sampledValue", []):
        sample = {"value": sampled["value"]}
        for name in _SAMPLE_ATTRIBUTES:
            if name in sampled:
                sample[name] = sampled[name]
        if "unit" in sample:
            sample["unit"] = _UNITS_16.get(sample["unit"], sample["unit"])
        if enumerations is None or all(
            sample[name] in enumerations.get(_SAMPLE_TYPES[name], (sample[name],))
            for name in _SAMPLE_ATTRIBUTES
            if name in sample
        ):
            samples.append(sample)
    return {"timestamp": value["timestamp"], "value": samples}
