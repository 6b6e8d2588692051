"""A StationGateway stand-in that answers each CALL with a scripted function (no sockets).

Payloads are validated against the official schemas of the station's version both ways, as the
real gateway does, so a test fails if a command builds a payload no station would accept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from csms.domain.errors import InvalidPayload
from csms.messages import MessageValidator
from csms.rpc import OcppVersion
from csms.rpc.errors import CallErrorReply

Payload = dict[str, Any]
Answer = Callable[[str, Payload], Payload]


class ScriptedGateway:
    def __init__(self, version: OcppVersion, answer: Answer) -> None:
        self.version = version
        self.answer = answer
        self.calls: list[tuple[str, Payload]] = []
        self._validator = MessageValidator(version)

    def is_connected(self, station_id: str) -> bool:
        return True

    def ocpp_version(self, station_id: str) -> str | None:
        return self.version.value

    async def call(
        self,
        station_id: str,
        action: str,
        payload: Payload,
        *,
        timeout: float | None = None,
        password_rotation: bool = False,
    ) -> Payload:
        try:
            self._validator.validate_request(action, payload)
        except CallErrorReply as exc:
            raise InvalidPayload(str(exc)) from exc
        self.calls.append((action, payload))
        reply = self.answer(action, payload)
        self._validator.validate_response(action, reply)
        return reply

    def actions(self) -> list[str]:
        return [action for action, _ in self.calls]
