"""The CSMS→station direction for 1.5 SOAP stations: 1.6J payloads ↔ ChargePointService 1.5.

Commands are built and checked for the shared 1.6 model (:mod:`csms.soap.outbound`); a 1.5
station gets them in its version's spelling and its answers are read back onto the 1.6 model
(the 1.5 and 1.6 ChargePointService WSDLs compared):

* SendLocalList: 1.6 ``localAuthorizationList`` is 1.5 ``localAuthorisationList``; the answer's
  ``hash`` (1.5 only) is dropped and status ``HashError`` (1.5 only) read as ``Failed``.
* UnlockConnector: the 1.5 answer ``Accepted``/``Rejected`` is 1.6 ``Unlocked``/``UnlockFailed``.

Every other 1.5 operation has the 1.6 fields (1.5 lacks some optional ones, e.g. RemoteStart's
``chargingProfile``: the 1.5 schema refuses a command that uses them) and enumerations that are
subsets of 1.6's. 1.5 has no TriggerMessage and no smart charging operations.
"""

from __future__ import annotations

from typing import Any

Payload = dict[str, Any]

_UNLOCK_15 = {"Accepted": "Unlocked", "Rejected": "UnlockFailed"}


def request_to_soap(version: str, action: str, payload: Payload) -> Payload:
    """The ChargePointService request body of ``version`` for a 1.6J request payload."""
    if version != "1.5" or action != "SendLocalList":
        return payload
    body = dict(payload)
    if "localAuthorizationList" in body:
        body["localAuthorisationList"] = body.pop("localAuthorizationList")
    return body


def response_to_json(version: str, action: str, body: Payload) -> Payload:
    """The 1.6J response payload for a decoded ChargePointService response of ``version``."""
    if version != "1.5":
        return body
    if action == "UnlockConnector":
        return {**body, "status": _UNLOCK_15.get(body.get("status", ""), body.get("status"))}
    if action == "SendLocalList":
        status = body.get("status")
        return {"status": "Failed" if status == "HashError" else status}
    return body
