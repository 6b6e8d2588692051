"""Events the sans-I/O session reports to its frontend.

The frontend reads them from :meth:`RpcSession.receive` and :meth:`RpcSession.expire` and acts:
a :class:`CallReceived` must be answered with ``send_result`` or ``send_error``; the others report
outcomes of CSMS-initiated CALLs or protocol trouble worth logging and counting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from csms.rpc.errors import ErrorCode


@dataclass(frozen=True, slots=True)
class CallReceived:
    """The peer sent a CALL; answer it exactly once."""

    message_id: str
    action: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class SendReceived:
    """2.1: the peer sent an unconfirmed SEND; never answer it (2.1 Part 4 §4.2.4)."""

    message_id: str
    action: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ResultReceived:
    """The peer answered our outstanding CALL ``action`` with a CALLRESULT."""

    message_id: str
    action: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ErrorReceived:
    """The peer answered our outstanding CALL with a CALLERROR.

    ``code`` is None when the peer used a code neither version defines; ``raw_code`` keeps it.
    """

    message_id: str
    action: str
    code: ErrorCode | None
    raw_code: str
    description: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CallTimedOut:
    """Our CALL got no reply within the response timeout; a late reply will be dropped."""

    message_id: str
    action: str


@dataclass(frozen=True, slots=True)
class CallAborted:
    """Our CALL cannot complete because the session closed; its outcome is unknown if it was sent."""

    message_id: str
    action: str
    sent: bool


@dataclass(frozen=True, slots=True)
class ProtocolViolation:
    """The peer broke an OCPP-J rule; the session already did what the spec asks (reply or drop).

    ``fatal`` is set once too many consecutive bad frames arrived: close the connection (1002).
    ``counts`` is False for what an honest peer may do (a late reply to a CALL that timed out, a
    2.1 retransmission, Part 4 §4.1.4); the frontend counts the others toward its violation budget.
    """

    description: str
    fatal: bool = False
    counts: bool = True


Event = (
    CallReceived
    | SendReceived
    | ResultReceived
    | ErrorReceived
    | CallTimedOut
    | CallAborted
    | ProtocolViolation
)
