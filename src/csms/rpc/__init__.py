"""Sans-I/O OCPP-J RPC core: frames, error codes, versions and the per-connection session.

Nothing here does I/O, reads a clock or imports asyncio; the frontends in ``csms.server`` (and the
simulator) pump it. See ``RpcSession`` for the rules it keeps.
"""

from csms.rpc.errors import (
    CallErrorReply,
    ErrorCode,
    LocalProtocolError,
    OutboundQueueFull,
    RpcError,
    parse_error_code,
)
from csms.rpc.events import (
    CallAborted,
    CallReceived,
    CallTimedOut,
    ErrorReceived,
    Event,
    ProtocolViolation,
    ResultReceived,
    SendReceived,
)
from csms.rpc.session import RpcSession
from csms.rpc.versions import ALL_VERSIONS, OcppVersion, select_subprotocol

__all__ = [
    "ALL_VERSIONS",
    "CallAborted",
    "CallErrorReply",
    "CallReceived",
    "CallTimedOut",
    "ErrorCode",
    "ErrorReceived",
    "Event",
    "LocalProtocolError",
    "OcppVersion",
    "OutboundQueueFull",
    "ProtocolViolation",
    "ResultReceived",
    "RpcError",
    "RpcSession",
    "SendReceived",
    "parse_error_code",
    "select_subprotocol",
]
