"""The checks every CALL passes before and after its handler, in the order the spec implies.

For a station's CALL (OCPP-J 1.6 §4.2.3 Table 7; 2.0.1 Part 4 §4.2.3 Table 8; ocpp-rules.md §1.6):

1. an action the version does not define → NotImplemented;
2. an action csms does not handle, or one only the CSMS may send → NotSupported;
3. anything but BootNotification before a BootNotification was Accepted → SecurityError
   (1.6 errata 3.8; OCTT TC_B_30_CSMS), except, while Pending, a message csms asked for with
   (Extended)TriggerMessage (1.6 §4.2: "unless it has been instructed ... with a TriggerMessage";
   2.0.1 B02; OCTT TC_B_31_CSMS) or, in 2.x, the NotifyReport of a GetBaseReport/GetReport
   (2.0.1 B02; OCTT TC_B_02_CSMS, TC_B_30_CSMS);
4. a payload that violates the official schema → the violation's code (in lenient mode the violation
   is logged and counted and the CALL is handled anyway); a payload nested too deep, or holding a
   value csms cannot store (an integer beyond 64 bits, a date-time outside years 1-9999 UTC) → its
   CALLERROR, lenient or not (:mod:`csms.messages.limits`);
5. the handler; a response that violates the schema is our bug → InternalError, never sent.

For a CSMS-initiated CALL, typed command or generic API call alike, :meth:`Dispatcher.check_outbound`
refuses requests that would set the station's password (only the key rotation may, see
:func:`csms.domain.configuration.secret_write`), validates the payload and applies the registration
rules of 1.6 §4.2 (no RemoteStart/RemoteStop while Pending; nothing while Rejected, but 2.x
TriggerMessage(BootNotification), B03.FR.08).

Every refusal of a station's CALL or SEND is logged at INFO (schema violations with their code and
JSON path, never values) through the :class:`~csms.log.LogLimiter`, so a station that repeats one
mistake costs a few lines per minute. :func:`is_violation` tells the frontend which refusals count
toward the station's protocol-violation budget (:class:`ViolationBudget`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from csms.blocks.context import CallContext
from csms.blocks.routing import Router
from csms.domain.configuration import secret_write
from csms.domain.errors import CommandNotAllowed, InvalidPayload
from csms.domain.model import RegistrationStatus
from csms.log import LogLimiter
from csms.messages import Direction, MessageValidator, SchemaKind
from csms.rpc import CallErrorReply, ErrorCode, OcppVersion

logger = logging.getLogger(__name__)

Payload = dict[str, Any]

_NOT_WHILE_PENDING = frozenset(
    {
        "RemoteStartTransaction",
        "RemoteStopTransaction",
        "RequestStartTransaction",
        "RequestStopTransaction",
    }
)


# Where an operator changes a station's password (the refusal of a secret write points there).
ROTATION_ROUTE = "POST /api/v1/stations/{id}/authorization-key"

# Log kinds (the second half of the LogLimiter key).
REFUSED_CALL = "refused CALL"
SCHEMA_VIOLATION = "schema violation"
DROPPED_SEND = "dropped SEND"
LENIENT = "lenient schema violation"


@dataclass(frozen=True, slots=True)
class ViolationBudget:
    """A station that breaks the protocol more than ``limit`` times in ``window`` seconds is
    disconnected (close 1008, policy violation); see docs/behaviour.md for what counts."""

    limit: int = 50
    window: float = 60.0

    def __post_init__(self) -> None:
        if self.limit < 1 or self.window <= 0:
            raise ValueError("need limit >= 1 and window > 0")


def is_violation(exc: CallErrorReply) -> bool:
    """True if answering a station's CALL with ``exc`` means the station broke the protocol.

    Every CALLERROR the dispatcher raises does (NotImplemented, NotSupported, SecurityError before
    an Accepted boot, a schema violation) except InternalError, which is csms's fault.
    """
    return exc.code is not ErrorCode.INTERNAL_ERROR


class Dispatcher:
    """Validates and routes CALLs for every OCPP version csms speaks."""

    def __init__(
        self,
        router: Router,
        validators: Mapping[OcppVersion, MessageValidator],
        *,
        log_limiter: LogLimiter | None = None,
        violation_budget: ViolationBudget | None = None,
    ) -> None:
        self._router = router
        self._validators = validators
        # Owned by the container and shared with the server and storage; a private one otherwise.
        self.log_limiter = log_limiter if log_limiter is not None else LogLimiter()
        self.violation_budget = violation_budget or ViolationBudget()

    @property
    def router(self) -> Router:
        """The router this dispatcher uses."""
        return self._router

    async def handle_call(self, ctx: CallContext, action: str, payload: Payload) -> Payload:
        """Handle a station's CALL and return the CALLRESULT payload.

        Raises:
            CallErrorReply: the CALL must be answered with this CALLERROR.
        """
        validator = self._validators[ctx.version]
        handler = self._router.handler(ctx.version, action)
        info = validator.info(action)
        if handler is None or info is None or info.unconfirmed or not info.direction.from_station:
            if not validator.knows(action):
                raise self._refuse(
                    ctx,
                    action,
                    ErrorCode.NOT_IMPLEMENTED,
                    f"{action!r} is not an OCPP {ctx.version} action",
                )
            raise self._refuse(
                ctx,
                action,
                ErrorCode.NOT_SUPPORTED,
                f"{action} is not supported from a station by this CSMS",
            )
        if action == "BootNotification":
            ctx.triggered = None  # the answer to this Boot decides anew
        elif not ctx.accepted and not _was_triggered(ctx, action):
            raise self._refuse(
                ctx,
                action,
                ErrorCode.SECURITY_ERROR,
                "the station must be Accepted by a BootNotification first",
            )
        self._check_request(ctx, validator, action, payload)
        response = await handler(ctx, payload)
        try:
            validator.validate_response(action, response, ours=True)
        except CallErrorReply as exc:
            self._log(
                ctx,
                "invalid response",
                "csms built an invalid %s response: %s",
                action,
                exc.description,
                level=logging.ERROR,
            )
            raise CallErrorReply(
                ErrorCode.INTERNAL_ERROR, "the CSMS failed to build a response"
            ) from exc
        return response

    async def handle_send(self, ctx: CallContext, action: str, payload: Payload) -> bool:
        """Handle a 2.1 SEND: validated and handled like a CALL, but never answered.

        Only actions the catalog marks unconfirmed travel as SEND (2.1 Part 4 §4.2.4); anything
        else, or anything invalid, is logged and dropped, since there is no reply to carry an error.
        Returns False if the SEND was dropped as a protocol violation.
        """
        validator = self._validators[ctx.version]
        info = validator.info(action)
        handler = self._router.handler(ctx.version, action)
        if info is None or not info.unconfirmed or not info.direction.from_station:
            self._log(
                ctx, DROPPED_SEND, "SEND %s dropped: not an unconfirmed station message", action
            )
            return False
        if not ctx.accepted:
            self._log(ctx, DROPPED_SEND, "SEND %s dropped: the station is not Accepted", action)
            return False
        try:
            self._check_request(ctx, validator, action, payload)
        except CallErrorReply:
            return False  # logged by _check_request
        if handler is None:
            ctx.log.debug("SEND %s received; csms does not process it yet", action)
            return True
        await handler(ctx, payload)
        return True

    def _check_request(
        self, ctx: CallContext, validator: MessageValidator, action: str, payload: Payload
    ) -> None:
        try:
            validator.validate_request(action, payload)
        except CallErrorReply as exc:
            if not ctx.lenient:
                self._log(
                    ctx,
                    SCHEMA_VIOLATION,
                    "%s refused: %s at %s (%s)",
                    action,
                    exc.code.wire(ctx.version),
                    _path(exc) or "$",
                    exc.description,
                )
                raise
            # What csms cannot hold is refused even so (csms.messages.limits).
            validator.check_limits(action, payload)
            ctx.schema_violations += 1
            self._log(
                ctx,
                LENIENT,
                "lenient: %s violates the schema (%s at %s: %s); handled anyway",
                action,
                exc.code.wire(ctx.version),
                _path(exc) or "$",
                exc.description,
            )

    def _refuse(
        self, ctx: CallContext, action: str, code: ErrorCode, description: str
    ) -> CallErrorReply:
        self._log(
            ctx, REFUSED_CALL, "%s refused: %s (%s)", action, code.wire(ctx.version), description
        )
        return CallErrorReply(code, description)

    def _log(
        self, ctx: CallContext, kind: str, msg: str, *args: object, level: int = logging.INFO
    ) -> None:
        """Log, rate-limited per station and kind; count what was held back."""
        if not self.log_limiter.log(ctx.log, level, ctx.station_id, kind, msg, *args):
            ctx.suppressed_log_lines += 1

    def check_outbound(
        self,
        ctx: CallContext,
        action: str,
        payload: Payload,
        *,
        password_rotation: bool = False,
    ) -> None:
        """Check a CSMS-initiated CALL before it is queued.

        ``password_rotation`` is set by the key rotation only: it alone may send the station a new
        password, because it also updates the one csms expects (see module docstring).

        Raises:
            InvalidPayload: not valid for the station's version, or not a CSMS-to-station action.
            CommandNotAllowed: the registration state forbids it, or it would set the station's
                password outside the key rotation.
        """
        if not password_rotation:
            secret = secret_write(action, payload)
            if secret is not None:
                raise CommandNotAllowed(
                    f"{action} of {secret} would leave csms and the station with different "
                    f"passwords; rotate it with {ROTATION_ROUTE}"
                )
        validator = self._validators[ctx.version]
        if not validator.knows(action) or not _csms_may_send(validator.direction(action)):
            raise InvalidPayload(
                f"{action!r} is not an OCPP {ctx.version} action the CSMS can send",
                code="NotImplemented",
            )
        try:
            validator.validate_request(action, payload)
        except CallErrorReply as exc:
            raise InvalidPayload(
                exc.description, code=exc.code.wire(ctx.version), path=_path(exc)
            ) from exc
        status = ctx.registration
        if status is RegistrationStatus.REJECTED:
            trigger_boot = (
                ctx.version.is_2x
                and action == "TriggerMessage"
                and payload.get("requestedMessage") == "BootNotification"
            )
            if not trigger_boot:
                raise CommandNotAllowed("the station is Rejected; the CSMS initiates nothing")
        elif status is not RegistrationStatus.ACCEPTED:
            if action in _NOT_WHILE_PENDING:
                raise CommandNotAllowed(f"{action} is not allowed before the station is Accepted")
            triggered = _TRIGGERED_ACTIONS.get((action, payload.get("requestedMessage")))
            if triggered is not None:
                ctx.triggered = (ctx.triggered or frozenset()) | {triggered}

    def check_result(self, ctx: CallContext, action: str, payload: Payload) -> None:
        """Validate a station's CALLRESULT to our ``action``.

        Raises:
            CallErrorReply: the result violates the schema (not raised in lenient mode), or holds
                what csms cannot (:mod:`csms.messages.limits`; raised in lenient mode too).
        """
        validator = self._validators[ctx.version]
        try:
            validator.validate_response(action, payload)
        except CallErrorReply as exc:
            if not ctx.lenient:
                raise
            validator.check_limits(action, payload, SchemaKind.RESPONSE)
            ctx.schema_violations += 1
            self._log(
                ctx,
                LENIENT,
                "lenient: %s result violates the schema (%s at %s); accepted anyway",
                action,
                exc.code.wire(ctx.version),
                _path(exc) or "$",
            )


# (request, requestedMessage) → the action the station then sends (1.6 §5.17, security
# whitepaper ExtendedTriggerMessage; 2.0.1 F06 MessageTriggerEnumType).
_TRIGGERED_ACTIONS: dict[tuple[str, object], str] = {
    (request, message): action
    for request in ("TriggerMessage", "ExtendedTriggerMessage")
    for message, action in {
        "Heartbeat": "Heartbeat",
        "StatusNotification": "StatusNotification",
        "MeterValues": "MeterValues",
        "FirmwareStatusNotification": "FirmwareStatusNotification",
        "DiagnosticsStatusNotification": "DiagnosticsStatusNotification",
        "LogStatusNotification": "LogStatusNotification",
        "SignChargePointCertificate": "SignCertificate",
        "SignChargingStationCertificate": "SignCertificate",
        "SignV2GCertificate": "SignCertificate",
        "SignCombinedCertificate": "SignCertificate",
        "TransactionEvent": "TransactionEvent",
        "PublishFirmwareStatusNotification": "PublishFirmwareStatusNotification",
    }.items()
} | {
    # A Pending station may send the report csms asked for (2.0.1 B02: the CSMS may retrieve
    # information during the interval, B07/B08; OCTT TC_B_30_CSMS lists GetBaseReportRequest and
    # GetReportRequest beside TriggerMessageRequest; TC_B_02_CSMS).
    ("GetBaseReport", None): "NotifyReport",
    ("GetReport", None): "NotifyReport",
}


def _was_triggered(ctx: CallContext, action: str) -> bool:
    """True if a Pending station sends what csms asked for with a TriggerMessage."""
    return (
        ctx.registration is RegistrationStatus.PENDING
        and ctx.triggered is not None
        and action in ctx.triggered
    )


def _path(exc: CallErrorReply) -> str:
    path = exc.details.get("path", "")
    return path if isinstance(path, str) else str(path)


def _csms_may_send(direction: Direction | None) -> bool:
    return direction is not None and direction.to_station
