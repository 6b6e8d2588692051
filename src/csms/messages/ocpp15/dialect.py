"""One OCPP 1.5J peer: its payloads checked against the 1.5 schemas and mapped onto 1.6.

The frames of "ocpp1.5" are OCPP-J's (1.6 §4: ``[2, id, action, payload]``, the 1.6 error codes);
only the payloads are 1.5. Used on both ends of the wire: by the CSMS for a station that
negotiated ``ocpp1.5`` (csms.server) and by the simulator for a 1.5J station (csms.simulator).
Each payload read from the wire is validated as 1.5 *then* mapped to 1.6; each payload written is
mapped to 1.5 *then* validated, so a 1.5 peer only ever sees 1.5.
"""

from __future__ import annotations

from typing import Any

from csms.messages.ocpp15.mapping import to_15, to_16
from csms.messages.ocpp15.schemas import Ocpp15Schemas
from csms.messages.schemas import SchemaKind
from csms.rpc.errors import CallErrorReply, ErrorCode

# The WebSocket subprotocol (unofficial, but what 1.5J stations offer).
SUBPROTOCOL = "ocpp1.5"

Payload = dict[str, Any]


class Ocpp15Json:
    """Translation and validation for one side of 1.5J (stateless; share one per process)."""

    __slots__ = ("schemas",)

    def __init__(self, schemas: Ocpp15Schemas | None = None) -> None:
        self.schemas = schemas if schemas is not None else Ocpp15Schemas()

    def check_call(self, action: str, *, from_station: bool) -> None:
        """Refuse a CALL 1.5 does not have, or not in this direction (before its payload).

        Raises:
            CallErrorReply: NotImplemented (unknown in 1.5: e.g. TriggerMessage, 1.6 only) or
                NotSupported (the other side's operation, e.g. a station sending Reset).
        """
        direction = self.schemas.direction(action)
        if direction is None:
            raise CallErrorReply(
                ErrorCode.NOT_IMPLEMENTED, f"{action[:64]!r} is not supported by OCPP 1.5"
            )
        if (direction.from_station if from_station else direction.to_station) is False:
            raise CallErrorReply(
                ErrorCode.NOT_SUPPORTED,
                f"{action} is not sent by the {'station' if from_station else 'CSMS'} in OCPP 1.5",
            )

    def inbound(self, action: str, kind: SchemaKind, payload: Payload) -> Payload:
        """A 1.5 payload read from the wire → the 1.6 payload (validated as 1.5 first).

        Raises:
            CallErrorReply: the violation's code (FormationViolation, TypeConstraintViolation...).
        """
        self.schemas.validate(action, kind, payload)
        return to_16(action, kind, payload)

    def outbound(self, action: str, kind: SchemaKind, payload: Payload) -> Payload:
        """A 1.6 payload to write → the 1.5 payload (validated as 1.5 after the mapping).

        Raises:
            CallErrorReply: NotSupported for what 1.5 cannot say (see :func:`to_15`), or the code
                of the 1.5 schema violation.
        """
        mapped = to_15(action, kind, payload, self.schemas.enumerations)
        self.schemas.validate(action, kind, mapped)
        return mapped
