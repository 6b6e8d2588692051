"""Validate OCPP payloads of one version against the official schemas.

OCPP 2.0.1 Part 4 §4.1.7: a message is valid only if its action is known, its JSON is valid, the
required fields are present and the types are correct; otherwise the receiver answers with a
CALLERROR (OCPP-J 1.6 §4.2.3). :class:`MessageValidator` raises the
:class:`~csms.rpc.errors.CallErrorReply` to send; :mod:`csms.messages.violations` says which code
each violation gets.

Before the schema, the payload's depth and the values csms cannot hold are checked
(:mod:`csms.messages.limits`). :meth:`MessageValidator.check_limits` runs those two alone, for
lenient stations whose schema violations are tolerated.

The validator does not judge *direction*: a station sending a CSMS-only request (e.g. Reset) passes
schema validation here, and the router answers it with NotSupported using :meth:`direction`
(ocpp-rules.md §6 test 26).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, NamedTuple

import jsonschema_rs

from csms.messages import catalog
from csms.messages.catalog import ActionInfo, Direction
from csms.messages.limits import PayloadLimits, check_depth
from csms.messages.schemas import SchemaKind, compile_schema, load_schema
from csms.messages.violations import to_call_error
from csms.rpc.errors import CallErrorReply, ErrorCode
from csms.rpc.versions import OcppVersion

logger = logging.getLogger(__name__)

_MAX_ECHOED_ACTION = 64


class MessageValidator:
    """Schema validation for one OCPP version.

    Each schema is read from the ``ocpp`` wheel and compiled on first use, then kept. Create one per
    version and share it between connections: compiled schemas are immutable and there is no global
    state. Not meant for use from several threads at once (a race only compiles a schema twice).

    Args:
        version: the negotiated OCPP version.
        accept_naive_datetime: also accept date-times without a time offset (ISO 8601 local time),
            which some 1.6 stations send; by default a date-time must be RFC 3339 with an offset.
    """

    __slots__ = (
        "_accept_naive_datetime",
        "_actions",
        "_requests",
        "_responses",
        "version",
    )

    def __init__(self, version: OcppVersion, *, accept_naive_datetime: bool = False) -> None:
        self.version = version
        self._accept_naive_datetime = accept_naive_datetime
        self._actions: Mapping[str, ActionInfo] = catalog.actions(version)
        self._requests: dict[str, _Compiled] = {}
        self._responses: dict[str, _Compiled] = {}

    def __repr__(self) -> str:
        return f"MessageValidator({self.version.value!r}, compiled={self.compiled})"

    def knows(self, action: str) -> bool:
        """True if ``action`` exists in this version (case-sensitive, 1.6 §4.2.1)."""
        return action in self._actions

    def direction(self, action: str) -> Direction | None:
        """Who may send ``action``'s request; None for an unknown action."""
        info = self._actions.get(action)
        return None if info is None else info.direction

    def info(self, action: str) -> ActionInfo | None:
        """The catalog entry of ``action``; None for an unknown action."""
        return self._actions.get(action)

    @property
    def compiled(self) -> int:
        """How many schemas have been compiled so far."""
        return len(self._requests) + len(self._responses)

    def validate_request(self, action: str, payload: dict[str, Any]) -> None:
        """Check a CALL's (or 2.1 SEND's) payload: depth, what csms can hold, then the schema.

        The limits come before the schema so that an integer beyond 64 bits gets the same answer
        whatever the schema's draft (draft-04 calls 2^64, which arrives as a float, no integer).

        Raises:
            CallErrorReply: NotImplemented for an unknown action, else the violation's code.
        """
        self._validate(action, SchemaKind.REQUEST, payload)

    def validate_response(
        self, action: str, payload: dict[str, Any], *, ours: bool = False
    ) -> None:
        """Check a CALLRESULT's payload, ``action`` being the CALL it answers (as a request).

        ``ours``: csms built the payload (its answer to a station's CALL), so only the schema is
        checked; the limits of what csms can hold are about what stations send.

        Raises:
            CallErrorReply: NotImplemented for an unknown action, NotSupported for a 2.1 SEND-only
                action (which has no response), else the violation's code.
        """
        if ours:
            compiled = self._responses.get(action) or self._compile(action, SchemaKind.RESPONSE)
            try:
                compiled.validator.validate(payload)
            except jsonschema_rs.ValidationError as exc:
                raise to_call_error(exc, f"{action} {SchemaKind.RESPONSE.value}") from None
            return
        self._validate(action, SchemaKind.RESPONSE, payload)

    def check_limits(
        self, action: str, payload: dict[str, Any], kind: SchemaKind = SchemaKind.REQUEST
    ) -> None:
        """Check only what csms can hold (depth, integers, date-times), not the schema.

        For a lenient station whose schema violation is tolerated: what csms cannot store is
        refused even so, rather than failing in the handler on every retry.

        Raises:
            CallErrorReply: as :meth:`validate_request` (or :meth:`validate_response`).
        """
        self._check_limits(action, kind, payload)

    def _validate(self, action: str, kind: SchemaKind, payload: dict[str, Any]) -> None:
        validator = self._check_limits(action, kind, payload)
        try:
            validator.validate(payload)
        except jsonschema_rs.ValidationError as exc:
            raise to_call_error(exc, f"{action} {kind.value}") from None

    def _check_limits(
        self, action: str, kind: SchemaKind, payload: dict[str, Any]
    ) -> jsonschema_rs.Validator:
        """Check the limits; return the compiled schema for the caller to validate with."""
        what = f"{action} {kind.value}"
        check_depth(payload, what)
        cache = self._requests if kind is SchemaKind.REQUEST else self._responses
        compiled = cache.get(action) or self._compile(action, kind)
        compiled.limits.check(payload, what)
        return compiled.validator

    def compile_all(self) -> int:
        """Compile every schema of this version now (e.g. at start-up); return how many exist."""
        for name, info in self._actions.items():
            if name not in self._requests:
                self._compile(name, SchemaKind.REQUEST)
            if not info.unconfirmed and name not in self._responses:
                self._compile(name, SchemaKind.RESPONSE)
        return self.compiled

    def _compile(self, action: str, kind: SchemaKind) -> _Compiled:
        info = self._actions.get(action)
        if info is None:
            raise CallErrorReply(
                ErrorCode.NOT_IMPLEMENTED,
                f"unknown action {action[:_MAX_ECHOED_ACTION]!r} in OCPP {self.version.value}",
            )
        if kind is SchemaKind.RESPONSE and info.unconfirmed:
            raise CallErrorReply(
                ErrorCode.NOT_SUPPORTED, f"{action} is sent as SEND and has no response"
            )
        schema = load_schema(self.version, action, kind, unconfirmed=info.unconfirmed)
        if schema is None:
            # The catalog and the wheel disagree; a unit test guards against this.
            logger.error("no %s schema for %s in OCPP %s", kind.value, action, self.version.value)
            raise CallErrorReply(ErrorCode.INTERNAL_ERROR, f"no {kind.value} schema for {action}")
        compiled = _Compiled(
            compile_schema(schema, accept_naive_datetime=self._accept_naive_datetime),
            PayloadLimits(schema),
        )
        cache = self._requests if kind is SchemaKind.REQUEST else self._responses
        cache[action] = compiled
        return compiled


class _Compiled(NamedTuple):
    """One schema, compiled: the validator, and the limits of what csms can hold."""

    validator: jsonschema_rs.Validator
    limits: PayloadLimits
