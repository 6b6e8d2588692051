"""Opaque page cursors: a versioned JSON position, base64url without padding.

Clients pass back what they got in ``next_cursor`` and never look inside; the ``k`` member names
the listing, so a cursor of one listing given to another is refused (400), as is any cursor that
does not decode. Refusals are cheap (no database work) and say what to do.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Any, Final

from csms.api.errors import ApiProblem, ProblemKind
from csms.domain.ledger import LedgerKey, LedgerVersion

__all__ = [
    "BAD_CURSOR",
    "decode_station_cursor",
    "decode_transaction_cursor",
    "encode_station_cursor",
    "encode_transaction_cursor",
]

BAD_CURSOR: Final = ProblemKind(400, "bad-cursor", "Invalid page cursor")
_MAX_LENGTH: Final = 1024
_INT64: Final = 2**63 - 1
_HINT: Final = "pass back a next_cursor exactly as received, or omit cursor for the first page"


def _encode(body: dict[str, Any]) -> str:
    raw = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _decode(cursor: str, kind: str) -> dict[str, Any]:
    if len(cursor) > _MAX_LENGTH:
        raise ApiProblem(BAD_CURSOR, f"cursor too long; {_HINT}")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        body = json.loads(raw)
    except (binascii.Error, ValueError):
        raise ApiProblem(BAD_CURSOR, f"cursor does not decode; {_HINT}") from None
    if not isinstance(body, dict) or body.get("k") != kind:
        raise ApiProblem(BAD_CURSOR, f"not a cursor of this listing; {_HINT}")
    return body


def encode_transaction_cursor(key: LedgerKey) -> str:
    """The cursor of the transaction listing after ``key``."""
    started = key.started_at.isoformat() if key.started_at is not None else None
    return _encode({"k": "tx", "s": started, "v": int(key.version), "i": key.row_id})


def decode_transaction_cursor(cursor: str) -> LedgerKey:
    """The position a transaction cursor names; :class:`ApiProblem` (400) if it is not one."""
    body = _decode(cursor, "tx")
    started, version, row_id = body.get("s"), body.get("v"), body.get("i")
    try:
        if not isinstance(row_id, int) or isinstance(row_id, bool) or not isinstance(version, int):
            raise ValueError("members")
        at = datetime.fromisoformat(started) if isinstance(started, str) else None
        if (started is not None and at is None) or (at is not None and at.tzinfo is None):
            raise ValueError("timestamp")
        if not 0 <= row_id <= _INT64:
            raise ValueError("row id")
        return LedgerKey(at and at.astimezone(UTC), LedgerVersion(version), row_id)
    except (TypeError, ValueError, OverflowError):
        raise ApiProblem(BAD_CURSOR, f"cursor does not name a position; {_HINT}") from None


def encode_station_cursor(station_id: str) -> str:
    """The cursor of the station listing after ``station_id``."""
    return _encode({"k": "st", "i": station_id})


def decode_station_cursor(cursor: str) -> str:
    """The station id a station cursor names; :class:`ApiProblem` (400) if it is not one."""
    station_id = _decode(cursor, "st").get("i")
    if not isinstance(station_id, str) or "\x00" in station_id:
        raise ApiProblem(BAD_CURSOR, f"cursor does not name a position; {_HINT}")
    return station_id
