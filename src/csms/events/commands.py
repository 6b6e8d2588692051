"""``command.result``: every call the API sends to a station, announced with its outcome.

:class:`EventingGateway` wraps the :class:`~csms.domain.ports.StationGateway` the API is given, so
typed commands, the generic call and the file and security routes are all covered. The event
names the action, the outcome and the latency; never the payload or the answer, which may hold
secrets (SetVariables of a password, certificates, keys).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from csms.domain.errors import CallFailed, DomainError
from csms.domain.events import EventPublisher, EventType
from csms.domain.ports import StationGateway

__all__ = ["EventingGateway"]


class EventingGateway:
    """A StationGateway publishing ``command.result`` after each call."""

    def __init__(
        self,
        inner: StationGateway,
        publisher: EventPublisher,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._inner = inner
        self._publisher = publisher
        self._clock = clock

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def call(
        self,
        station_id: str,
        action: str,
        payload: dict[str, Any],
        *,
        timeout: float | None = None,
        password_rotation: bool = False,
    ) -> dict[str, Any]:
        started = self._clock()
        try:
            result = await self._inner.call(
                station_id, action, payload, timeout=timeout, password_rotation=password_rotation
            )
        except DomainError as exc:
            data: dict[str, Any] = {"outcome": "error", "error": type(exc).__name__}
            if isinstance(exc, CallFailed):
                data["error_code"] = exc.code
            self._announce(station_id, action, started, data)
            raise
        status = result.get("status")
        self._announce(
            station_id,
            action,
            started,
            {"outcome": "result", "status": status if isinstance(status, str) else None},
        )
        return result

    def _announce(self, station_id: str, action: str, started: float, data: dict[str, Any]) -> None:
        latency_ms = round((self._clock() - started) * 1000, 3)
        self._publisher.publish(
            EventType.COMMAND_RESULT,
            station_id,
            {"action": action, "latency_ms": latency_ms, **data},
        )
