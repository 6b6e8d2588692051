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
   is logged and counted and the CALL is handled anyway);
5. the handler; a response that violates the schema is our bug → InternalError, never sent.

For a CSMS-initiated CALL, :meth:`Dispatcher.check_outbound` validates the payload and applies the
registration rules of 1.6 §4.2 (no RemoteStart/RemoteStop while Pending; nothing while Rejected, but
2.x TriggerMessage(BootNotification), B03.FR.08).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from csms.blocks.context import CallContext
from csms.blocks.routing import Router
from csms.domain.errors import CommandNotAllowed, InvalidPayload
from csms.domain.model import RegistrationStatus
from csms.messages import Direction, MessageValidator
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


class Dispatcher:
    """Validates and routes CALLs for every OCPP version csms speaks."""

    def __init__(self, router: Router, validators: Mapping[OcppVersion, MessageValidator]) -> None:
        self._router = router
        self._validators = validators

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
                raise CallErrorReply(
                    ErrorCode.NOT_IMPLEMENTED, f"{action!r} is not an OCPP {ctx.version} action"
                )
            raise CallErrorReply(
                ErrorCode.NOT_SUPPORTED, f"{action} is not supported from a station by this CSMS"
            )
        if action == "BootNotification":
            ctx.triggered = None  # the answer to this Boot decides anew
        elif not ctx.accepted and not _was_triggered(ctx, action):
            raise CallErrorReply(
                ErrorCode.SECURITY_ERROR,
                "the station must be Accepted by a BootNotification first",
            )
        self._check_request(ctx, validator, action, payload)
        response = await handler(ctx, payload)
        try:
            validator.validate_response(action, response)
        except CallErrorReply as exc:
            ctx.log.error("csms built an invalid %s response: %s", action, exc.description)
            raise CallErrorReply(
                ErrorCode.INTERNAL_ERROR, "the CSMS failed to build a response"
            ) from exc
        return response

    async def handle_send(self, ctx: CallContext, action: str, payload: Payload) -> None:
        """Handle a 2.1 SEND: validated and handled like a CALL, but never answered.

        Only actions the catalog marks unconfirmed travel as SEND (2.1 Part 4 §4.2.4); anything
        else, or anything invalid, is logged and dropped, since there is no reply to carry an error.
        """
        validator = self._validators[ctx.version]
        info = validator.info(action)
        handler = self._router.handler(ctx.version, action)
        if info is None or not info.unconfirmed or not info.direction.from_station:
            ctx.log.warning("SEND %s dropped: not an unconfirmed station message", action)
            return
        if not ctx.accepted:
            ctx.log.warning("SEND %s dropped: the station is not Accepted", action)
            return
        try:
            self._check_request(ctx, validator, action, payload)
        except CallErrorReply as exc:
            ctx.log.warning("SEND %s dropped: %s %s", action, exc.code.value, exc.description)
            return
        if handler is None:
            ctx.log.info("SEND %s received; csms does not process it yet", action)
            return
        await handler(ctx, payload)

    def _check_request(
        self, ctx: CallContext, validator: MessageValidator, action: str, payload: Payload
    ) -> None:
        try:
            validator.validate_request(action, payload)
        except CallErrorReply as exc:
            if not ctx.lenient:
                raise
            ctx.schema_violations += 1
            ctx.log.warning(
                "lenient: %s violates the schema (%s: %s); handled anyway",
                action,
                exc.code.value,
                exc.description,
            )

    def check_outbound(
        self,
        ctx: CallContext,
        action: str,
        payload: Payload,
    ) -> None:
        """Check a CSMS-initiated CALL before it is queued.

        Raises:
            InvalidPayload: not valid for the station's version, or not a CSMS-to-station action.
            CommandNotAllowed: the registration state forbids it.
        """
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
            CallErrorReply: the result violates the schema (not raised in lenient mode).
        """
        try:
            self._validators[ctx.version].validate_response(action, payload)
        except CallErrorReply as exc:
            if not ctx.lenient:
                raise
            ctx.schema_violations += 1
            ctx.log.warning("lenient: %s result violates the schema: %s", action, exc.description)


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
