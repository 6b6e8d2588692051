"""RPC error codes and the exceptions of the sans-I/O core.

The error codes are version-neutral; :meth:`ErrorCode.wire` spells them for the negotiated version,
because OCPP-J 1.6 (Table 7, "known issues that will not be fixed" in the errata §5) and 2.x
(2.0.1 Part 4 Table 8; 2.1 Part 4 Table 9) differ. A 1.6 session never receives a 2.x-only code and
vice versa. :func:`parse_error_code` understands both spellings from a peer.

Exception tree of this layer::

    RpcError
     ├── CallErrorReply        answer this CALL with a CALLERROR (code, description, details)
     ├── OutboundQueueFull     too many CSMS-initiated CALLs waiting for one station
     └── LocalProtocolError    the caller misused the session (a bug on our side)
"""

from __future__ import annotations

import enum
from typing import Any

from csms.rpc.versions import OcppVersion


class ErrorCode(enum.Enum):
    """Version-neutral CALLERROR codes; the value is the 2.x spelling."""

    NOT_IMPLEMENTED = "NotImplemented"
    NOT_SUPPORTED = "NotSupported"
    INTERNAL_ERROR = "InternalError"
    PROTOCOL_ERROR = "ProtocolError"
    SECURITY_ERROR = "SecurityError"
    FORMAT_VIOLATION = "FormatViolation"
    PROPERTY_CONSTRAINT_VIOLATION = "PropertyConstraintViolation"
    OCCURRENCE_CONSTRAINT_VIOLATION = "OccurrenceConstraintViolation"
    TYPE_CONSTRAINT_VIOLATION = "TypeConstraintViolation"
    GENERIC_ERROR = "GenericError"
    RPC_FRAMEWORK_ERROR = "RpcFrameworkError"
    MESSAGE_TYPE_NOT_SUPPORTED = "MessageTypeNotSupported"

    def wire(self, version: OcppVersion) -> str:
        """Spell this code for ``version``.

        1.6 has no RpcFrameworkError or MessageTypeNotSupported: a frame that is not a valid RPC
        message is a FormationViolation there (ocpp-rules.md §1.6).
        """
        if version.is_2x:
            return self.value
        return _V16_SPELLING.get(self, self.value)


_V16_SPELLING = {
    ErrorCode.FORMAT_VIOLATION: "FormationViolation",
    ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION: "OccurenceConstraintViolation",
    ErrorCode.RPC_FRAMEWORK_ERROR: "FormationViolation",
    ErrorCode.MESSAGE_TYPE_NOT_SUPPORTED: "NotSupported",
}

_FROM_WIRE: dict[str, ErrorCode] = {code.value: code for code in ErrorCode}
_FROM_WIRE["FormationViolation"] = ErrorCode.FORMAT_VIOLATION
_FROM_WIRE["OccurenceConstraintViolation"] = ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION


def parse_error_code(text: str) -> ErrorCode | None:
    """Read a peer's error code in either version's spelling; None if it is not a known code."""
    return _FROM_WIRE.get(text)


class RpcError(Exception):
    """Base of every exception raised by the RPC core."""


class CallErrorReply(RpcError):
    """Raise to answer the CALL being handled with a CALLERROR.

    Handlers and the message layer raise it; the frontend turns it into a CALLERROR frame spelled for
    the session's version.
    """

    def __init__(
        self,
        code: ErrorCode,
        description: str = "",
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{code.value}: {description}" if description else code.value)
        self.code = code
        self.description = description
        self.details = details or {}


class OutboundQueueFull(RpcError):
    """The station already has the maximum number of CSMS-initiated CALLs waiting."""


class LocalProtocolError(RpcError):
    """The session was used against its rules (e.g. answering a CALL twice)."""
