"""What travels between nodes for a command: the request, and its outcome as data.

The holder answers every request it received with the outcome its own gateway gave, a result or
one of the domain errors, so the API node raises the same error it would raise for a local
station and the API answers the same status (404/409/502/504).
"""

from __future__ import annotations

from typing import Any

import orjson

from csms.domain.errors import (
    CallFailed,
    CallOutcomeUnknown,
    CallTimeout,
    CommandNotAllowed,
    DomainError,
    InvalidPayload,
    NotSupportedByVersion,
    StationBusy,
    StationNotConnected,
)

__all__ = ["decode_outcome", "decode_request", "encode_error", "encode_request", "encode_result"]

# The errors whose message alone rebuilds them (the others carry fields of their own).
_SIMPLE: dict[str, type[DomainError]] = {
    "not-connected": StationNotConnected,
    "busy": StationBusy,
    "not-allowed": CommandNotAllowed,
    "timeout": CallTimeout,
    "outcome-unknown": CallOutcomeUnknown,
}


def encode_request(
    station_id: str,
    action: str,
    payload: dict[str, Any],
    timeout: float | None,
    password_rotation: bool,
) -> bytes:
    return orjson.dumps(
        {
            "station": station_id,
            "action": action,
            "payload": payload,
            "timeout": timeout,
            "password_rotation": password_rotation,
        }
    )


def decode_request(data: bytes) -> tuple[str, str, dict[str, Any], float | None, bool]:
    """Raises ValueError (or orjson.JSONDecodeError, a ValueError) on a malformed request."""
    doc = orjson.loads(data)
    if not isinstance(doc, dict) or not isinstance(doc.get("payload"), dict):
        raise ValueError("not a command request")
    timeout = doc.get("timeout")
    return (
        str(doc["station"]),
        str(doc["action"]),
        doc["payload"],
        float(timeout) if timeout is not None else None,
        bool(doc.get("password_rotation", False)),
    )


def encode_result(result: dict[str, Any]) -> bytes:
    return orjson.dumps({"result": result})


def encode_error(exc: DomainError) -> bytes:
    """The outcome of a failed call; an error this module does not know is "outcome unknown"."""
    message = str(exc)
    if isinstance(exc, CallFailed):
        doc: dict[str, Any] = {
            "error": "failed",
            "code": exc.code,
            "description": exc.description,
            "details": exc.details,
        }
    elif isinstance(exc, InvalidPayload):
        kind = "not-supported" if isinstance(exc, NotSupportedByVersion) else "invalid"
        doc = {"error": kind, "message": message, "code": exc.code, "path": exc.path}
    else:
        kind = next((k for k, cls in _SIMPLE.items() if type(exc) is cls), "outcome-unknown")
        doc = {"error": kind, "message": message}
    return orjson.dumps(doc)


def decode_outcome(data: bytes) -> dict[str, Any]:
    """The result of the call, or raise the error the holder's gateway raised."""
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise CallOutcomeUnknown("the holder's answer was unreadable") from None
    if not isinstance(doc, dict):
        raise CallOutcomeUnknown("the holder's answer was unreadable")
    if "result" in doc and isinstance(doc["result"], dict):
        return doc["result"]
    kind = doc.get("error")
    message = str(doc.get("message", ""))
    if kind == "failed":
        raise CallFailed(
            str(doc.get("code", "")), str(doc.get("description", "")), doc.get("details") or {}
        )
    if kind == "invalid":
        raise InvalidPayload(message, code=str(doc.get("code", "")), path=str(doc.get("path", "")))
    if kind == "not-supported":
        raise NotSupportedByVersion(message, path=str(doc.get("path", "")))
    raise _SIMPLE.get(str(kind), CallOutcomeUnknown)(message or "outcome unknown")
