"""A station gateway without sockets: checks every CALL as the real one does, answers from a script.

The CALL passes the real :meth:`Dispatcher.check_outbound` (official schema of the version and the
registration rules), and the scripted answer the real schema of its response, so a unit test of a
command's payload mapping also proves the payload is valid OCPP for that version.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from csms.blocks.context import CallContext
from csms.blocks.dispatch import Dispatcher
from csms.blocks.routing import Router
from csms.domain.errors import StationNotConnected
from csms.domain.model import RegistrationStatus
from csms.messages import MessageValidator
from csms.rpc import ALL_VERSIONS, OcppVersion

Payload = dict[str, Any]
Answer = Payload | Callable[[str, Payload], Payload]

_VALIDATORS = {v: MessageValidator(v) for v in ALL_VERSIONS}
DISPATCHER = Dispatcher(Router(), _VALIDATORS)


class ScriptedGateway:
    """One connected station of ``version``; ``answers`` maps an action to its CALLRESULT."""

    def __init__(
        self,
        version: OcppVersion | None,
        answers: dict[str, Answer] | None = None,
        *,
        registration: RegistrationStatus = RegistrationStatus.ACCEPTED,
        station_id: str = "CS1",
    ) -> None:
        self.version = version
        self.answers = answers or {}
        self.ctx = (
            CallContext(station_id=station_id, version=version, registration=registration)
            if version is not None
            else None
        )
        self.sent: list[tuple[str, Payload]] = []

    def is_connected(self, station_id: str) -> bool:
        return self.ctx is not None and station_id == self.ctx.station_id

    def ocpp_version(self, station_id: str) -> str | None:
        return self.version.value if self.version and self.is_connected(station_id) else None

    async def call(
        self,
        station_id: str,
        action: str,
        payload: Payload,
        *,
        timeout: float | None = None,
        password_rotation: bool = False,
    ) -> Payload:
        if self.ctx is None or not self.is_connected(station_id):
            raise StationNotConnected(station_id)
        DISPATCHER.check_outbound(self.ctx, action, payload, password_rotation=password_rotation)
        self.sent.append((action, payload))
        answer = self.answers[action]
        result = answer(action, payload) if callable(answer) else answer
        _VALIDATORS[self.ctx.version].validate_response(action, result)
        return result
